#pragma once
// Runs tasks on threads of its own, so the worker's event loop keeps heartbeating while long tasks run. One
// task runs at a time, except that a task waiting for tasks it submitted (TaskContext::client) lends its
// turn: another thread takes the next task meanwhile. The loop hands tasks in and collects outcomes and
// waiting notices; a file descriptor becomes readable when some are waiting, so the loop can poll it beside
// its socket. A function registered with addTakingNextTask is shown the queued tasks after its own (which
// then count as running, and run next on the same thread).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "scaler/worker/function_registry.h"
#include "scaler/worker/task_execution.h"

namespace scaler::worker {

class TaskExecutor final : public TaskExecution {
public:
    // `clientSource` gives tasks their nested client (TaskContext::client); empty: none.
    explicit TaskExecutor(const FunctionRegistry& registry, std::function<Client&()> clientSource = {});
    ~TaskExecutor() override;
    TaskExecutor(const TaskExecutor&) = delete;
    TaskExecutor& operator=(const TaskExecutor&) = delete;

    void submit(std::vector<ExecutorTask> tasks) override;
    CancelAnswer cancel(uint64_t handle, bool force) override;
    size_t dropQueued() override;
    void interruptRunning() override;
    std::vector<ExecutorOutcome> takeOutcomes() override;
    bool hasOutcomes() const override {
        std::lock_guard lock(outcomesMutex_);
        return !outcomes_.empty();
    }
    std::vector<std::pair<uint64_t, bool>> takeWaitingChanges() override;
    // Readable when outcomes or waiting changes are ready: the worker's loop polls it beside its socket.
    int notifyFd() const { return eventFd_; }
    std::optional<HungTask> hungTask(Clock::time_point now, Clock::duration grace) const override;
    size_t queued() const override;
    std::vector<std::string> functionNames() const override { return registry_.names(); }
    size_t runningCount() const override;
    uint64_t completed() const override { return completed_.load(); }

private:
    struct Running {
        uint64_t handle = 0;
        uint32_t timeoutMs = 0;
        Clock::time_point deadline = Clock::time_point::max();
        Clock::time_point interruptRequestedAt = Clock::time_point::max();
        std::atomic<bool> cancel{false};
        bool waiting = false;
        bool next = false;  // shown to the running task as the next one; not yet begun
    };
    using RunningNode = std::list<Running>::iterator;
    // A task a thread runs later: shown to its function while the ones before ran.
    struct Handover {
        ExecutorTask task;
        RunningNode node;
        std::vector<std::string_view> arguments;
    };
    class WaitNotifier;

    void loop();
    RunningNode beginRunning(const ExecutorTask& task);  // under mutex_
    // Tops `next` up from the queue with tasks to show `task`'s function (under mutex_), if it asks for them.
    // Shows the function up to `limit` queued tasks of the same function (NextTask::countFor).
    void takeNext(const ExecutorTask& task, const RegisteredFunction* function, size_t limit,
                  std::deque<Handover>& next);
    ExecutorOutcome execute(const ExecutorTask& task, const RegisteredFunction* function, Running& running,
                            const std::vector<NextTask>& next);
    void publish(ExecutorOutcome outcome);
    void onWaiting(Running& running, bool waiting);
    void wakeLoop();

    const FunctionRegistry& registry_;
    const std::function<Client&()> clientSource_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<ExecutorTask> queue_;
    bool stopping_ = false;
    std::list<Running> running_;  // guarded by mutex_; nodes stay put while their task runs
    std::list<Running> spare_;    // finished nodes, reused: no allocation per task
    size_t active_ = 0;           // running and not waiting: at most one takes a new task
    size_t idleThreads_ = 0;
    std::vector<std::thread> threads_;
    std::atomic<uint64_t> completed_{0};
    mutable std::mutex outcomesMutex_;
    std::vector<ExecutorOutcome> outcomes_;
    std::vector<std::pair<uint64_t, bool>> waitingChanges_;
    int eventFd_ = -1;
};

}  // namespace scaler::worker
