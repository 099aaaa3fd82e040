#pragma once
// Learns, per capability set, how fast tasks arrive (Holt's double exponential smoothing: a level and a
// trend), how long they run (exponentially weighted), and how long the set goes quiet before tasks come
// again. Fed running totals the scheduler keeps anyway, once per scaling evaluation; time is an argument.
// The estimates go into the scaling snapshot (DemandView::estimate) for the predictive policy.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "scaler/scheduler/scaling/scaling_policy.h"

namespace scaler::scheduler {

// Running totals for one capability set since the scheduler started.
struct DemandCounters {
    uint64_t arrivals = 0;
    uint64_t timedRuns = 0;  // finished tasks whose worker reported a run time
    double runSeconds = 0;   // their run times summed
};

class DemandEstimator {
public:
    // `rateWindowSeconds`: time constant of the rate level and trend; > 0.
    explicit DemandEstimator(double rateWindowSeconds) : window_(rateWindowSeconds) {}

    // Folds in everything since the previous call for set `set` (ids are dense, from 0).
    void observe(size_t set, const DemandCounters& totals, double nowSeconds);
    DemandEstimate estimate(size_t set, double nowSeconds) const;
    // The set's id was released: its next user starts from nothing.
    void forget(size_t set) {
        if (set < sets_.size()) sets_[set] = SetState{};
    }

private:
    struct SetState {
        DemandCounters seen;
        double lastObserved = 0;
        bool observed = false;
        double level = 0, trend = 0;
        double meanDuration = 0;
        double lastArrival = -1;  // < 0: never
        double longestQuiet = 0;
    };
    double window_;
    std::vector<SetState> sets_;
};

}  // namespace scaler::scheduler
