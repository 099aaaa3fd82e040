#include "scaler/scheduler/routing/dispatcher.h"

#include <algorithm>
#include <cassert>

#include "scaler/common/log.h"
#include "scaler/scheduler/routing/scheduler_outbox.h"

namespace scaler::scheduler {
Dispatcher::Dispatcher(const AllocationPolicy& policy, BalanceSettings balance, TaskTable& tasks,
                       CapabilitySetRegistry& sets, std::vector<WorkerRecord>& workers,
                       TaskStateCounts& counts, SchedulerOutbox& outbox, PeerTime now)
    : policy_(policy),
      balance_(balance),
      tasks_(tasks),
      sets_(sets),
      workers_(workers),
      counts_(counts),
      outbox_(outbox),
      nextBalance_(now + secondsToDuration(std::max(balance.intervalSeconds, 0.0))) {}

void Dispatcher::refreshEligibility(CapabilitySetId set) {
    CapabilitySetEntry& entry = sets_[set];
    entry.eligibleWorkers.clear();
    if (!entry.live) return;
    for (WorkerSlot w = 0; w < workers_.size(); ++w) {
        if (workers_[w].live && policy_.canRun(entry.capabilities, workers_[w].capabilities)) {
            entry.eligibleWorkers.push_back(w);
        }
    }
}

void Dispatcher::refreshAllEligibility() {
    for (CapabilitySetId set = 0; set < sets_.size(); ++set) refreshEligibility(set);
}

void Dispatcher::collectFillCandidates(CapabilitySetId set) {
    fillCandidates_.clear();
    const bool bestFit = policy_.bestFit();
    for (WorkerSlot w : sets_[set].eligibleWorkers) {
        const WorkerRecord& worker = workers_[w];
        const uint32_t limit = worker.queueSize + worker.waiting;
        if (!worker.takesNewTasks() || worker.assigned.size >= limit) continue;
        fillCandidates_.push_back({w, bestFit ? static_cast<uint32_t>(worker.capabilities.size()) : 0,
                                   worker.assigned.size, limit - worker.assigned.size,
                                   worker.lastAssignSequence});
    }
}

uint32_t Dispatcher::minChunkOf(CapabilitySetId set) const {
    constexpr double kChunkWorkSeconds = 0.001;
    constexpr double kMaxChunk = 256;
    const DemandCounters& counters = sets_[set].counters;
    if (counters.timedRuns == 0) return 1;
    const double mean = std::max(counters.runSeconds / static_cast<double>(counters.timedRuns), 1e-9);
    return static_cast<uint32_t>(std::clamp(kChunkWorkSeconds / mean, 1.0, kMaxChunk));
}

uint64_t Dispatcher::leadingRun(CapabilitySetId set, CapabilitySetId rival, uint64_t limit) const {
    const PriorityTaskQueue& queue = sets_[set].queue;
    const bool bounded = rival != kNone && sets_[rival].queue.headPriority() == queue.headPriority();
    std::optional<uint64_t> arrivedBy;
    if (bounded) arrivedBy = tasks_[sets_[rival].queue.head()].sequence;
    return queue.leadingRun(tasks_, arrivedBy, limit);
}

void Dispatcher::pickNextSets(CapabilitySetId& next, CapabilitySetId& rival) const {
    const auto before = [&](CapabilitySetId a, CapabilitySetId b) {  // does a's head run before b's?
        const PriorityTaskQueue& qa = sets_[a].queue;
        const PriorityTaskQueue& qb = sets_[b].queue;
        if (qa.headPriority() != qb.headPriority()) return qa.headPriority() > qb.headPriority();
        return tasks_[qa.head()].sequence < tasks_[qb.head()].sequence;
    };
    next = kNone;
    rival = kNone;
    for (CapabilitySetId set = 0; set < sets_.size(); ++set) {
        if (setBlocked_[set] || sets_[set].queue.empty()) continue;
        if (next == kNone || before(set, next)) {
            rival = next;
            next = set;
        } else if (rival == kNone || before(set, rival)) {
            rival = set;
        }
    }
}

void Dispatcher::dispatch(PeerTime now) {
    setBlocked_.assign(sets_.size(), 0);
    for (;;) {
        // the set whose next task has the highest priority, then arrived first; the runner-up bounds how many
        // of its tasks go in this round
        CapabilitySetId next, rival;
        pickNextSets(next, rival);
        if (next == kNone) return;
        collectFillCandidates(next);
        if (fillCandidates_.empty()) {
            setBlocked_[next] = 1;
            continue;
        }
        uint64_t room = 0;
        for (const FillCandidate& c : fillCandidates_) room += c.room;
        PriorityTaskQueue& queue = sets_[next].queue;
        const uint64_t run = leadingRun(next, rival, room);
        if (run == 1) {  // the common case of a trickle: no plan, just the first in fill order
            const auto first = std::min_element(fillCandidates_.begin(), fillCandidates_.end(), fillsFirst);
            assign(queue.head(), first->worker, now);
            continue;
        }
        for (const FillShare& share : planFill(fillCandidates_, run, minChunkOf(next))) {
            for (uint32_t i = 0; i < share.tasks; ++i) assign(queue.head(), share.worker, now);
        }
    }
}

void Dispatcher::assign(TaskIndex index, WorkerSlot slot, PeerTime now) {
    TaskRecord& record = tasks_[index];
    WorkerRecord& worker = workers_[slot];
    CapabilitySetEntry& set = sets_[record.capabilitySet];
    if (set.liveTasks == set.queue.size()) set.busySince = now;  // the first of its tasks on a worker
    set.queue.unlink(tasks_, index);
    tasks_.pushBack(worker.assigned, index, &TaskRecord::queueLinks);
    record.worker = slot;
    // dispatch takes only queued tasks, which the table lets `assign`; checked in debug builds, free in
    // release
    assert(transition(record.state, TaskEvent::assign) == TaskState::assigned);
    setTaskState(counts_, record, TaskState::assigned);
    worker.lastAssignSequence = record.sequence;
    outbox_.sendTask(worker.peer, tasks_.handleOf(index), record.body.size());
}

void Dispatcher::expectImbalance(PeerTime now) {
    if (balance_.intervalSeconds <= 0) return;
    nextBalance_ = std::min(nextBalance_, now + std::chrono::milliseconds(100));
    balanceStreak_ = std::max(balanceStreak_, balance_.triggerTimes - 1);
}

std::vector<TaskMove> Dispatcher::planMoves() const {
    std::vector<BalanceWorker> snapshot;
    for (WorkerSlot w = 0; w < workers_.size(); ++w) {
        const WorkerRecord& worker = workers_[w];
        if (!worker.live || !worker.acceptingTasks) continue;
        // near its memory limit it may give tasks but takes none: moves toward it would only churn
        BalanceWorker view{w, &worker.capabilities, worker.assigned.size, {}, worker.takesNewTasks()};
        // the oldest task is taken to be running; anything younger that is plainly assigned may move
        for (TaskIndex i = worker.assigned.tail; i != kNone && i != worker.assigned.head;
             i = tasks_[i].queueLinks.prev) {
            if (view.movable.size() >= kMaxMovablePerWorker) break;
            if (tasks_[i].state == TaskState::assigned) {
                view.movable.push_back({i, &sets_[tasks_[i].capabilitySet].capabilities});
            }
        }
        snapshot.push_back(std::move(view));
    }
    return planBalance(policy_, std::move(snapshot), kMaxBalanceMovesPerRound);
}

std::vector<TaskMove> Dispatcher::balanceIfDue(PeerTime now) {
    if (balance_.intervalSeconds <= 0 || now < nextBalance_) return {};
    nextBalance_ = now + secondsToDuration(balance_.intervalSeconds);
    std::vector<TaskMove> moves = planMoves();
    if (moves.empty()) {
        balanceStreak_ = 0;
        return {};
    }
    if (++balanceStreak_ < balance_.triggerTimes) return {};
    balanceStreak_ = 0;
    log::tasks().info("balancing: asking workers to give back {} queued tasks for idle workers",
                      moves.size());
    return moves;
}

}  // namespace scaler::scheduler
