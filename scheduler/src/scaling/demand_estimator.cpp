#include "scaler/scheduler/scaling/demand_estimator.h"

#include <algorithm>
#include <cmath>

namespace scaler::scheduler {
namespace {
constexpr double kDurationWeight = 0.05;     // per run: about the last 20 runs
constexpr double kQuietMemorySeconds = 600;  // a long quiet spell is forgotten over about ten minutes
constexpr double kMinStepSeconds = 0.5;
}  // namespace

void DemandEstimator::observe(size_t set, const DemandCounters& totals, double now) {
    if (set >= sets_.size()) sets_.resize(set + 1);
    SetState& s = sets_[set];
    if (!s.observed) {
        // the first look only sets the baseline time: the arrivals so far count in the next step
        s.observed = true;
        s.lastObserved = now;
        return;
    }
    const double dt = now - s.lastObserved;
    if (dt < kMinStepSeconds) return;
    const uint64_t arrivals = totals.arrivals - s.seen.arrivals;
    const uint64_t runs = totals.timedRuns - s.seen.timedRuns;
    const double runSeconds = totals.runSeconds - s.seen.runSeconds;

    // Holt: the level follows the observed rate, the trend follows the level's change.
    const double alpha = 1 - std::exp(-dt / window_);
    const double previous = s.level;
    s.level =
        std::max(0.0, alpha * (static_cast<double>(arrivals) / dt) + (1 - alpha) * (s.level + s.trend * dt));
    s.trend = alpha * ((s.level - previous) / dt) + (1 - alpha) * s.trend;

    if (runs > 0) {
        const double mean = runSeconds / static_cast<double>(runs);
        const double weight = totals.timedRuns == runs ? 1 : 1 - std::pow(1 - kDurationWeight, runs);
        s.meanDuration += weight * (mean - s.meanDuration);
    }

    s.longestQuiet *= std::exp(-dt / kQuietMemorySeconds);
    if (arrivals > 0) {
        // quiet from the last step with arrivals to the start of this one
        if (s.lastArrival >= 0) s.longestQuiet = std::max(s.longestQuiet, (now - dt) - s.lastArrival);
        s.lastArrival = now;
    }
    s.seen = totals;
    s.lastObserved = now;
}

DemandEstimate DemandEstimator::estimate(size_t set, double now) const {
    DemandEstimate e;
    if (set >= sets_.size()) return e;
    const SetState& s = sets_[set];
    e.arrivalRate = s.level;
    e.rateTrend = s.trend;
    e.meanDurationSeconds = s.meanDuration;
    e.observedRunTimes = s.seen.timedRuns;
    e.quietSeconds = s.lastArrival < 0 ? now : now - s.lastArrival;
    e.longestQuietSeconds = s.longestQuiet;
    return e;
}

}  // namespace scaler::scheduler
