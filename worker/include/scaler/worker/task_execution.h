#pragma once
// What WorkerSession needs from whatever runs its tasks: hand tasks in, cancel them, collect outcomes and
// waiting notices, and the counts a heartbeat carries. TaskExecutor runs them on threads; tests give the
// session a scripted one, so its decisions are tested without threads or waiting.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scaler/wire/message.capnp.h"
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

class TaskExecution {
public:
    using Clock = std::chrono::steady_clock;
    virtual ~TaskExecution() = default;

    virtual void submit(std::vector<ExecutorTask> tasks) = 0;

    enum class CancelAnswer { cancelled, cancelFailed, notFound, pending };
    // Queued: removed (cancelled). Running: with force, asked to stop, and a `cancelled` outcome follows
    // when it returns (pending); without force, cancelFailed.
    virtual CancelAnswer cancel(uint64_t handle, bool force) = 0;
    // Removes every queued task (they go back to the scheduler) and returns how many.
    virtual size_t dropQueued() = 0;
    // Asks every running task to stop.
    virtual void interruptRunning() = 0;

    virtual std::vector<ExecutorOutcome> takeOutcomes() = 0;
    // Whether outcomes wait to be taken (the session holds results only then: ResultBatching).
    virtual bool hasOutcomes() const = 0;
    // Running tasks that began (true) or stopped (false) waiting for their nested tasks, in order.
    virtual std::vector<std::pair<uint64_t, bool>> takeWaitingChanges() = 0;
    // A running task that is hung (see HungTask); checked by the worker loop.
    virtual std::optional<HungTask> hungTask(Clock::time_point now, Clock::duration grace) const = 0;

    virtual size_t queued() const = 0;
    virtual std::vector<std::string> functionNames() const = 0;
    virtual size_t runningCount() const = 0;
    bool running() const { return runningCount() > 0; }
    virtual uint64_t completed() const = 0;
};

}  // namespace scaler::worker
