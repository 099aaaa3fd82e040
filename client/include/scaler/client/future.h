#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "scaler/client/arguments.h"
#include "scaler/client/result_stream.h"

namespace scaler {

namespace detail {
struct FutureState;
class ClientCore;
}  // namespace detail

struct TaskProfile {
    std::chrono::microseconds duration{0};
    std::chrono::microseconds cpuTime{0};
    uint64_t peakMemoryBytes = 0;
};

// The eventual result of one task. Copies share the same state. Thread-safe.
class Future {
public:
    Future() = default;

    uint64_t id() const;
    bool valid() const { return state_ != nullptr; }
    bool ready() const;
    void wait() const;
    // True when the task finished (in any way) within the time.
    bool wait_for(std::chrono::duration<double> timeout) const;
    // The result bytes; throws TaskFailedError, WorkerDiedError, TaskCancelledError, TaskTimeoutError,
    // TaskRejectedError or SchedulerUnreachableError.
    std::string get() const;
    // As get(), but moves the bytes out instead of copying them: for a large result, no second copy. The
    // future holds no result afterwards (get() and take() then give empty bytes); for one reader of the
    // result.
    std::string take() const;
    // As take(), for a reader that goes through the result once, front to back: a large result comes in the
    // parts it travelled in, each released once read, so no buffer of the whole result is made.
    ResultStream takeStream() const;
    // Asks the scheduler to cancel and waits for its answer: true when the task was cancelled, false when
    // it had already finished or its worker could not stop it (its result then arrives as usual).
    bool cancel() const;
    // Runs `callback` once the task has finished: at once if it has, otherwise on the client's I/O thread.
    void then(std::function<void(const Future&)> callback) const;
    // Wall time the worker spent running the task, when it reported one.
    std::chrono::microseconds duration() const;
    // What the worker measured of a finished task submitted with SubmitOptions::profiling: its run time, the
    // CPU time of the thread that ran it, the worker process's peak resident memory while it ran. Zeros
    // without.
    TaskProfile profile() const;
    // For a task submitted with SubmitOptions::keepResult: the object holding its result, once it succeeded
    // (waits like get(), and throws what get() throws).
    ObjectRef keptObject() const;

private:
    friend class detail::ClientCore;
    std::string result(bool move) const;
    void throwUnlessSucceeded() const;  // with the state's mutex held
    Future(std::shared_ptr<detail::FutureState> state, std::weak_ptr<detail::ClientCore> client)
        : state_(std::move(state)), client_(std::move(client)) {}
    std::shared_ptr<detail::FutureState> state_;
    std::weak_ptr<detail::ClientCore> client_;
};

}  // namespace scaler
