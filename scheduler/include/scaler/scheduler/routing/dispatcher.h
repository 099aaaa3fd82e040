#pragma once
// Placement: which worker takes each queued task. Keeps each capability set's eligible workers, hands queued
// tasks out in priority, then arrival, order (short tasks in chunks, long ones spread one by one), and plans
// the balancing moves that give idle workers the queued tasks of loaded ones. Works over the task table, the
// capability sets and the workers' records; never reads a clock (the time comes with each call).

#include <chrono>
#include <cstdint>
#include <vector>

#include "scaler/scheduler/routing/allocation_policy.h"
#include "scaler/scheduler/routing/capability_set_registry.h"
#include "scaler/scheduler/routing/peer_table.h"
#include "scaler/scheduler/routing/task_state_counts.h"
#include "scaler/scheduler/routing/task_table.h"
#include "scaler/scheduler/routing/worker_fill_plan.h"

namespace scaler::scheduler {

class SchedulerOutbox;

struct BalanceSettings {
    double intervalSeconds = 0;  // 0: no balancing
    int triggerTimes = 1;        // rounds in a row an imbalance must be seen before tasks move
};

class Dispatcher {
public:
    static constexpr size_t kMaxBalanceMovesPerRound = 10000;
    static constexpr size_t kMaxMovablePerWorker = 2000;

    Dispatcher(const AllocationPolicy& policy, BalanceSettings balance, TaskTable& tasks,
               CapabilitySetRegistry& sets, std::vector<WorkerRecord>& workers, TaskStateCounts& counts,
               SchedulerOutbox& outbox, PeerTime now);

    // The workers that can run `set`'s tasks, again: after a set is made or a worker joins or leaves.
    void refreshEligibility(CapabilitySetId set);
    void refreshAllEligibility();

    // Assigns queued tasks to workers with room until no queued task has a worker that may take it.
    void dispatch(PeerTime now);
    // One queued task to one worker: its record, the worker's list and the outbox.
    void assign(TaskIndex index, WorkerSlot worker, PeerTime now);

    // A worker joined: the imbalance balancing waits for. Its share of the queued work moves at the next tick
    // instead of after the usual confirmations (at most every 100 ms while many join).
    void expectImbalance(PeerTime now);
    // When a balancing round is due: the moves its plan makes once an imbalance has been seen the configured
    // number of rounds in a row; empty otherwise. The caller hands each moved task back.
    std::vector<TaskMove> balanceIfDue(PeerTime now);

    // Short tasks go out in chunks of about a millisecond of work (at most 256 tasks), so frames stay large
    // as workers grow; long tasks, and tasks of a set none of which has finished yet, are spread one by one.
    uint32_t minChunkOf(CapabilitySetId set) const;

private:
    // the workers that may take `set`'s next tasks now, into fillCandidates_
    void collectFillCandidates(CapabilitySetId set);
    // How many tasks from the head of `set`'s queue run before the head of `rival` (kNone: no rival), at most
    // `limit`; only the head's priority level is walked, the next round takes the rest.
    uint64_t leadingRun(CapabilitySetId set, CapabilitySetId rival, uint64_t limit) const;
    // Among sets some worker can still take, the one whose next task runs first, and the runner-up.
    void pickNextSets(CapabilitySetId& next, CapabilitySetId& rival) const;
    std::vector<TaskMove> planMoves() const;

    const AllocationPolicy& policy_;
    BalanceSettings balance_;
    TaskTable& tasks_;
    CapabilitySetRegistry& sets_;
    std::vector<WorkerRecord>& workers_;
    TaskStateCounts& counts_;
    SchedulerOutbox& outbox_;
    PeerTime nextBalance_;
    int balanceStreak_ = 0;
    std::vector<uint8_t> setBlocked_;            // dispatch scratch
    std::vector<FillCandidate> fillCandidates_;  // dispatch scratch
};

}  // namespace scaler::scheduler
