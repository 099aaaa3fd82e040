#pragma once
// The task state machine as a pure function, so every transition is table-tested (docs/architecture.md).

#include <cstdint>
#include <optional>
#include <string_view>

namespace scaler::scheduler {

enum class TaskState : uint8_t {
    queued,      // waiting in its capability queue for a worker
    assigned,    // sent to a worker (queued there or running)
    cancelling,  // the client cancelled; waiting for the worker's confirmation
    balancing,   // load balancing asked the worker to give it back; waiting for the confirmation
    // terminal: the record is freed right after the terminal action
    succeeded,
    failed,
    cancelled,
    workerDied,  // its workers died more often than the retry limit
    timedOut,
    rejected,
};

enum class TaskEvent : uint8_t {
    assign,
    resultSucceeded,
    resultFailed,
    resultTimedOut,
    cancel,  // client cancel, or its client went away
    balance,
    confirmCancelled,
    confirmCancelFailed,
    confirmNotFound,
    workerLost,       // the worker died or timed out; retries remain
    workerLostFinal,  // the worker died and the retry limit is reached
    workerLeft,       // graceful disconnect: the task goes back without counting a death
};

struct TransitionContext {
    bool moreConfirmsPending = false;  // another cancel to the worker is still unanswered
};

bool isTerminal(TaskState state);
std::string_view toString(TaskState state);
std::string_view toString(TaskEvent event);

// The next state, or nullopt when the event is not allowed in this state (the caller logs and drops it).
std::optional<TaskState> transition(TaskState state, TaskEvent event, TransitionContext context = {});

}  // namespace scaler::scheduler
