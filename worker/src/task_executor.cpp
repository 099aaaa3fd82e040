#include "scaler/worker/task_executor.h"

#include "scaler/worker/task_profiler.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace scaler::worker {

TaskExecutor::TaskExecutor(const FunctionRegistry& registry) : registry_(registry) {
    eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventFd_ < 0) throw std::runtime_error("eventfd failed");
    thread_ = std::thread([this] { loop(); });
}

TaskExecutor::~TaskExecutor() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
    }
    cancelRunning_ = true;
    wake_.notify_all();
    thread_.join();
    close(eventFd_);
}

void TaskExecutor::submit(std::vector<ExecutorTask> tasks) {
    {
        std::lock_guard lock(mutex_);
        for (auto& task : tasks) queue_.push_back(std::move(task));
    }
    wake_.notify_one();
}

TaskExecutor::CancelAnswer TaskExecutor::cancel(uint64_t handle, bool force) {
    std::lock_guard lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->handle == handle) {
            queue_.erase(it);
            return CancelAnswer::cancelled;
        }
    }
    if (runningHandle_ == handle) {
        if (!force) return CancelAnswer::cancelFailed;
        cancelRunning_ = true;
        interruptRequestedAt_ = std::min(interruptRequestedAt_, Clock::now());
        return CancelAnswer::pending;
    }
    return CancelAnswer::notFound;
}

size_t TaskExecutor::dropQueued() {
    std::lock_guard lock(mutex_);
    const size_t n = queue_.size();
    queue_.clear();
    return n;
}

void TaskExecutor::interruptRunning() {
    std::lock_guard lock(mutex_);
    cancelRunning_ = true;
    if (runningHandle_) interruptRequestedAt_ = std::min(interruptRequestedAt_, Clock::now());
}

std::optional<HungTask> TaskExecutor::hungTask(Clock::time_point now, Clock::duration grace) const {
    std::lock_guard lock(mutex_);
    if (!runningHandle_) return std::nullopt;
    const auto pastGrace = [&](Clock::time_point t) {
        return t != Clock::time_point::max() && now - t > grace;
    };
    if (pastGrace(runningDeadline_)) return HungTask{*runningHandle_, true, runningTimeoutMs_};
    if (pastGrace(interruptRequestedAt_)) return HungTask{*runningHandle_, false, runningTimeoutMs_};
    return std::nullopt;
}

size_t TaskExecutor::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::vector<ExecutorOutcome> TaskExecutor::takeOutcomes() {
    uint64_t counter = 0;
    (void)!read(eventFd_, &counter, sizeof counter);
    std::vector<ExecutorOutcome> out;
    std::lock_guard lock(outcomesMutex_);
    out.swap(outcomes_);
    return out;
}

void TaskExecutor::publish(ExecutorOutcome outcome) {
    bool wasEmpty;
    {
        std::lock_guard lock(outcomesMutex_);
        wasEmpty = outcomes_.empty();
        outcomes_.push_back(std::move(outcome));
    }
    if (wasEmpty) {  // one wake-up per batch the loop has not yet collected
        const uint64_t one = 1;
        (void)!write(eventFd_, &one, sizeof one);
    }
}

void TaskExecutor::loop() {
    for (;;) {
        ExecutorTask task;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            task = std::move(queue_.front());
            queue_.pop_front();
            runningHandle_ = task.handle;
            runningTimeoutMs_ = task.timeoutMs;
            runningDeadline_ = task.timeoutMs > 0 ? Clock::now() + std::chrono::milliseconds(task.timeoutMs)
                                                  : Clock::time_point::max();
            interruptRequestedAt_ = Clock::time_point::max();
            cancelRunning_ = false;
            busy_ = true;
        }
        ExecutorOutcome outcome = execute(task);
        ++completed_;
        // publish before reporting idle, so whoever sees running() == false also finds the outcome
        publish(std::move(outcome));
        {
            std::lock_guard lock(mutex_);
            runningHandle_.reset();
            runningDeadline_ = interruptRequestedAt_ = Clock::time_point::max();
            busy_ = false;
        }
    }
}

ExecutorOutcome TaskExecutor::execute(const ExecutorTask& task) {
    ExecutorOutcome outcome;
    outcome.handle = task.handle;
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = task.timeoutMs > 0 ? started + std::chrono::milliseconds(task.timeoutMs)
                                             : std::chrono::steady_clock::time_point::max();
    TaskContext context(cancelRunning_, deadline);
    TaskProfiler profiler;
    if (task.profiling) profiler.start();
    const TaskFunction* function = registry_.find(task.functionName);
    if (function == nullptr) {
        outcome.status = wire::TaskResultStatus::FAILED;
        outcome.error = "unknown function '" + task.functionName + "' on this worker";
    } else {
        try {
            outcome.payload = (*function)(context, task.payload);
        } catch (const TaskInterrupted& e) {
            outcome.status = wire::TaskResultStatus::FAILED;
            outcome.error = e.what();
        } catch (const std::exception& e) {
            outcome.status = wire::TaskResultStatus::FAILED;
            outcome.error = e.what();
        } catch (...) {
            outcome.status = wire::TaskResultStatus::FAILED;
            outcome.error = "task raised a non-standard exception";
        }
    }
    outcome.durationUs = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
            .count());
    if (task.profiling) {
        const TaskProfile profile = profiler.stop();
        outcome.cpuTimeUs = profile.cpuTimeUs;
        outcome.peakRssBytes = profile.peakRssBytes;
    }
    if (context.cancelled()) {
        // a forced cancel: whatever the function returned, the client asked for it to stop
        outcome.kind = ExecutorOutcome::Kind::cancelled;
        outcome.payload.clear();
    } else if (context.timedOut()) {
        outcome.status = wire::TaskResultStatus::TIMED_OUT;
        outcome.error = "task exceeded its timeout of " + std::to_string(task.timeoutMs) + " ms";
        outcome.payload.clear();
    }
    return outcome;
}

}  // namespace scaler::worker
