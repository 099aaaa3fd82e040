#include "scaler/worker/result_batching.h"

namespace scaler::worker {

bool ResultBatching::hold(TimePoint now, size_t tasksInHand) const {
    if (window_.count() <= 0 || !anyFinished_ || tasksInHand == 0 || now >= releaseAt()) return false;
    // Tasks this short end several to a turn of the worker's loop: their results batch by themselves, and
    // holding would only add to their latency (C++ no-ops: 1-3 us; a Python no-op through its processor:
    // 25-50 us, one result a turn).
    constexpr double kBatchesByItselfUs = 20;
    if (meanTaskUs_ < kBatchesByItselfUs) return false;
    // the work in hand outlasts twice the window: the worker stays busy while its results wait, and the
    // scheduler's refill (sent when it reads them) arrives before the queue runs dry
    return static_cast<double>(tasksInHand) * meanTaskUs_ >= 2.0 * static_cast<double>(window_.count());
}

void ResultBatching::finished(uint64_t durationUs) {
    constexpr double kWeight = 0.1;  // about the last ten tasks
    const double us = static_cast<double>(durationUs);
    meanTaskUs_ = anyFinished_ ? meanTaskUs_ + kWeight * (us - meanTaskUs_) : us;
    anyFinished_ = true;
}

}  // namespace scaler::worker
