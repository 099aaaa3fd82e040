#include "scaler/scheduler/routing/task_state.h"

namespace scaler::scheduler {

bool isTerminal(TaskState state) {
    return state >= TaskState::succeeded;
}

std::string_view toString(TaskState state) {
    switch (state) {
        case TaskState::queued:
            return "queued";
        case TaskState::assigned:
            return "assigned";
        case TaskState::cancelling:
            return "cancelling";
        case TaskState::balancing:
            return "balancing";
        case TaskState::succeeded:
            return "succeeded";
        case TaskState::failed:
            return "failed";
        case TaskState::cancelled:
            return "cancelled";
        case TaskState::workerDied:
            return "workerDied";
        case TaskState::timedOut:
            return "timedOut";
        case TaskState::rejected:
            return "rejected";
    }
    return "?";
}

std::string_view toString(TaskEvent event) {
    switch (event) {
        case TaskEvent::assign:
            return "assign";
        case TaskEvent::resultSucceeded:
            return "resultSucceeded";
        case TaskEvent::resultFailed:
            return "resultFailed";
        case TaskEvent::resultTimedOut:
            return "resultTimedOut";
        case TaskEvent::cancel:
            return "cancel";
        case TaskEvent::balance:
            return "balance";
        case TaskEvent::confirmCancelled:
            return "confirmCancelled";
        case TaskEvent::confirmCancelFailed:
            return "confirmCancelFailed";
        case TaskEvent::confirmNotFound:
            return "confirmNotFound";
        case TaskEvent::workerLost:
            return "workerLost";
        case TaskEvent::workerLostFinal:
            return "workerLostFinal";
        case TaskEvent::workerLeft:
            return "workerLeft";
    }
    return "?";
}

std::optional<TaskState> transition(TaskState state, TaskEvent event, TransitionContext context) {
    using S = TaskState;
    using E = TaskEvent;
    const auto resultState = [](E e) -> std::optional<S> {
        switch (e) {
            case E::resultSucceeded:
                return S::succeeded;
            case E::resultFailed:
                return S::failed;
            case E::resultTimedOut:
                return S::timedOut;
            default:
                return std::nullopt;
        }
    };
    switch (state) {
        case S::queued:
            if (event == E::assign) return S::assigned;
            if (event == E::cancel) return S::cancelled;
            return std::nullopt;
        case S::assigned:
            if (auto r = resultState(event)) return r;
            if (event == E::cancel) return S::cancelling;
            if (event == E::balance) return S::balancing;
            if (event == E::workerLost || event == E::workerLeft) return S::queued;
            if (event == E::workerLostFinal) return S::workerDied;
            return std::nullopt;
        case S::cancelling:
            // A result that overtook the confirmation wins: the work is done, deliver it.
            if (auto r = resultState(event)) return r;
            if (event == E::confirmCancelled || event == E::confirmNotFound) return S::cancelled;
            if (event == E::confirmCancelFailed)
                return context.moreConfirmsPending ? S::cancelling : S::assigned;
            if (event == E::cancel) return S::cancelling;
            // The worker is gone and the client no longer wants the task: nothing to re-run.
            if (event == E::workerLost || event == E::workerLostFinal || event == E::workerLeft)
                return S::cancelled;
            return std::nullopt;
        case S::balancing:
            if (auto r = resultState(event)) return r;
            if (event == E::cancel) return S::cancelling;
            // Given back (or the worker no longer has it, which it reports only after any result): re-route.
            if (event == E::confirmCancelled || event == E::confirmNotFound) return S::queued;
            if (event == E::confirmCancelFailed) return S::assigned;  // already running there; keep it
            if (event == E::workerLost || event == E::workerLeft) return S::queued;
            if (event == E::workerLostFinal) return S::workerDied;
            return std::nullopt;
        default:
            return std::nullopt;  // terminal
    }
}

}  // namespace scaler::scheduler
