#include "scaler/worker/task_executor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "scaler/client/wait_listener.h"
#include "scaler/worker/task_profiler.h"

namespace scaler::worker {

// Installed on a task's thread while its function runs: a blocking wait on a nested future lends the turn.
class TaskExecutor::WaitNotifier final : public WaitListener {
public:
    WaitNotifier(TaskExecutor& executor, Running& running) : executor_(executor), running_(running) {
        setThreadWaitListener(this);
    }
    ~WaitNotifier() override { setThreadWaitListener(nullptr); }
    void waiting(bool nowWaiting) override { executor_.onWaiting(running_, nowWaiting); }

private:
    TaskExecutor& executor_;
    Running& running_;
};

TaskExecutor::TaskExecutor(const FunctionRegistry& registry, std::function<Client&()> clientSource)
    : registry_(registry), clientSource_(std::move(clientSource)) {
    eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventFd_ < 0) throw std::runtime_error("eventfd failed");
    threads_.emplace_back([this] { loop(); });
}

TaskExecutor::~TaskExecutor() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
        for (Running& running : running_) running.cancel = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) thread.join();
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
    for (Running& running : running_) {
        if (running.handle != handle) continue;
        if (!force) return CancelAnswer::cancelFailed;  // a task shown as next counts as begun
        running.cancel = true;
        // a task shown as next is asked to stop (or skipped) once its turn comes: its grace starts then
        if (!running.next)
            running.interruptRequestedAt = std::min(running.interruptRequestedAt, Clock::now());
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
    for (Running& running : running_) {
        running.cancel = true;
        if (!running.next)
            running.interruptRequestedAt = std::min(running.interruptRequestedAt, Clock::now());
    }
}

std::optional<HungTask> TaskExecutor::hungTask(Clock::time_point now, Clock::duration grace) const {
    std::lock_guard lock(mutex_);
    const auto pastGrace = [&](Clock::time_point t) {
        return t != Clock::time_point::max() && now - t > grace;
    };
    for (const Running& running : running_) {
        // a task waiting for its nested tasks is not hung: they may take long, and its deadline still ends it
        // when it wakes
        if (running.waiting || running.next) continue;
        if (pastGrace(running.deadline)) return HungTask{running.handle, true, running.timeoutMs};
        if (pastGrace(running.interruptRequestedAt))
            return HungTask{running.handle, false, running.timeoutMs};
    }
    return std::nullopt;
}

size_t TaskExecutor::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

size_t TaskExecutor::runningCount() const {
    std::lock_guard lock(mutex_);
    return running_.size();  // a task shown as next is counted: it is neither queued nor done
}

std::vector<ExecutorOutcome> TaskExecutor::takeOutcomes() {
    uint64_t counter = 0;
    (void)!read(eventFd_, &counter, sizeof counter);
    std::vector<ExecutorOutcome> out;
    std::lock_guard lock(outcomesMutex_);
    out.swap(outcomes_);
    return out;
}

std::vector<std::pair<uint64_t, bool>> TaskExecutor::takeWaitingChanges() {
    std::vector<std::pair<uint64_t, bool>> out;
    std::lock_guard lock(outcomesMutex_);
    out.swap(waitingChanges_);
    return out;
}

void TaskExecutor::wakeLoop() {
    const uint64_t one = 1;
    (void)!write(eventFd_, &one, sizeof one);
}

void TaskExecutor::publish(ExecutorOutcome outcome) {
    bool wasEmpty;
    {
        std::lock_guard lock(outcomesMutex_);
        wasEmpty = outcomes_.empty() && waitingChanges_.empty();
        outcomes_.push_back(std::move(outcome));
    }
    if (wasEmpty) wakeLoop();  // one wake-up per batch the loop has not yet collected
}

void TaskExecutor::onWaiting(Running& running, bool waiting) {
    // only the task's own thread writes its flag, so it may read it unlocked: the common call (a task that
    // never waited, handing back a turn it never lent) costs no lock
    if (running.waiting == waiting) return;
    {
        std::lock_guard lock(mutex_);
        running.waiting = waiting;
        if (waiting) {
            --active_;
            // lend the turn: a thread must be free to take the next task
            if (idleThreads_ == 0 && !stopping_) threads_.emplace_back([this] { loop(); });
        } else {
            ++active_;  // back to work at once; the cluster is briefly over its slots rather than stalled
        }
    }
    if (waiting) wake_.notify_one();
    {
        std::lock_guard lock(outcomesMutex_);
        waitingChanges_.emplace_back(running.handle, waiting);
    }
    wakeLoop();
}

TaskExecutor::RunningNode TaskExecutor::beginRunning(const ExecutorTask& task) {
    if (spare_.empty()) spare_.emplace_back();
    running_.splice(running_.end(), spare_, spare_.begin());
    const RunningNode node = std::prev(running_.end());
    node->handle = task.handle;
    node->timeoutMs = task.timeoutMs;
    node->deadline = Clock::time_point::max();
    node->interruptRequestedAt = Clock::time_point::max();
    node->cancel.store(false, std::memory_order_relaxed);  // published by the mutex
    node->waiting = false;
    node->next = false;
    return node;
}

