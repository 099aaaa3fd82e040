// The task lifecycle, SchedulerCore's part: tasks arriving, results and cancel confirmations from workers,
// the state machine's entry actions, and a task's end (its observers, then its client's answer).
#include <cassert>

#include "scaler/common/log.h"
#include "scaler/common/printable.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/routing/scheduler_core.h"

namespace scaler::scheduler {
namespace {

wire::TaskResultStatus toWireStatus(TaskState terminal) {
    switch (terminal) {
        case TaskState::succeeded:
            return wire::TaskResultStatus::SUCCESS;
        case TaskState::workerDied:
            return wire::TaskResultStatus::WORKER_DIED;
        case TaskState::timedOut:
            return wire::TaskResultStatus::TIMED_OUT;
        case TaskState::rejected:
            return wire::TaskResultStatus::REJECTED;
        default:
            return wire::TaskResultStatus::FAILED;
    }
}

}  // namespace

void SchedulerCore::rejectTask(ClientSlot client, uint64_t clientTaskId, std::string_view why) {
    logRefusal(clients_[client].identity, "task", why);
    answerRejected(client, clientTaskId, why);
}

void SchedulerCore::answerRejected(ClientSlot client, uint64_t clientTaskId, std::string_view why) {
    counts_.enter(TaskState::rejected);  // never a record: rejected before one is made
    outbox_.sendTaskResult(clients_[client].peer, clientTaskId, wire::TaskResultStatus::REJECTED, {}, why,
                           {});
}

namespace {
// True when a task's wire list names exactly this set (clients send sorted lists), so consecutive tasks with
// the same capabilities reuse the interned id without parsing into a new list.
bool sameCapabilities(capnp::List<wire::Capability>::Reader wire, const CapabilityList& set) {
    if (wire.size() != set.size()) return false;
    for (unsigned i = 0; i < wire.size(); ++i) {
        if (wire[i].getValue() != set[i].value || asStringView(wire[i].getName()) != set[i].name)
            return false;
    }
    return true;
}
}  // namespace

void SchedulerCore::onTasks(ClientSlot client, capnp::List<wire::Task>::Reader tasks) {
    // once per message, not per task: every task of one message arrives at the same moment
    const auto arrivedMs = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now_ - startedAt_).count());
    CapabilitySetId previousSet = 0;
    std::string encoded;
    for (wire::Task::Reader task : tasks) {
        const uint64_t clientTaskId = task.getTaskId();
        // Every read of the message that can throw (a malformed pointer) happens before any state changes, so
        // a bad task cannot leave a half-made record behind (found by the fuzzer).
        NewTask fields;
        if (const Status checked = checkTask(client, task, previousSet, fields); !checked) {
            rejectTask(client, clientTaskId, checked.why());
            continue;
        }
        if (graphs_.liveGraphs() > 0 &&
            graphs_.findKey(client, clientTaskId) != nullptr) {  // it would get the node's answer too
            rejectTask(client, clientTaskId,
                       "task id " + std::to_string(clientTaskId) + " is a node of a live graph");
            continue;
        }
        fields.clientTaskId = clientTaskId;
        fields.body = asStringView(task.getPayload());
        fields.arrivedMs = arrivedMs;
        const uint64_t resultObjectId = task.getResultObjectId();
        if (task.hasArgs()) {
            encoded.clear();
            if (const Status encodedOk = encodeArguments(client, task.getArgs(), nullptr, encoded);
                !encodedOk) {
                rejectTask(client, clientTaskId, encodedOk.why());
                continue;
            }
            fields.body = encoded;
            fields.hasArguments = true;
        }
        const Result<TaskIndex> made = createTask(client, fields);
        if (!made) {
            if (fields.hasArguments) releaseArgumentObjects(encoded);
            rejectTask(client, clientTaskId, made.why());
            continue;
        }
        if (resultObjectId != 0) keptResults_.keep(tasks_[made.value()], made.value(), resultObjectId);
    }
}

