#pragma once
// Runs tasks one at a time on its own thread, so the worker's event loop keeps heartbeating while a long
// task runs. The loop hands tasks in and collects outcomes; a file descriptor becomes readable when
// outcomes are waiting, so the loop can poll it beside its socket.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scaler/wire/message.capnp.h"
#include "scaler/worker/function_registry.h"

namespace scaler::worker {

struct ExecutorTask {
    uint64_t handle = 0;
    std::string functionName;
    std::string payload;
    uint32_t timeoutMs = 0;
    bool profiling = false;  // measure CPU time and peak memory (TaskProfiler)
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

// The running task ran past its timeout, or past a stop request, by more than the grace period: its
// function ignores interruption and the executor thread is lost to it.
struct HungTask {
    uint64_t handle = 0;
    bool timedOut = false;  // false: it ignored a cancel or stop request
    uint32_t timeoutMs = 0;
    bool profiling = false;  // measure CPU time and peak memory (TaskProfiler)
};

class TaskExecutor {
public:
    using Clock = std::chrono::steady_clock;

    explicit TaskExecutor(const FunctionRegistry& registry);
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
    // Asks the running task to stop.
    void interruptRunning();

    std::vector<ExecutorOutcome> takeOutcomes();
    int notifyFd() const { return eventFd_; }

    // The running task if it is hung (see HungTask); checked by the worker loop.
    std::optional<HungTask> hungTask(Clock::time_point now, Clock::duration grace) const;

    size_t queued() const;
    std::vector<std::string> functionNames() const { return registry_.names(); }
    bool running() const { return busy_.load(); }
    uint64_t completed() const { return completed_.load(); }

private:
    void loop();
    ExecutorOutcome execute(const ExecutorTask& task);
    void publish(ExecutorOutcome outcome);

    const FunctionRegistry& registry_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<ExecutorTask> queue_;
    bool stopping_ = false;
    std::optional<uint64_t> runningHandle_;  // guarded by mutex_, as are the three below
    uint32_t runningTimeoutMs_ = 0;
    Clock::time_point runningDeadline_ = Clock::time_point::max();
    Clock::time_point interruptRequestedAt_ = Clock::time_point::max();
    std::atomic<bool> busy_{false};
    std::atomic<bool> cancelRunning_{false};
    std::atomic<uint64_t> completed_{0};
    std::mutex outcomesMutex_;
    std::vector<ExecutorOutcome> outcomes_;
    int eventFd_ = -1;
    std::thread thread_;
};

}  // namespace scaler::worker
