#include "submission_window.h"

#include "scaler/client/errors.h"
#include "scaler/client/wait_listener.h"

namespace scaler::detail {

void SubmissionWindow::setShares(uint64_t tasks, uint64_t bytes) {
    const bool grew = (tasks == 0 || tasks > taskShare_.load()) || (bytes == 0 || bytes > byteShare_.load());
    taskShare_ = tasks;
    byteShare_ = bytes;
    if (grew && waiters_.load() > 0) {
        std::lock_guard lock(mutex_);
        roomMade_.notify_all();
    }
}

bool SubmissionWindow::fits(size_t pending, uint64_t pendingBytes, size_t tasks, uint64_t bytes) const {
    if (pending == 0 && tasks == 1) return true;  // never wedged: one task always goes when none is out
    const uint64_t taskShare = taskShare_.load();
    const uint64_t byteShare = byteShare_.load();
    return (taskShare == 0 || pending + tasks <= taskShare) &&
           (byteShare == 0 || pendingBytes + bytes <= byteShare);
}

size_t SubmissionWindow::admissible(std::span<const uint64_t> bytes) const {
    const size_t pending = pending_.load();
    const uint64_t pendingBytes = pendingBytes_.load();
    size_t n = 0;
    uint64_t taken = 0;
    for (; n < bytes.size() && fits(pending, pendingBytes, n + 1, taken + bytes[n]); ++n) taken += bytes[n];
    return n;
}

bool SubmissionWindow::full(size_t tasks, uint64_t bytes) const {
    return tasks != 0 && !fits(pending_.load(), pendingBytes_.load(), tasks, bytes);
}

size_t SubmissionWindow::takeAdmissible(std::span<const uint64_t> bytes) {
    const size_t n = admissible(bytes);
    uint64_t taken = 0;
    for (size_t i = 0; i < n; ++i) taken += bytes[i];
    pending_ += n;
    pendingBytes_ += taken;
    return n;
}

size_t SubmissionWindow::reserve(std::span<const uint64_t> bytes, Deadline deadline) {
    if (bytes.empty()) return 0;
    return waitForRoom([&] { return takeAdmissible(bytes); }, deadline);
}

void SubmissionWindow::reserveWhole(size_t tasks, Deadline deadline) {
    if (tasks == 0) return;
    waitForRoom(
        [&]() -> size_t {
            const size_t pending = pending_.load();
            // one that cannot fit even an empty share still goes once nothing else is unfinished
            if (pending != 0 && !fits(pending, pendingBytes_.load(), tasks, 0)) return 0;
            pending_ += tasks;
            return tasks;
        },
        deadline);
}

template <typename TryTake>
size_t SubmissionWindow::waitForRoom(TryTake tryTake, Deadline deadline) {
    std::unique_lock lock(mutex_);
    if (closed_) throw SchedulerUnreachableError(closedWhy_);
    if (const size_t n = tryTake(); n > 0) return n;
    // counted, then checked again: a release after this sees a waiter and wakes it (no lost wake-up)
    ++waiters_;
    struct Leave {
        std::atomic<uint32_t>& waiters;
        WaitListener* listener;
        ~Leave() {
            --waiters;
            if (listener != nullptr) listener->waiting(false);
        }
    } leave{waiters_, threadWaitListener()};
    if (leave.listener != nullptr) leave.listener->waiting(true);  // a nested task lends its worker slot
    for (;;) {
        if (closed_) throw SchedulerUnreachableError(closedWhy_);
        if (const size_t n = tryTake(); n > 0) return n;
        if (!deadline) {
            roomMade_.wait(lock);
        } else if (roomMade_.wait_until(lock, *deadline) == std::cv_status::timeout && !closed_) {
            if (const size_t n = tryTake(); n > 0) return n;
            timedOut();
        }
    }
}

void SubmissionWindow::timedOut() const {
    throw SubmitTimeoutError("submit timed out: this client's share of the scheduler's queue stayed full (" +
                             std::to_string(pending_.load()) + " unfinished tasks of " +
                             std::to_string(taskShare_.load()) + ", " + std::to_string(pendingBytes_.load()) +
                             " bytes of " + std::to_string(byteShare_.load()) +
                             "; the scheduler's --max-queued-tasks and --max-queued-bytes set the shares)");
}

void SubmissionWindow::take(size_t tasks, uint64_t bytes) {
    pending_ += tasks;
    pendingBytes_ += bytes;
}

void SubmissionWindow::release(size_t tasks, uint64_t bytes) {
    pending_ -= tasks;
    pendingBytes_ -= bytes;
    if (waiters_.load() > 0) {
        std::lock_guard lock(mutex_);
        roomMade_.notify_all();
    }
}

void SubmissionWindow::close(const std::string& why) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    closedWhy_ = why;
    roomMade_.notify_all();
}

}  // namespace scaler::detail
