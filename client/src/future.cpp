#include "scaler/client/future.h"

#include "client_core.h"
#include "future_state.h"
#include "scaler/client/errors.h"
#include "scaler/client/wait_listener.h"

namespace scaler {

uint64_t Future::id() const {
    return state_->id;
}

bool Future::ready() const {
    std::lock_guard lock(state_->mutex);
    return state_->done;
}

namespace {
thread_local WaitListener* currentWaitListener = nullptr;

// Tells the thread's listener (a worker running a nested task) while this thread blocks.
class BlockingWait {
public:
    BlockingWait() : listener_(currentWaitListener) {
        if (listener_ != nullptr) listener_->waiting(true);
    }
    ~BlockingWait() {
        if (listener_ != nullptr) listener_->waiting(false);
    }
    BlockingWait(const BlockingWait&) = delete;
    BlockingWait& operator=(const BlockingWait&) = delete;

private:
    WaitListener* listener_;
};
}  // namespace

void setThreadWaitListener(WaitListener* listener) {
    currentWaitListener = listener;
}

WaitListener* threadWaitListener() {
    return currentWaitListener;
}

void Future::wait() const {
    std::unique_lock lock(state_->mutex);
    if (state_->done) return;
    lock.unlock();
    BlockingWait blocking;
    lock.lock();
    state_->changed.wait(lock, [&] { return state_->done; });
}

bool Future::wait_for(std::chrono::duration<double> timeout) const {
    std::unique_lock lock(state_->mutex);
    if (state_->done) return true;
    lock.unlock();
    BlockingWait blocking;
    lock.lock();
    return state_->changed.wait_for(lock, timeout, [&] { return state_->done; });
}

ObjectRef Future::keptObject() const {
    get();
    std::lock_guard lock(state_->mutex);
    return ObjectRef{state_->keptObjectId, 0, "result of task " + std::to_string(state_->id)};
}

std::string Future::get() const {
    return result(false);
}

std::string Future::take() const {
    return result(true);
}

std::string Future::result(bool move) const {
    wait();
    std::lock_guard lock(state_->mutex);
    throwUnlessSucceeded();
    return move ? state_->result.takeAll() : state_->result.copyAll();
}

ResultStream Future::takeStream() const {
    wait();
    std::lock_guard lock(state_->mutex);
    throwUnlessSucceeded();
    return std::move(state_->result);
}

void Future::throwUnlessSucceeded() const {
    using detail::Outcome;
    switch (state_->outcome) {
        case Outcome::success:
            return;
        case Outcome::failed:
            throw TaskFailedError(state_->error);
        case Outcome::workerDied:
            throw WorkerDiedError(state_->error);
        case Outcome::cancelled:
            throw TaskCancelledError(state_->error.empty() ? "task cancelled" : state_->error);
        case Outcome::timedOut:
            throw TaskTimeoutError(state_->error);
        case Outcome::rejected:
            throw TaskRejectedError(state_->error);
        case Outcome::unreachable:
            throw SchedulerUnreachableError(state_->error);
    }
    throw Error("unknown task outcome");
}

bool Future::cancel() const {
    uint32_t failedBefore;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->done) return state_->outcome == detail::Outcome::cancelled;
        failedBefore = state_->cancelFailedAnswers;
    }
    auto client = client_.lock();
    if (!client) return false;
    client->requestCancel(state_->id);
    // Bounded: the scheduler answers, or the client timeout fails the future.
    std::unique_lock lock(state_->mutex);
    state_->changed.wait_for(lock, std::chrono::duration<double>(client->timeoutSeconds()),
                             [&] { return state_->done || state_->cancelFailedAnswers > failedBefore; });
    return state_->done && state_->outcome == detail::Outcome::cancelled;
}

void Future::then(std::function<void(const Future&)> callback) const {
    {
        std::lock_guard lock(state_->mutex);
        if (!state_->done) {
            state_->callbacks.push_back([callback = std::move(callback), self = *this] { callback(self); });
            return;
        }
    }
    callback(*this);
}

std::chrono::microseconds Future::duration() const {
    std::lock_guard lock(state_->mutex);
    return std::chrono::microseconds(state_->durationUs);
}

TaskProfile Future::profile() const {
    std::lock_guard lock(state_->mutex);
    return {std::chrono::microseconds(state_->durationUs), std::chrono::microseconds(state_->cpuTimeUs),
            state_->peakRssBytes};
}

}  // namespace scaler
