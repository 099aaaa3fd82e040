#pragma once
// A Prometheus histogram with fixed bucket bounds in seconds: task latency (SchedulerCore) and adapter
// command latency (ScalingController) for the metrics endpoint (docs/operations.md#metrics).

#include <array>
#include <cstddef>
#include <cstdint>

namespace scaler::scheduler {

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

}  // namespace scaler::scheduler
