#pragma once
// Runs tasks on threads of its own, so the worker's event loop keeps heartbeating while long tasks run. One
// task runs at a time, except that a task waiting for tasks it submitted (TaskContext::client) lends its
// turn: another thread takes the next task meanwhile. The loop hands tasks in and collects outcomes and
// waiting notices; a file descriptor becomes readable when some are waiting, so the loop can poll it beside
// its socket.

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

#include "scaler/wire/message.capnp.h"
#include "scaler/worker/function_registry.h"
#include "scaler/worker/object_cache.h"

namespace scaler::worker {

// One argument: bytes that came with the task, or an object (shared with the cache).
struct ExecutorArgument {
    std::string bytes;
    std::shared_ptr<const ObjectBytes> object;
    std::string_view view() const { return object ? object->view() : std::string_view(bytes); }
};

struct ExecutorTask {
    uint64_t handle = 0;
    std::string functionName;
    std::string payload;
    uint32_t timeoutMs = 0;
    bool profiling = false;  // measure CPU time and peak memory (TaskProfiler)
    bool hasArguments = false;
    std::vector<ExecutorArgument> arguments{};
};

struct ExecutorOutcome {
    enum class Kind { result, cancelled } kind = Kind::result;
    uint64_t handle = 0;
    wire::TaskResultStatus status = wire::TaskResultStatus::SUCCESS;
    std::string payload;
    std::string error;
    uint64_t durationUs = 0;
    uint64_t cpuTimeUs = 0;     // with profiling
    uint64_t peakRssBytes = 0;  // with profiling
};

// A running task ran past its timeout, or past a stop request, by more than the grace period: its function
// ignores interruption and its thread is lost to it.
struct HungTask {
    uint64_t handle = 0;
    bool timedOut = false;  // false: it ignored a cancel or stop request
    uint32_t timeoutMs = 0;
};

class TaskExecutor {
public:
    using Clock = std::chrono::steady_clock;

    // `clientSource` gives tasks their nested client (TaskContext::client); empty: none.
    explicit TaskExecutor(const FunctionRegistry& registry, std::function<Client&()> clientSource = {});
    ~TaskExecutor();
    TaskExecutor(const TaskExecutor&) = delete;
    TaskExecutor& operator=(const TaskExecutor&) = delete;

    void submit(std::vector<ExecutorTask> tasks);

    enum class CancelAnswer { cancelled, cancelFailed, notFound, pending };
    // Queued: removed (cancelled). Running: with force, asked to stop, and a `cancelled` outcome follows
    // when it returns (pending); without force, cancelFailed.
    CancelAnswer cancel(uint64_t handle, bool force);

    // Removes every queued task (they go back to the scheduler) and returns how many.
    size_t dropQueued();
    // Asks every running task to stop.
    void interruptRunning();

    std::vector<ExecutorOutcome> takeOutcomes();
    // Running tasks that began (true) or stopped (false) waiting for their nested tasks, in order.
    std::vector<std::pair<uint64_t, bool>> takeWaitingChanges();
    int notifyFd() const { return eventFd_; }

    // A running task that is hung (see HungTask); checked by the worker loop.
    std::optional<HungTask> hungTask(Clock::time_point now, Clock::duration grace) const;

    size_t queued() const;
    std::vector<std::string> functionNames() const { return registry_.names(); }
    bool running() const { return runningCount() > 0; }
    size_t runningCount() const;
    uint64_t completed() const { return completed_.load(); }

private:
    struct Running {
        uint64_t handle = 0;
        uint32_t timeoutMs = 0;
        Clock::time_point deadline = Clock::time_point::max();
        Clock::time_point interruptRequestedAt = Clock::time_point::max();
        std::atomic<bool> cancel{false};
        bool waiting = false;
    };
    class WaitNotifier;

    void loop();
    ExecutorOutcome execute(const ExecutorTask& task, Running& running);
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
    std::mutex outcomesMutex_;
    std::vector<ExecutorOutcome> outcomes_;
    std::vector<std::pair<uint64_t, bool>> waitingChanges_;
    int eventFd_ = -1;
};

}  // namespace scaler::worker
