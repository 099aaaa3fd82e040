#include <gtest/gtest.h>

#include <optional>

#include "scaler/scheduler/routing/task_state.h"

using namespace scaler::scheduler;
using S = TaskState;
using E = TaskEvent;

struct Row {
    S from;
    E event;
    bool morePending;
    std::optional<S> to;
};

TEST(TaskStateMachine, Table) {
    const Row rows[] = {
        {S::queued, E::assign, false, S::assigned},
        {S::queued, E::cancel, false, S::cancelled},
        {S::queued, E::resultSucceeded, false, std::nullopt},
        {S::queued, E::confirmCancelled, false, std::nullopt},
        {S::assigned, E::resultSucceeded, false, S::succeeded},
        {S::assigned, E::resultFailed, false, S::failed},
        {S::assigned, E::resultTimedOut, false, S::timedOut},
        {S::assigned, E::cancel, false, S::cancelling},
        {S::assigned, E::balance, false, S::balancing},
        {S::assigned, E::workerLost, false, S::queued},
        {S::assigned, E::workerLeft, false, S::queued},
        {S::assigned, E::workerLostFinal, false, S::workerDied},
        {S::assigned, E::confirmCancelled, false, std::nullopt},  // nobody asked
        {S::cancelling, E::confirmCancelled, false, S::cancelled},
        {S::cancelling, E::confirmNotFound, false, S::cancelled},
        {S::cancelling, E::confirmCancelFailed, false, S::assigned},
        {S::cancelling, E::confirmCancelFailed, true, S::cancelling},  // the forced cancel is still out
        {S::cancelling, E::resultSucceeded, false, S::succeeded},      // the result overtook the cancel
        {S::cancelling, E::workerLost, false, S::cancelled},
        {S::cancelling, E::workerLostFinal, false, S::cancelled},
        {S::balancing, E::confirmCancelled, false, S::queued},
        {S::balancing, E::confirmNotFound, false, S::queued},  // reference bug §12.2: stranded
        {S::balancing, E::confirmCancelFailed, false, S::assigned},
        {S::balancing, E::resultSucceeded, false, S::succeeded},
        {S::balancing, E::cancel, false, S::cancelling},
        {S::balancing, E::workerLost, false, S::queued},  // reference bug: stuck in balanceCanceling
        {S::balancing, E::workerLostFinal, false, S::workerDied},
        {S::succeeded, E::cancel, false, std::nullopt},
        {S::cancelled, E::resultSucceeded, false, std::nullopt},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(transition(row.from, row.event, {row.morePending}), row.to)
            << toString(row.from) << " + " << toString(row.event);
    }
}

TEST(TaskStateMachine, EveryNonTerminalStateHandlesEveryWorkerLoss) {
    // a lost worker must never leave a task behind, whatever state it was in
    for (S s : {S::assigned, S::cancelling, S::balancing}) {
        for (E e : {E::workerLost, E::workerLostFinal, E::workerLeft}) {
            EXPECT_TRUE(transition(s, e).has_value()) << toString(s) << " + " << toString(e);
        }
    }
}