Status SchedulerCore::checkTask(ClientSlot client, wire::Task::Reader task, CapabilitySetId& previous,
                                NewTask& fields) {
    fields.functionName = asStringView(task.getFunctionName());
    if (fields.functionName.empty() || fields.functionName.size() > 0xffff) {
        return refuse("function name must be 1 to 65535 bytes");
    }
    const int32_t priority = task.getPriority();
    if (priority < INT16_MIN || priority > INT16_MAX) {
        return refuse("priority " + std::to_string(priority) + " is not in -32768..32767");
    }
    fields.priority = static_cast<int16_t>(priority);
    fields.timeoutMs = task.getTimeoutMs();
    fields.profiling = task.getProfiling();
    fields.capabilitySet = 0;
    if (task.getCapabilities().size() == 0) return {};
    if (sameCapabilities(task.getCapabilities(), capabilitySets_[previous].capabilities)) {
        fields.capabilitySet = previous;
        return {};
    }
    if (auto valid = checkWireCapabilities(task.getCapabilities()); !valid) return valid;
    const size_t before = capabilitySets_.liveSets();
    CapabilitySetRegistry::Refusal refusal;
    const auto interned =
        capabilitySets_.intern(capabilitiesFromWire(task.getCapabilities()), client, now_, refusal);
    if (refusal == CapabilitySetRegistry::Refusal::full) {
        return refuse("too many distinct capability sets in the scheduler (" +
                      std::to_string(CapabilitySetRegistry::kMaxSets) + "; one no task used for " +
                      std::to_string(kCapabilitySetIdleRelease.count()) + " s is freed)");
    }
    if (refusal == CapabilitySetRegistry::Refusal::clientFull) {
        return refuse("this client brought " + std::to_string(CapabilitySetRegistry::kMaxSetsPerClient) +
                      " distinct capability sets already");
    }
    if (capabilitySets_.liveSets() != before) dispatcher_.refreshEligibility(*interned);
    fields.capabilitySet = previous = *interned;
    return {};
}

Result<TaskIndex> SchedulerCore::createTask(ClientSlot client, const NewTask& task) {
    if (config_.maxNumberOfTasksWaiting >= 0 &&
        counts_[TaskState::queued] >= static_cast<uint64_t>(config_.maxNumberOfTasksWaiting)) {
        return refuse("scheduler queue is full (" + std::to_string(counts_[TaskState::queued]) +
                      " tasks waiting)");
    }
    // Clients wait within their shares (clientShare), so only one that does not wait gets here.
    if (config_.maxQueuedTasks != 0 && tasks_.liveCount() >= config_.maxQueuedTasks) {
        return refuse("scheduler is full: " + std::to_string(tasks_.liveCount()) +
                      " unfinished tasks (--max-queued-tasks " + std::to_string(config_.maxQueuedTasks) +
                      ")");
    }
    const uint64_t bytes = task.functionName.size() + task.body.size();
    if (config_.maxQueuedBytes != 0 && tasks_.liveBodyBytes() + bytes > config_.maxQueuedBytes &&
        tasks_.liveCount() > 0) {
        return refuse("scheduler is full: unfinished tasks carry " + std::to_string(tasks_.liveBodyBytes()) +
                      " bytes and this one " + std::to_string(bytes) + " (--max-queued-bytes " +
                      std::to_string(config_.maxQueuedBytes) + ")");
    }
    const TaskIndex index = tasks_.allocate();
    TaskRecord& record = tasks_[index];
    record.clientTaskId = task.clientTaskId;
    record.client = client;
    if (!clientTaskIndex_.insert(index)) {
        tasks_.release(index);
        return refuse("duplicate task id " + std::to_string(task.clientTaskId));
    }
    record.sequence = nextSequence_++;
    record.worker = kNone;
    record.capabilitySet = task.capabilitySet;
    record.timeoutMs = task.timeoutMs;
    record.priority = task.priority;
    record.profiling = task.profiling;
    record.hasArguments = task.hasArguments;
    record.inGraph = false;
    record.keepsResult = false;
    record.waiting = false;
    record.arrivedMs = task.arrivedMs;
    record.functionNameLength = static_cast<uint16_t>(task.functionName.size());
    tasks_.setBody(index, task.functionName, task.body);
    record.state = TaskState::queued;  // born queued: the state machine starts here
    counts_.enter(TaskState::queued);
    CapabilitySetEntry& set = capabilitySets_[task.capabilitySet];
    ++set.liveTasks;
    ++set.counters.arrivals;
    if (set.eligibleWorkers.empty()) scaling_.noteUnservedDemand();
    tasks_.pushBack(clients_[client].tasks, index, &TaskRecord::clientLinks);
    enqueue(index, false);
    return index;
}

void SchedulerCore::onClientCancels(ClientSlot client, capnp::List<wire::TaskCancel>::Reader cancels) {
    for (wire::TaskCancel::Reader cancel : cancels) {
        // cancelling any node of a graph cancels the graph: what has not finished stops
        if (const GraphNodeRef* node = graphs_.findKey(client, cancel.getTaskId())) {
            cancelGraph(node->graph);
            continue;
        }
        const TaskIndex index = clientTaskIndex_.find(client, cancel.getTaskId());
        if (index == kNone) {
            outbox_.sendTaskCancelConfirm(clients_[client].peer, cancel.getTaskId(),
                                          wire::CancelConfirmKind::NOT_FOUND);
            continue;
        }
        apply(index, TaskEvent::cancel, {});
    }
}

