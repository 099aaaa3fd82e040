#pragma once
// What the scheduler counts beyond its live state, for the Prometheus endpoint (docs/operations.md#metrics).
// Updated by SchedulerCore in place: fixed-size histograms, maps keyed by a handful of labels.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace scaler::scheduler {

// A Prometheus histogram with fixed bucket bounds in seconds.
class LatencyHistogram {
public:
    static constexpr std::array<double, 13> kBounds{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
                                                    1,      5,     10,    60,   300,  1800};
    void observe(double seconds);
    // Cumulative count of observations <= kBounds[i] (i < kBounds.size()), then the total.
    uint64_t cumulative(size_t i) const;
    uint64_t count() const { return count_; }
    double sum() const { return sum_; }

private:
    std::array<uint64_t, kBounds.size() + 1> buckets_{};
    uint64_t count_ = 0;
    double sum_ = 0;
};

struct SchedulerMetrics {
    LatencyHistogram taskLatency;  // from arrival at the scheduler to the result leaving it
    // (action, rule name) -> decisions: bounded label values
    std::map<std::pair<std::string, std::string>, uint64_t> scalingDecisions;
    // (adapter, command) -> time from sending a command to its answer
    std::map<std::pair<std::string, std::string>, LatencyHistogram> adapterCommandLatency;
    // (adapter, command, status) -> commands that failed or went unanswered
    std::map<std::tuple<std::string, std::string, std::string>, uint64_t> adapterCommandFailures;
};

}  // namespace scaler::scheduler