void TaskExecutor::takeNext(const ExecutorTask& task, const RegisteredFunction* function, size_t limit,
                            std::deque<Handover>& next) {
    if (stopping_ || function == nullptr || !function->takesNextTask) return;
    size_t bytes = 0;
    for (const Handover& held : next)
        for (const std::string_view argument : held.arguments) bytes += argument.size();
    while (next.size() < limit && !queue_.empty()) {
        const ExecutorTask& candidate = queue_.front();
        if (candidate.functionName != task.functionName || !candidate.hasArguments) return;
        size_t more = 0;
        for (const ExecutorArgument& argument : candidate.arguments) {
            if (argument.object && argument.object->sharedFd() >= 0) return;  // goes as a descriptor
            more += argument.view().size();
        }
        if (bytes + more >= NextTask::kMaxBytes) return;
        bytes += more;
        Handover& held = next.emplace_back();
        held.task = std::move(queue_.front());
        queue_.pop_front();
        held.node = beginRunning(held.task);
        held.node->next = true;
        for (const ExecutorArgument& argument : held.task.arguments)
            held.arguments.push_back(argument.view());
    }
}

void TaskExecutor::loop() {
    std::unique_lock lock(mutex_);
    std::deque<Handover> next;  // shown to the function of the task before, run in this order
    std::vector<NextTask> nextViews;
    bool keptTurn = false;  // the task before ran to its end holding the turn, which passes to next.front()
    // The function of the task before, and its name: this lookup is under the lock, and a thread mostly runs
    // one function, so a name compare stands in for the registry's lookup.
    const RegisteredFunction* function = nullptr;
    std::string functionName;
    double meanTaskUs = -1;  // of this thread's tasks that take next tasks, as the worker sees them end
    for (;;) {
        ExecutorTask task;
        RunningNode node;
        if (!next.empty()) {
            if (stopping_) return;
            task = std::move(next.front().task);
            node = next.front().node;
            next.pop_front();
        } else {
            ++idleThreads_;
            wake_.wait(lock, [&] { return stopping_ || (!queue_.empty() && active_ == 0); });
            --idleThreads_;
            if (stopping_) return;
            task = std::move(queue_.front());
            queue_.pop_front();
            node = beginRunning(task);
        }
        Running& running = *node;
        const auto now = Clock::now();
        running.next = false;
        if (task.timeoutMs > 0) running.deadline = now + std::chrono::milliseconds(task.timeoutMs);
        if (running.cancel.load(std::memory_order_relaxed)) running.interruptRequestedAt = now;
        if (!keptTurn) ++active_;
        if (function == nullptr || task.functionName != functionName) {
            function = registry_.lookup(task.functionName);
            functionName = task.functionName;
        }
        takeNext(task, function, NextTask::countFor(meanTaskUs), next);
        nextViews.clear();
        for (const Handover& held : next)
            nextViews.push_back(
                NextTask{held.task.handle, &held.arguments, &held.node->cancel, held.task.profiling});
        lock.unlock();
        ExecutorOutcome outcome = execute(task, function, running, nextViews);
        task.arguments.clear();  // objects go back to the cache's sole ownership before the result is seen
        // as the worker sees them end (results that came together end together): the work each stands for
        if (function != nullptr && function->takesNextTask) {
            const auto us = static_cast<double>(outcome.durationUs);
            meanTaskUs = meanTaskUs < 0 ? us : meanTaskUs + 0.1 * (us - meanTaskUs);
        }
        ++completed_;
        lock.lock();
        keptTurn = !next.empty() && !running.waiting;
        if (!running.waiting && !keptTurn) --active_;
        spare_.splice(spare_.end(), running_, node);
        // another thread may take the next task only while this one is not active (it is not, now, unless it
        // goes on with the task it was shown); it would be woken for nothing when this thread takes it itself
        const bool wakeOther = !keptTurn && idleThreads_ > 0 && !queue_.empty();
        lock.unlock();
        // publish after leaving the running list, so whoever sees running() == false also finds the outcome
        publish(std::move(outcome));
        if (wakeOther) wake_.notify_one();
        lock.lock();
    }
}

ExecutorOutcome TaskExecutor::execute(const ExecutorTask& task, const RegisteredFunction* function,
                                      Running& running, const std::vector<NextTask>& next) {
    ExecutorOutcome outcome;
    outcome.handle = task.handle;
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string_view> arguments;
    arguments.reserve(task.arguments.size());
    bool anyShared = false;
    for (const ExecutorArgument& argument : task.arguments) {
        arguments.push_back(argument.view());
        anyShared = anyShared || (argument.object && argument.object->sharedFd() >= 0);
    }
    std::vector<int> sharedFds;  // only for a task with a shared object: no allocation for the others
    if (anyShared) {
        for (const ExecutorArgument& argument : task.arguments)
            sharedFds.push_back(argument.object ? argument.object->sharedFd() : -1);
    }
    TaskContext context(running.cancel, running.deadline, &arguments,
                        clientSource_ ? &clientSource_ : nullptr, anyShared ? &sharedFds : nullptr);
    context.setHandle(task.handle);
    context.setNextTasks(&next);
    context.setProfiling(task.profiling);
    TaskProfiler profiler;
    if (task.profiling) profiler.start();
    if (function == nullptr) {
        outcome.status = wire::TaskResultStatus::FAILED;
        outcome.error = "unknown function '" + task.functionName + "' on this worker";
    } else {
        WaitNotifier notifier(*this, running);
        const std::string_view payload = task.hasArguments
                                             ? (arguments.empty() ? std::string_view() : arguments.front())
                                             : std::string_view(task.payload);
        try {
            outcome.payload = function->call(context, payload);
        } catch (const TaskProcessDied& e) {
            outcome.status = wire::TaskResultStatus::WORKER_DIED;  // the scheduler applies the retry limit
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
        outcome.cpuTimeUs = context.usageReported() ? context.reportedCpuTimeUs() : profile.cpuTimeUs;
        outcome.peakRssBytes =
            context.usageReported() ? context.reportedPeakRssBytes() : profile.peakRssBytes;
        if (context.reportedWallTimeUs() > 0) outcome.durationUs = context.reportedWallTimeUs();
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
