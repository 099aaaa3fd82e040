#pragma once
// How much one client may have unfinished at the scheduler: its share of the scheduler's --max-queued-tasks
// and --max-queued-bytes, told in every heartbeat echo. A submitting thread waits here while the share is
// full, so a client that submits faster than the cluster drains is slowed instead of filling the scheduler's
// memory; the I/O thread gives room back as tasks end. A client with nothing unfinished may always submit
// one task, however large, so no share can wedge it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace scaler::detail {

class SubmissionWindow {
public:
    using Deadline = std::optional<std::chrono::steady_clock::time_point>;

    // From the scheduler's echo; 0: no limit (a scheduler that does not say).
    void setShares(uint64_t tasks, uint64_t bytes);
    // Takes room for the leading tasks of `bytes` (one size per task), waiting while there is none: how many
    // were admitted, at least one. Throws SubmitTimeoutError at `deadline`, SchedulerUnreachableError once
    // closed. A blocked thread is reported to its WaitListener (a nested task lends its worker slot).
    size_t reserve(std::span<const uint64_t> bytes, Deadline deadline);
    // Room for `tasks` tasks at once (a graph's outputs, which go whole, in one message), waiting as
    // reserve() does until they all fit, or until nothing else is unfinished (so a graph larger than the
    // share still goes).
    void reserveWhole(size_t tasks, Deadline deadline);
    // Room taken without waiting: submits from the I/O thread (a callback) and resubmissions.
    void take(size_t tasks, uint64_t bytes);
    // Tasks ended (answered, failed, cancelled): their room comes back. I/O thread.
    void release(size_t tasks, uint64_t bytes);
    // Wakes every waiter with SchedulerUnreachableError(why); later reserves throw it at once.
    void close(const std::string& why);

    // Whether `tasks` tasks of `bytes` in all would not all be admitted now (for a caller that must not
    // block while holding a lock others need).
    bool full(size_t tasks, uint64_t bytes) const;

    size_t pending() const { return pending_.load(); }
    uint64_t pendingBytes() const { return pendingBytes_.load(); }
    uint64_t taskShare() const { return taskShare_.load(); }
    uint64_t byteShare() const { return byteShare_.load(); }

private:
    // Whether `tasks` more tasks carrying `bytes` in all fit in the shares beside what is unfinished.
    bool fits(size_t pending, uint64_t pendingBytes, size_t tasks, uint64_t bytes) const;
    size_t admissible(std::span<const uint64_t> bytes) const;
    size_t takeAdmissible(std::span<const uint64_t> bytes);
    // Under the lock: tryTake() until it takes room (returns how many tasks), waiting for releases between
    // tries; throws SubmitTimeoutError at `deadline`, SchedulerUnreachableError once closed.
    template <typename TryTake>
    size_t waitForRoom(TryTake tryTake, Deadline deadline);
    [[noreturn]] void timedOut() const;

    std::atomic<size_t> pending_{0};
    std::atomic<uint64_t> pendingBytes_{0};
    std::atomic<uint64_t> taskShare_{0};
    std::atomic<uint64_t> byteShare_{0};
    std::atomic<uint32_t> waiters_{0};
    std::mutex mutex_;
    std::condition_variable roomMade_;
    bool closed_ = false;
    std::string closedWhy_;
};

}  // namespace scaler::detail