void SchedulerCore::onTaskResults(WorkerSlot worker, capnp::List<wire::TaskResult>::Reader results) {
    for (wire::TaskResult::Reader result : results) {
        TaskRecord* record = tasks_.find(result.getTaskId());
        if (record == nullptr || record->worker != worker) {
            // e.g. a worker that was timed out and came back: its task was re-queued elsewhere
            dropMessage(workers_[worker].identity, "result for a task this worker does not hold");
            continue;
        }
        if (result.getStatus() == wire::TaskResultStatus::WORKER_DIED) {
            // the process the worker ran it in died (its Python processor): a worker death for this task
            applyTaskProcessLoss(handleIndex(result.getTaskId()), asStringView(result.getError()));
            continue;
        }
        std::string whole;
        const bool inParts = result.getTotalSize() > 0;
        if (inParts && !collectResultPart(handleIndex(result.getTaskId()), result, whole)) continue;
        TaskEvent event = TaskEvent::resultFailed;
        if (result.getStatus() == wire::TaskResultStatus::SUCCESS) event = TaskEvent::resultSucceeded;
        if (result.getStatus() == wire::TaskResultStatus::TIMED_OUT) event = TaskEvent::resultTimedOut;
        Outcome outcome{inParts ? std::string_view(whole) : asStringView(result.getPayload()),
                        asStringView(result.getError()),
                        {result.getDurationUs(), result.getCpuTimeUs(), result.getPeakRssBytes()}};
        apply(handleIndex(result.getTaskId()), event, outcome);
    }
}

bool SchedulerCore::collectResultPart(TaskIndex index, wire::TaskResult::Reader part, std::string& whole) {
    const ResultAssembly::Part next{part.getTaskId(), part.getTotalSize(), part.getOffset(),
                                    asStringView(part.getPayload()),
                                    part.getStatus() == wire::TaskResultStatus::SUCCESS};
    auto added = resultParts_.add(next, objects_.chargedBytes(), objects_.limit());
    if (!added) {
        logRefusal(workers_[tasks_[index].worker].identity, "result", added.why());
        apply(index, TaskEvent::resultFailed, Outcome{{}, added.why(), {}});
        return false;
    }
    if (!added.value()) return false;
    whole = std::move(*added.value());
    return true;
}

void SchedulerCore::onCancelConfirms(WorkerSlot worker,
                                     capnp::List<wire::TaskCancelConfirm>::Reader confirms) {
    for (wire::TaskCancelConfirm::Reader confirm : confirms) {
        TaskRecord* record = tasks_.find(confirm.getTaskId());
        if (record == nullptr || record->worker != worker) {
            dropMessage(workers_[worker].identity,
                        "cancel confirmation for a task this worker does not hold");
            continue;
        }
        if (record->pendingCancelConfirms > 0) --record->pendingCancelConfirms;
        TaskEvent event = TaskEvent::confirmCancelled;
        if (confirm.getKind() == wire::CancelConfirmKind::CANCEL_FAILED)
            event = TaskEvent::confirmCancelFailed;
        if (confirm.getKind() == wire::CancelConfirmKind::NOT_FOUND) event = TaskEvent::confirmNotFound;
        apply(handleIndex(confirm.getTaskId()), event, {});
    }
}

bool SchedulerCore::apply(TaskIndex index, TaskEvent event, const Outcome& outcome) {
    TaskRecord& record = tasks_[index];
    const TaskState from = record.state;
    const auto to = transition(from, event, {record.pendingCancelConfirms > 0});
    if (!to) {
        log::tasks().debug("task {}: event {} ignored in state {}", tasks_.handleOf(index), toString(event),
                           toString(from));
        return false;
    }
    if (isTerminal(*to)) {
        finish(index, *to, outcome);
        return true;
    }
    switch (*to) {
        case TaskState::queued:
            if (from != TaskState::queued) {
                detachFromWorker(index);
                setState(record, TaskState::queued);
                enqueue(index, true);
            }
            break;
        case TaskState::assigned:
            setState(record, TaskState::assigned);
            if (from == TaskState::cancelling && record.client != kNone) {
                outbox_.sendTaskCancelConfirm(clients_[record.client].peer, record.clientTaskId,
                                              wire::CancelConfirmKind::CANCEL_FAILED);
            }
            break;
        case TaskState::cancelling:
            if (from != TaskState::cancelling) {
                setState(record, TaskState::cancelling);
                ++record.pendingCancelConfirms;
                outbox_.sendTaskCancel(workers_[record.worker].peer, tasks_.handleOf(index), true);
            }
            break;
        case TaskState::balancing:
            setState(record, TaskState::balancing);
            ++record.pendingCancelConfirms;
            outbox_.sendTaskCancel(workers_[record.worker].peer, tasks_.handleOf(index), false);
            break;
        default:
            break;
    }
    return true;
}

