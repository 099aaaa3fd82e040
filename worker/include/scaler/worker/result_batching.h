#pragma once
// Whether a worker sends its finished tasks' results at once or holds them a moment to send more in one
// message. Each message costs both ZeroMQ I/O threads, the worker's loop and the scheduler's a wake-up; a
// worker running short tasks back to back sent one or two results a message. Held only while the worker has
// enough work in hand to stay busy meanwhile, and never longer than the window after the last batch: a lone
// task's result, or the last of a burst, goes at once.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace scaler::worker {

class ResultBatching {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;

    // window 0: every result goes at once.
    explicit ResultBatching(std::chrono::microseconds window) : window_(window) {}

    // Results are ready at `now`, with `tasksInHand` tasks still queued or running here: hold them?
    bool hold(TimePoint now, size_t tasksInHand) const;
    // When held results go at the latest.
    TimePoint releaseAt() const { return sentAt_ + window_; }
    // Results went at `now`.
    void sent(TimePoint now) { sentAt_ = now; }
    // A finished task's run time, for the running mean that says how long the work in hand lasts.
    void finished(uint64_t durationUs);

private:
    std::chrono::microseconds window_;
    TimePoint sentAt_{};
    double meanTaskUs_ = 0;
    bool anyFinished_ = false;  // until then nothing is held
};

}  // namespace scaler::worker
