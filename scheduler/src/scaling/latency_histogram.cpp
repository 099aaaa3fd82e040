#include "scaler/scheduler/scaling/latency_histogram.h"

namespace scaler::scheduler {

void LatencyHistogram::observe(double seconds) {
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++buckets_[i];
    ++count_;
    sum_ += seconds;
}

uint64_t LatencyHistogram::cumulative(size_t i) const {
    uint64_t total = 0;
    for (size_t b = 0; b <= i && b < buckets_.size(); ++b) total += buckets_[b];
    return total;
}

}  // namespace scaler::scheduler