void SchedulerCore::enqueue(TaskIndex index, bool front) {
    PriorityTaskQueue& queue = capabilitySets_[tasks_[index].capabilitySet].queue;
    if (front) {
        queue.pushFront(tasks_, index);
    } else {
        queue.pushBack(tasks_, index);
    }
    dispatchNeeded_ = true;
}

void SchedulerCore::detachFromWorker(TaskIndex index) {
    TaskRecord& record = tasks_[index];
    if (record.worker == kNone) return;
    workers_[record.worker].grantedObject = 0;  // checked again against the tasks it still holds
    resultParts_.drop(tasks_.handleOf(index));  // a result this worker will not finish
    WorkerRecord& worker = workers_[record.worker];
    tasks_.unlink(worker.assigned, index, &TaskRecord::queueLinks);
    if (record.waiting) {
        record.waiting = false;
        --worker.waiting;
    }
    record.worker = kNone;
    record.pendingCancelConfirms = 0;
    dispatchNeeded_ = true;
}

void SchedulerCore::finish(TaskIndex index, TaskState terminal, const Outcome& outcome) {
    TaskRecord& record = tasks_[index];
    TaskEnd end{index, terminal, outcome, outcome.payload};
    for (TaskEndObserver* observer : taskEndObservers_) observer->onTaskEnding(record, end);
    if (record.state == TaskState::queued) {
        capabilitySets_[record.capabilitySet].queue.unlink(tasks_, index);
    } else {
        detachFromWorker(index);
    }
    if (record.client != kNone) {
        ClientRecord& client = clients_[record.client];
        tasks_.unlink(client.tasks, index, &TaskRecord::clientLinks);
        clientTaskIndex_.erase(record.client, record.clientTaskId);
        if (!end.answerClient) {
            // an intermediate graph node: its result goes to its dependents only
        } else if (terminal == TaskState::cancelled) {
            outbox_.sendTaskCancelConfirm(client.peer, record.clientTaskId,
                                          wire::CancelConfirmKind::CANCELLED);
        } else {
            outbox_.sendTaskResult(client.peer, record.clientTaskId, toWireStatus(terminal),
                                   end.answerPayload, outcome.error, outcome.timings);
        }
    }
    if (record.hasArguments) releaseArgumentObjects(record.payload());
    setState(record, terminal);
    CapabilitySetEntry& set = capabilitySets_[record.capabilitySet];
    if (--set.liveTasks == 0) set.lastUsed = now_;  // idle from now: what the release pass measures
    tasks_.release(index);
    for (TaskEndObserver* observer : taskEndObservers_) observer->onTaskEnded(end);
}

void SchedulerCore::applyWorkerLoss(TaskIndex index, WorkerExit how) {
    if (how == WorkerExit::left) {
        apply(index, TaskEvent::workerLeft, {});
        return;
    }
    countWorkerDeath(index, {});
}

void SchedulerCore::applyTaskProcessLoss(TaskIndex index, std::string_view why) {
    log::tasks().warn("task {}: {}", tasks_.handleOf(index), printable(why, 400));
    countWorkerDeath(index, why);
}

void SchedulerCore::countWorkerDeath(TaskIndex index, std::string_view cause) {
    TaskRecord& record = tasks_[index];
    ++record.workerDeaths;
    const bool final = record.workerDeaths >= config_.maxTaskRetries;
    Outcome outcome;
    std::string error;
    if (final) {
        error = "the worker running this task died " + std::to_string(record.workerDeaths) +
                " times (retry limit " + std::to_string(config_.maxTaskRetries) + ")";
        if (!cause.empty()) error += "; the last time: " + printable(cause, 400);
        outcome.error = error;
        log::tasks().warn("task {} failed: {}", tasks_.handleOf(index), error);
    }
    apply(index, final ? TaskEvent::workerLostFinal : TaskEvent::workerLost, outcome);
}

}  // namespace scaler::scheduler
