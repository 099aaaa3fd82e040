#pragma once
// Public API for task functions. A plugin is a shared library that defines
//
//     SCALER_PLUGIN_ENTRY {
//         registry.add("word_count", [](scaler::TaskContext&, std::string_view text) { ... });
//     }
//
// and is loaded with `scaler_worker --load libmy_plugin.so`. A function returns its result bytes; throwing
// fails the task with the exception's message.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scaler {

class Client;

// Thrown by TaskContext helpers when the task was cancelled or ran past its timeout.
class TaskInterrupted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by a function whose work ran in a process of its own that died before answering (the Python
// processor): the scheduler counts it as a death of the task's worker, so the task is retried up to its
// limit and then fails with WorkerDiedError carrying this message.
class TaskProcessDied : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A task queued after the running one, shown to a function that asked for it
// (FunctionRegistry::addTakingNextTask) so it can pass it on to another process before the running one ends.
// The executor runs the next tasks in order, on the same thread, each with a context of its own.
struct NextTask {
    uint64_t handle = 0;
    const std::vector<std::string_view>* arguments = nullptr;
    const std::atomic<bool>* cancelled = nullptr;  // a forced cancel while it waits its turn
    bool profiling = false;                        // TaskContext::profiling of its own context
    // At most this many, with fewer bytes of arguments than this in all: they go to a socket the other
    // process reads only between tasks, so they must fit in its buffer.
    static constexpr size_t kMaxTasks = 16;
    static constexpr size_t kMaxBytes = size_t{64} << 10;
    static constexpr size_t kFirstTasks = 3;  // while nothing is known of the function's run time
    // About this much work is shown ahead: enough that the other process never waits for a round trip,
    // little enough that a task taken ahead of its turn (no longer the scheduler's to move to an idle
    // worker) waits behind no more than this.
    static constexpr std::chrono::microseconds kAheadWork{2000};
    // How many to show when this thread's tasks have taken `meanTaskUs` each (< 0: none has run yet): 0 for
    // tasks longer than kAheadWork, up to kMaxTasks for short ones.
    static size_t countFor(double meanTaskUs);
};

// What a running function may ask about its task. Long-running functions should check stopRequested()
// now and then (or use sleepFor), so cancel and timeouts take effect promptly.
class TaskContext {
public:
    using Clock = std::chrono::steady_clock;
    TaskContext(const std::atomic<bool>& cancelFlag, Clock::time_point deadline,
                const std::vector<std::string_view>* arguments = nullptr,
                const std::function<Client&()>* clientSource = nullptr,
                const std::vector<int>* sharedFds = nullptr)
        : cancelFlag_(cancelFlag),
          deadline_(deadline),
          arguments_(arguments),
          clientSource_(clientSource),
          sharedFds_(sharedFds) {}

    // The worker's handle of this task (unique among the tasks it holds).
    uint64_t handle() const { return handle_; }
    void setHandle(uint64_t handle) { handle_ = handle; }
    // The tasks that run next on this thread, in order, for functions registered with addTakingNextTask.
    const std::vector<NextTask>& nextTasks() const;
    void setNextTasks(const std::vector<NextTask>* next) { nextTasks_ = next; }
    bool cancelled() const { return cancelFlag_.load(std::memory_order_relaxed); }
    bool timedOut() const { return Clock::now() >= deadline_; }
    bool stopRequested() const { return cancelled() || timedOut(); }
    Clock::time_point deadline() const { return deadline_; }
    // Throws TaskInterrupted when the task should stop.
    void throwIfStopRequested() const;
    // Sleeps, waking early (and throwing TaskInterrupted) on cancel or timeout.
    void sleepFor(std::chrono::nanoseconds duration) const;
    // The task's arguments in order (bytes, fetched objects, graph inputs), for tasks submitted with
    // Arguments or as graph nodes; the function's payload parameter is then the first (or empty). Empty for
    // a plain payload task. Valid while the function runs.
    const std::vector<std::string_view>& arguments() const;
    // The memfd that holds argument `i` whole (a shared object of the worker's cache), or -1: a function that
    // hands its arguments to another process passes the descriptor instead of the bytes.
    int argumentSharedFd(size_t i) const {
        return sharedFds_ != nullptr && i < sharedFds_->size() ? (*sharedFds_)[i] : -1;
    }
    // A client of this worker's scheduler, shared by the worker's tasks, to submit tasks and graphs from
    // inside this one. While this task waits on its futures its slot is lent to another task, so parents
    // waiting for children never deadlock the cluster. Throws std::logic_error where there is none (a unit
    // test's executor).
    Client& client() const;
    // A function whose work ran in another process reports that process's CPU time, peak memory and (when
    // not 0) the task's own wall time for the task's profile (the worker's own thread only waited, maybe for
    // results sent together).
    void reportUsage(uint64_t cpuTimeUs, uint64_t peakRssBytes, uint64_t wallTimeUs = 0) {
        reportedCpuTimeUs_ = cpuTimeUs;
        reportedPeakRssBytes_ = peakRssBytes;
        reportedWallTimeUs_ = wallTimeUs;
        usageReported_ = true;
    }
    bool usageReported() const { return usageReported_; }
    // The client asked for this task's profile (CPU time, peak memory): a function that measures them at a
    // cost may skip that otherwise.
    bool profiling() const { return profiling_; }
    void setProfiling(bool profiling) { profiling_ = profiling; }
    uint64_t reportedCpuTimeUs() const { return reportedCpuTimeUs_; }
    uint64_t reportedPeakRssBytes() const { return reportedPeakRssBytes_; }
    uint64_t reportedWallTimeUs() const { return reportedWallTimeUs_; }

private:
    const std::atomic<bool>& cancelFlag_;
    Clock::time_point deadline_;
    const std::vector<std::string_view>* arguments_;
    const std::function<Client&()>* clientSource_;
    const std::vector<int>* sharedFds_;
    uint64_t handle_ = 0;
    const std::vector<NextTask>* nextTasks_ = nullptr;
    bool usageReported_ = false;
    bool profiling_ = false;
    uint64_t reportedCpuTimeUs_ = 0;
    uint64_t reportedPeakRssBytes_ = 0;
    uint64_t reportedWallTimeUs_ = 0;
};

using TaskFunction = std::function<std::string(TaskContext&, std::string_view payload)>;

struct RegisteredFunction {
    TaskFunction call;
    bool takesNextTask = false;  // FunctionRegistry::addTakingNextTask
};

class FunctionRegistry {
public:
    // Throws std::invalid_argument when the name is empty or already registered.
    void add(const std::string& name, TaskFunction function);
    // A function this worker knows of but will not run (exec without --allow-exec, python with --no-python):
    // its tasks fail with `why`, and names() leaves it out.
    void refuse(const std::string& name, std::string why);
    // A function that hands its tasks to another process (the Python processor): while one of its tasks runs
    // it is shown the next few queued for it (TaskContext::nextTasks) when they are small, so the other
    // process goes on to them without waiting for a round trip each. Once shown, a task counts as running.
    void addTakingNextTask(const std::string& name, TaskFunction function);
    // nullptr for a name never registered. The executor looks a task's function up once and keeps it.
    const RegisteredFunction* lookup(std::string_view name) const;
    const TaskFunction* find(std::string_view name) const;
    // The functions this worker runs.
    std::vector<std::string> names() const;

private:
    std::map<std::string, RegisteredFunction, std::less<>> functions_;
    std::vector<std::string> refused_;
};

}  // namespace scaler

#define SCALER_PLUGIN_ENTRY extern "C" void scaler_register_functions(scaler::FunctionRegistry& registry)
