#include "scaler/scheduler/routing/scheduler_core.h"

#include <algorithm>
#include <cassert>
#include <chrono>

#include <kj/exception.h>
#include <spdlog/fmt/fmt.h>

#include "scaler/common/log.h"
#include "scaler/common/printable.h"
#include "scaler/protocol/graph_plan.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/routing/task_arguments.h"
#include "scaler/scheduler/slot_allocation.h"

namespace scaler::scheduler {
namespace {

constexpr size_t kMaxBalanceMovesPerRound = 10000;
constexpr size_t kMaxMovablePerWorker = 2000;
constexpr uint64_t kLoggedDropsBeforeSampling = 20;  // then every 1,000th

std::chrono::steady_clock::duration secondsToDuration(double seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
}

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

ScalingControllerConfig scalingConfigOf(const SchedulerConfig& config) {
    return {config.policy.scaling, config.policy.parameters, config.scheduleRules,
            config.scalingIntervalSeconds, config.workerAdapterTimeoutSeconds};
}

SchedulerConfig withIncarnation(SchedulerConfig config) {
    if (config.incarnation == 0) config.incarnation = drawIncarnation();
    return config;
}

}  // namespace

SchedulerCore::SchedulerCore(SchedulerConfig config, SchedulerOutbox& outbox, TimePoint now, WallTime wallNow)
    : config_(withIncarnation(std::move(config))),
      outbox_(outbox),
      policy_(makeAllocationPolicy(config_.policy.allocate)),
      now_(now),
      startedAt_(now),
      wallNow_(wallNow),
      wallAtStart_(wallNow),
      peers_(outbox),
      nextBalance_(now + secondsToDuration(std::max(config_.loadBalanceSeconds, 0.0))),
      objects_(config_.objectMemoryLimit > 0 ? config_.objectMemoryLimit : uint64_t{4} << 30),
      scaling_(scalingConfigOf(config_), *this, outbox, now, wallNow) {}

void SchedulerCore::setNow(TimePoint now, WallTime wallNow) {
    now_ = now;
    wallNow_ = wallNow;
    scaling_.setNow(now, wallNow);
}

// ---- dispatch of incoming messages -------------------------------------------------------------------

void SchedulerCore::onMessage(std::string_view identity, wire::Message::Reader message, RoleSet allowedRoles,
                              std::string_view peerKey) {
    try {
        routeMessage(identity, message, allowedRoles, peerKey);
    } catch (const kj::Exception& e) {
        dropMessage(identity, std::string("malformed message: ") + e.getDescription().cStr());
    } catch (const std::exception& e) {
        dropMessage(identity, std::string("message could not be handled: ") + e.what());
    }
}

void SchedulerCore::routeMessage(std::string_view identity, wire::Message::Reader message,
                                 RoleSet allowedRoles, std::string_view peerKey) {
    using W = wire::Message;
    const auto which = message.which();
    if (allowedRoles != kEveryRole) {
        // checked on every message, not once per peer: a routing id can be taken over by a new connection
        const auto role = senderRole(which);
        if (role && (allowedRoles & roleBit(*role)) == 0) {
            outbox_.sendProtocolError(
                identity, wire::ProtocolErrorCode::NOT_AUTHORIZED,
                "this connection's key is not allowed to act as a " + std::string(roleName(*role)));
            return dropMessage(identity, "key not allowed to act as a " + std::string(roleName(*role)));
        }
    }
    // one lookup per message, also under CURVE, whose key check uses it
    const PeerRegistry::Entry* peer = peers_.find(identity);
    if (!peerKey.empty() && peer != nullptr && !peer->key.empty() && peer->key != peerKey) {
        outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::NOT_AUTHORIZED,
                                  "this identity was registered with another key");
        logRefusal(identity, "impersonation",
                   "a connection with key " + std::string(peerKey) +
                       " claimed an identity registered with another key");
        ++droppedMessages_;
        return;
    }
    if (which == W::CLIENT_HEARTBEAT || which == W::WORKER_HEARTBEAT ||
        which == W::WORKER_ADAPTER_HEARTBEAT) {
        if (which == W::CLIENT_HEARTBEAT) onClientHeartbeat(identity, message.getClientHeartbeat());
        if (which == W::WORKER_HEARTBEAT) onWorkerHeartbeat(identity, message.getWorkerHeartbeat());
        if (which == W::WORKER_ADAPTER_HEARTBEAT)
            onAdapterHeartbeat(identity, message.getWorkerAdapterHeartbeat());
        if (!peerKey.empty()) peers_.bindKey(identity, peerKey);  // admitted now, if it was new
        return;
    }
    if (peer == nullptr) {
        outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::NOT_REGISTERED,
                                  "send a heartbeat before other messages");
        return dropMessage(identity, "message from a peer that has not sent a heartbeat");
    }
    const auto expected = senderRole(which);
    if (!expected) {
        return dropMessage(identity, "unexpected message type " + std::to_string(static_cast<int>(which)));
    }
    if (peer->role != *expected) {
        outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::ROLE_MISMATCH,
                                  "message type not allowed for this peer's role");
        return dropMessage(identity, "message type not allowed for this peer's role");
    }
    switch (which) {
        case W::TASKS:
            clients_[peer->slot].lastSeen = now_;
            return onTasks(peer->slot, message.getTasks());
        case W::TASK_CANCELS:
            return onClientCancels(peer->slot, message.getTaskCancels());
        case W::CLIENT_DISCONNECT:
            return onClientDisconnect(peer->slot, message.getClientDisconnect());
        case W::TASK_RESULTS:
            workers_[peer->slot].lastSeen = now_;
            return onTaskResults(peer->slot, message.getTaskResults());
        case W::TASK_CANCEL_CONFIRMS:
            return onCancelConfirms(peer->slot, message.getTaskCancelConfirms());
        case W::DISCONNECT_REQUEST:
            return onWorkerDisconnectRequest(peer->slot);
        case W::TASK_WAITING:
            return onTaskWaiting(peer->slot, message.getTaskWaiting());
        case W::OBJECT_REQUEST:
            return onObjectRequest(peer->slot, message.getObjectRequest());
        case W::OBJECT_PUT:
            clients_[peer->slot].lastSeen = now_;
            return onObjectPut(peer->slot, message.getObjectPut());
        case W::OBJECT_DELETE:
            return onObjectDelete(peer->slot, message.getObjectDelete());
        case W::TASK_GRAPH:
            clients_[peer->slot].lastSeen = now_;
            return onTaskGraph(peer->slot, message.getTaskGraph());
        case W::WORKER_ADAPTER_COMMAND_RESPONSE:
            if (auto why =
                    scaling_.onAdapterResponse(peer->slot, message.getWorkerAdapterCommandResponse())) {
                dropMessage(identity, *why);
            }
            return;
        default:
            return dropMessage(identity,
                               "unexpected message type " + std::to_string(static_cast<int>(which)));
    }
}

void SchedulerCore::dropMessage(std::string_view identity, std::string_view why) {
    ++droppedMessages_;
    if (droppedMessages_ <= kLoggedDropsBeforeSampling || droppedMessages_ % 1000 == 0) {
        log::transport().warn("dropped a message from '{}': {} ({} dropped so far)", printable(identity),
                              printable(why, 200), droppedMessages_);
    }
}

void SchedulerCore::logRefusal(std::string_view identity, std::string_view kind, std::string_view text) {
    std::string key(identity);
    key += '/';
    key += kind;
    const auto heldBack = refusalLog_.admit(key, now_);
    if (!heldBack) return;
    if (*heldBack > 0) {
        log::tasks().warn("'{}': {} refused: {} ({} more like it not logged)", printable(identity), kind,
                          printable(text, 300), *heldBack);
    } else {
        log::tasks().warn("'{}': {} refused: {}", printable(identity), kind, printable(text, 300));
    }
}

bool SchedulerCore::checkVersion(std::string_view identity, uint32_t version) {
    if (version == wire::PROTOCOL_VERSION) return true;
    const std::string text = "protocol version " + std::to_string(version) +
                             " is not supported; this scheduler speaks " +
                             std::to_string(wire::PROTOCOL_VERSION);
    outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::VERSION_MISMATCH, text);
    dropMessage(identity, text);
    return false;
}

// ---- peers -------------------------------------------------------------------------------------------

std::optional<SchedulerCore::Admission> SchedulerCore::admitPeer(std::string_view identity, PeerRole role,
                                                                 uint32_t protocolVersion,
                                                                 uint64_t claimedIncarnation, bool fresh) {
    if (const PeerRegistry::Entry* peer = peers_.find(identity)) {
        if (peer->role == role) return Admission{peer->slot, false};
        outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::ROLE_MISMATCH,
                                  "this identity is registered with another role");
        dropMessage(identity, "heartbeat from an identity registered with another role");
        return std::nullopt;
    }
    if (!checkVersion(identity, protocolVersion)) return std::nullopt;
    if (claimedIncarnation != 0 && !(fresh && claimedIncarnation == config_.incarnation)) {
        // What this peer sent before went to a scheduler, or a session, that is gone. Registering it now
        // would let the messages still queued behind this heartbeat (results of old tasks, tasks this
        // scheduler never saw whole) be taken as new; it registers with a fresh session once it has dropped
        // them or before it resends them, and whatever precedes that heartbeat is refused as unregistered.
        const bool forgotten = claimedIncarnation == config_.incarnation;
        const std::string why = forgotten
                                    ? "this scheduler timed you out and forgot what you sent"
                                    : "the scheduler restarted: nothing sent to the earlier one survives";
        outbox_.sendStateLost(identity, claimedIncarnation, why + "; register again with a fresh session");
        ++stateLostAnswers_;
        // once per peer and 10 s: after a partition heals, every heartbeat it buffered arrives at once
        const auto heldBack = stateLostLog_.admit(std::string(identity), now_);
        if (heldBack) {
            log::transport().info(
                "{} '{}' knew {} (incarnation {:016x}): told to drop or resend its work and "
                "register again ({} such answers to it not logged)",
                roleName(role), printable(identity),
                forgotten ? "this scheduler before it timed it out" : "an earlier scheduler",
                claimedIncarnation, *heldBack);
        }
        return std::nullopt;
    }
    PeerRegistry::Entry& entry = peers_.add(std::string(identity), role);
    const auto admit = [&](auto& records, std::vector<uint32_t>& freeSlots, size_t& count) {
        const uint32_t slot = takeSlot(records, freeSlots);
        records[slot].identity = std::string(identity);
        records[slot].live = true;
        records[slot].peer = entry.peer;
        ++count;
        return slot;
    };
    switch (role) {
        case PeerRole::client:
            entry.slot = admit(clients_, freeClientSlots_, clientCount_);
            break;
        case PeerRole::worker:
            entry.slot = admit(workers_, freeWorkerSlots_, workerCount_);
            break;
        case PeerRole::adapter:
            entry.slot = scaling_.addAdapter(std::string(identity), entry.peer);
            break;
    }
    return Admission{entry.slot, true};
}

void SchedulerCore::onAdapterHeartbeat(std::string_view identity,
                                       wire::WorkerAdapterHeartbeat::Reader heartbeat) {
    const auto admission = admitPeer(identity, PeerRole::adapter, heartbeat.getProtocolVersion(),
                                     heartbeat.getSchedulerIncarnation(), heartbeat.getFreshSession());
    if (admission) scaling_.onAdapterHeartbeat(admission->slot, heartbeat);
}

void SchedulerCore::onClientHeartbeat(std::string_view identity, wire::ClientHeartbeat::Reader heartbeat) {
    const auto admission = admitPeer(identity, PeerRole::client, heartbeat.getProtocolVersion(),
                                     heartbeat.getSchedulerIncarnation(), heartbeat.getFreshSession());
    if (!admission) return;
    ClientRecord& client = clients_[admission->slot];
    if (admission->isNew)
        log::tasks().info("client '{}' connected ({} clients)", printable(identity), clientCount_);
    client.lastSeen = now_;
    outbox_.sendClientHeartbeatEcho(client.peer);
}

void SchedulerCore::onWorkerHeartbeat(std::string_view identity, wire::WorkerHeartbeat::Reader heartbeat) {
    if (std::string problem = wireCapabilitiesProblem(heartbeat.getCapabilities()); !problem.empty()) {
        if (peers_.find(identity) == nullptr)  // a connected worker's later heartbeats are not read for these
            return dropMessage(identity, "worker heartbeat refused: " + problem);
    }
    const auto admission = admitPeer(identity, PeerRole::worker, heartbeat.getProtocolVersion(),
                                     heartbeat.getSchedulerIncarnation(), heartbeat.getFreshSession());
    if (!admission) return;
    WorkerRecord& worker = workers_[admission->slot];
    if (admission->isNew) {
        worker.capabilities = capabilitiesFromWire(heartbeat.getCapabilities());
        worker.queueSize = std::max<uint32_t>(1, heartbeat.getQueueSize());
        worker.adapterId = std::string(asStringView(heartbeat.getAdapterId()));
        worker.workerGroupId = std::string(asStringView(heartbeat.getWorkerGroupId()));
        worker.acceptingTasks = !scaling_.groupDraining(worker.adapterId, worker.workerGroupId);
        scaling_.noteGroupWorkerConnected(worker.adapterId, worker.workerGroupId);
        log::tasks().info("worker '{}' connected: capabilities '{}', queue size {} ({} workers)",
                          printable(identity), formatCapabilities(worker.capabilities), worker.queueSize,
                          workerCount_);
        refreshAllEligibility();
        dispatchNeeded_ = true;
        // a new worker is the imbalance balancing waits for: its share of the queued work moves at the next
        // tick instead of after the usual confirmations (at most every 100 ms while many join)
        if (config_.loadBalanceSeconds > 0) {
            nextBalance_ = std::min(nextBalance_, now_ + std::chrono::milliseconds(100));
            balanceStreak_ = std::max(balanceStreak_, config_.loadBalanceTriggerTimes - 1);
        }
    }
    worker.lastSeen = now_;
    worker.reportedQueued = heartbeat.getQueuedTasks();
    worker.reportedRunning = heartbeat.getRunningTasks();
    worker.reportedCompleted = heartbeat.getCompletedTasks();
    worker.resource = {heartbeat.getResource().getCpuPermille(), heartbeat.getResource().getRssBytes()};
    noteWorkerMemory(worker, heartbeat.getMemoryLimitBytes());
    worker.pid = heartbeat.getPid();
    worker.hostname = std::string(asStringView(heartbeat.getHostname()));
    worker.objectsFetched = heartbeat.getObjectsFetched();
    worker.objectBytesFetched = heartbeat.getObjectBytesFetched();
    worker.objectCacheBytes = heartbeat.getObjectCacheBytes();
    outbox_.sendWorkerHeartbeatEcho(worker.peer);
}

void SchedulerCore::noteWorkerMemory(WorkerRecord& worker, uint64_t limit) {
    worker.memoryLimit = limit;
    if (limit == 0) return;
    const double used = static_cast<double>(worker.resource.rssBytes) / static_cast<double>(limit);
    // hysteresis: a worker hovering at the edge is not switched on and off every heartbeat
    const bool full = worker.memoryFull ? used >= 0.8 : used >= 0.9;
    if (full == worker.memoryFull) return;
    worker.memoryFull = full;
    if (full) {
        log::tasks().warn(
            "worker '{}' is near its memory limit ({} of {}): no new tasks until it is under 80%",
            printable(worker.identity), formatBytes(worker.resource.rssBytes), formatBytes(limit));
    } else {
        log::tasks().info(
            "worker '{}' is back under 80% of its memory limit ({} of {}): it takes tasks again",
            printable(worker.identity), formatBytes(worker.resource.rssBytes), formatBytes(limit));
        dispatchNeeded_ = true;
    }
}

void SchedulerCore::removeClient(ClientSlot slot, std::string_view why) {
    ClientRecord& client = clients_[slot];
    log::tasks().info("client '{}' {}; cancelling its {} tasks", printable(client.identity), why,
                      client.tasks.size);
    for (uint32_t graph : graphs_.graphsOf(slot)) dropGraph(graph);
    while (!client.tasks.empty()) {
        const TaskIndex index = client.tasks.head;
        TaskRecord& record = tasks_[index];
        tasks_.unlink(client.tasks, index, &TaskRecord::clientLinks);
        clientTaskIndex_.erase(slot, record.clientTaskId);
        record.client = kNone;  // nobody to answer; a running task is still stopped on its worker
        apply(index, TaskEvent::cancel, {});
    }
    if (const size_t freed = objects_.removeClient(slot)) {
        log::tasks().info("client '{}': {} objects deleted ({} now in the store)", printable(client.identity),
                          freed, formatBytes(objects_.bytes()));
    }
    peers_.release(client.identity);
    client = ClientRecord{};
    capabilitySets_.forgetClient(slot);
    freeClientSlots_.push_back(slot);
    --clientCount_;
}

void SchedulerCore::removeWorker(WorkerSlot slot, WorkerExit how, std::string_view why) {
    WorkerRecord& worker = workers_[slot];
    log::tasks().log(how == WorkerExit::died ? spdlog::level::warn : spdlog::level::info,
                     "worker '{}' {}; {} of its tasks go back to the queue or end",
                     printable(worker.identity), why, worker.assigned.size);
    worker.live = false;
    while (!worker.assigned.empty()) {
        // newest first, each pushed to the front of its queue, so the oldest runs first again
        const TaskIndex index = worker.assigned.tail;
        applyWorkerLoss(index, how);
        if (tasks_[index].live && tasks_[index].worker == slot) {
            // cannot happen: every state with a worker handles loss; stay safe rather than loop forever
            log::tasks().error("task {} stuck on removed worker; failing it", tasks_.handleOf(index));
            finish(index, TaskState::failed, {{}, "internal error: task stuck on a removed worker", {}});
        }
    }
    peers_.release(worker.identity);
    worker = WorkerRecord{};
    freeWorkerSlots_.push_back(slot);
    --workerCount_;
    refreshAllEligibility();
    dispatchNeeded_ = true;
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

void SchedulerCore::onWorkerDisconnectRequest(WorkerSlot slot) {
    outbox_.sendDisconnectResponse(workers_[slot].peer);
    removeWorker(slot, WorkerExit::left, "disconnected");
}

void SchedulerCore::onTaskWaiting(WorkerSlot slot, wire::TaskWaiting::Reader waiting) {
    TaskRecord* record = tasks_.find(waiting.getTaskId());
    if (record == nullptr || record->worker != slot) {
        return dropMessage(workers_[slot].identity, "waiting notice for a task this worker does not hold");
    }
    if (record->waiting == waiting.getWaiting()) return;
    record->waiting = waiting.getWaiting();
    if (record->waiting) {
        ++workers_[slot].waiting;  // its slot is lent to the next task until it stops waiting
        dispatchNeeded_ = true;
    } else {
        --workers_[slot].waiting;
    }
}

void SchedulerCore::onClientDisconnect(ClientSlot slot, wire::ClientDisconnect::Reader request) {
    ClientRecord& client = clients_[slot];
    if (request.getKind() == wire::ClientDisconnectKind::SHUTDOWN) {
        if (config_.protectedMode) {
            log::tasks().warn("client '{}' asked to shut down the scheduler; refused (--protected)",
                              client.identity);
            outbox_.sendClientShutdownResponse(client.peer, false);
            return;
        }
        log::tasks().warn("client '{}' asked to shut down the scheduler; shutting down workers and scheduler",
                          client.identity);
        outbox_.sendClientShutdownResponse(client.peer, true);
        for (const WorkerRecord& worker : workers_) {
            if (worker.live) outbox_.sendSchedulerShutdown(worker.peer);
        }
        shutdownRequested_ = true;
    }
    removeClient(slot, "disconnected");
}

// ---- tasks -------------------------------------------------------------------------------------------

void SchedulerCore::setState(TaskRecord& record, TaskState state) {
    if (record.state == state) return;
    counts_.move(record.state, state);
    record.state = state;
}

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
    std::string why;
    for (wire::Task::Reader task : tasks) {
        const uint64_t clientTaskId = task.getTaskId();
        // Every read of the message that can throw (a malformed pointer) happens before any state changes, so
        // a bad task cannot leave a half-made record behind (found by the fuzzer).
        NewTask fields;
        if (auto problem = checkTask(client, task, previousSet, fields)) {
            rejectTask(client, clientTaskId, *problem);
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
            if (auto error = encodeArguments(client, task.getArgs(), nullptr, encoded)) {
                rejectTask(client, clientTaskId, *error);
                continue;
            }
            fields.body = encoded;
            fields.hasArguments = true;
        }
        const TaskIndex index = createTask(client, fields, why);
        if (index == kNone) {
            if (fields.hasArguments) releaseArgumentObjects(encoded);
            rejectTask(client, clientTaskId, why);
            continue;
        }
        if (resultObjectId != 0) {
            tasks_[index].keepsResult = true;
            keptResultOf_[index] = resultObjectId;
        }
    }
}

std::optional<std::string> SchedulerCore::checkTask(ClientSlot client, wire::Task::Reader task,
                                                    CapabilitySetId& previous, NewTask& fields) {
    fields.functionName = asStringView(task.getFunctionName());
    if (fields.functionName.empty() || fields.functionName.size() > 0xffff) {
        return "function name must be 1 to 65535 bytes";
    }
    const int32_t priority = task.getPriority();
    if (priority < INT16_MIN || priority > INT16_MAX) {
        return "priority " + std::to_string(priority) + " is not in -32768..32767";
    }
    fields.priority = static_cast<int16_t>(priority);
    fields.timeoutMs = task.getTimeoutMs();
    fields.profiling = task.getProfiling();
    fields.capabilitySet = 0;
    if (task.getCapabilities().size() == 0) return std::nullopt;
    if (sameCapabilities(task.getCapabilities(), capabilitySets_[previous].capabilities)) {
        fields.capabilitySet = previous;
        return std::nullopt;
    }
    if (std::string problem = wireCapabilitiesProblem(task.getCapabilities()); !problem.empty())
        return problem;
    const size_t before = capabilitySets_.liveSets();
    CapabilitySetRegistry::Refusal refusal;
    const auto interned =
        capabilitySets_.intern(capabilitiesFromWire(task.getCapabilities()), client, now_, refusal);
    if (refusal == CapabilitySetRegistry::Refusal::full) {
        return "too many distinct capability sets in the scheduler (" +
               std::to_string(CapabilitySetRegistry::kMaxSets) + "; one no task used for " +
               std::to_string(kCapabilitySetIdleRelease.count()) + " s is freed)";
    }
    if (refusal == CapabilitySetRegistry::Refusal::clientFull) {
        return "this client brought " + std::to_string(CapabilitySetRegistry::kMaxSetsPerClient) +
               " distinct capability sets already";
    }
    if (capabilitySets_.liveSets() != before) refreshEligibility(*interned);
    fields.capabilitySet = previous = *interned;
    return std::nullopt;
}

TaskIndex SchedulerCore::createTask(ClientSlot client, const NewTask& task, std::string& why) {
    if (config_.maxNumberOfTasksWaiting >= 0 &&
        counts_[TaskState::queued] >= static_cast<uint64_t>(config_.maxNumberOfTasksWaiting)) {
        why = "scheduler queue is full (" + std::to_string(counts_[TaskState::queued]) + " tasks waiting)";
        return kNone;
    }
    const TaskIndex index = tasks_.allocate();
    TaskRecord& record = tasks_[index];
    record.clientTaskId = task.clientTaskId;
    record.client = client;
    if (!clientTaskIndex_.insert(index)) {
        tasks_.release(index);
        why = "duplicate task id " + std::to_string(task.clientTaskId);
        return kNone;
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
    record.body.assign(task.functionName, task.body);
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
        std::optional<std::string> whole;
        if (result.getTotalSize() > 0) {
            whole = collectResultPart(handleIndex(result.getTaskId()), result);
            if (!whole) continue;
        }
        TaskEvent event = TaskEvent::resultFailed;
        if (result.getStatus() == wire::TaskResultStatus::SUCCESS) event = TaskEvent::resultSucceeded;
        if (result.getStatus() == wire::TaskResultStatus::TIMED_OUT) event = TaskEvent::resultTimedOut;
        Outcome outcome{whole ? std::string_view(*whole) : asStringView(result.getPayload()),
                        asStringView(result.getError()),
                        {result.getDurationUs(), result.getCpuTimeUs(), result.getPeakRssBytes()}};
        apply(handleIndex(result.getTaskId()), event, outcome);
    }
}

std::optional<std::string> SchedulerCore::collectResultPart(TaskIndex index, wire::TaskResult::Reader part) {
    const uint64_t handle = part.getTaskId();
    const uint64_t total = part.getTotalSize();
    const auto data = asStringView(part.getPayload());
    auto found = resultParts_.find(handle);
    const uint64_t have = found == resultParts_.end() ? 0 : found->second.size();
    std::string problem;
    if (part.getStatus() != wire::TaskResultStatus::SUCCESS) {
        problem = "a failed result sent in parts";
    } else if (part.getOffset() != have || data.size() > total - have ||
               (found != resultParts_.end() && found->second.capacity() < total)) {
        problem = "a result part out of order (offset " + std::to_string(part.getOffset()) + ", expected " +
                  std::to_string(have) + ")";
    } else if (found == resultParts_.end() &&
               (total > objects_.limit() ||
                resultPartBytes_ + objects_.chargedBytes() > objects_.limit() - total)) {
        problem = "the task's result of " + formatBytes(total) +
                  " does not fit in the scheduler's object store (" + formatBytes(objects_.limit()) +
                  ", --object-memory-limit)";
    }
    if (!problem.empty()) {
        if (found != resultParts_.end()) {
            resultPartBytes_ -= found->second.capacity();
            resultParts_.erase(found);
        }
        logRefusal(workers_[tasks_[index].worker].identity, "result", problem);
        apply(index, TaskEvent::resultFailed, Outcome{{}, problem, {}});
        return std::nullopt;
    }
    if (found == resultParts_.end()) {
        found = resultParts_.try_emplace(handle).first;
        found->second.reserve(total);
        resultPartBytes_ += found->second.capacity();
    }
    found->second.append(data);
    if (found->second.size() < total) return std::nullopt;
    std::string whole = std::move(found->second);
    resultPartBytes_ -= whole.capacity();
    resultParts_.erase(found);
    return whole;
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

void SchedulerCore::assign(TaskIndex index, WorkerSlot slot) {
    TaskRecord& record = tasks_[index];
    WorkerRecord& worker = workers_[slot];
    CapabilitySetEntry& set = capabilitySets_[record.capabilitySet];
    if (set.liveTasks == set.queue.size()) set.busySince = now_;  // the first of its tasks on a worker
    set.queue.unlink(tasks_, index);
    tasks_.pushBack(worker.assigned, index, &TaskRecord::queueLinks);
    record.worker = slot;
    // dispatch takes only queued tasks, which the table lets `assign`; checked in debug builds, free in
    // release
    assert(transition(record.state, TaskEvent::assign) == TaskState::assigned);
    setState(record, TaskState::assigned);
    worker.lastAssignSequence = record.sequence;
    outbox_.sendTask(worker.peer, tasks_.handleOf(index), record.body.size());
}

void SchedulerCore::detachFromWorker(TaskIndex index) {
    TaskRecord& record = tasks_[index];
    if (record.worker == kNone) return;
    workers_[record.worker].grantedObject = 0;  // checked again against the tasks it still holds
    if (!resultParts_.empty()) {  // the parts of a result that will not be finished by this worker
        if (auto found = resultParts_.find(tasks_.handleOf(index)); found != resultParts_.end()) {
            resultPartBytes_ -= found->second.capacity();
            resultParts_.erase(found);
        }
    }
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
    const uint64_t durationUs = outcome.timings.durationUs;
    TaskRecord& record = tasks_[index];
    if (record.worker != kNone && terminal != TaskState::cancelled) {
        noteInTaskStream(record, terminal, durationUs);
        capabilitySets_[record.capabilitySet].lastFinishAt = now_;
    }
    if (record.state == TaskState::queued) {
        capabilitySets_[record.capabilitySet].queue.unlink(tasks_, index);
    } else {
        detachFromWorker(index);
    }
    std::string_view payload = outcome.payload;
    GraphNodeRef graphNode;
    bool toClient = true;
    if (record.inGraph) {
        const auto found = graphNodeOfTask_.find(index);
        if (found != graphNodeOfTask_.end()) {
            graphNode = found->second;
            graphNodeOfTask_.erase(found);
            toClient = graphs_[graphNode.graph].nodes[graphNode.node].output;
        }
    }
    if (record.keepsResult) {
        const auto found = keptResultOf_.find(index);
        if (found != keptResultOf_.end()) {
            if (terminal == TaskState::succeeded && record.client != kNone) {
                objects_.store(record.client, found->second,
                               "result of task " + std::to_string(record.clientTaskId), payload);
                if (objects_.bytes() > objects_.limit()) {
                    log::tasks().warn("object store past its limit with a kept result: {} of {}",
                                      formatBytes(objects_.bytes()), formatBytes(objects_.limit()));
                }
                payload = {};
            }
            keptResultOf_.erase(found);
        }
    }
    if (record.client != kNone) {
        ClientRecord& client = clients_[record.client];
        tasks_.unlink(client.tasks, index, &TaskRecord::clientLinks);
        clientTaskIndex_.erase(record.client, record.clientTaskId);
        if (!toClient) {
            // an intermediate graph node: its result goes to its dependents only
        } else if (terminal == TaskState::cancelled) {
            outbox_.sendTaskCancelConfirm(client.peer, record.clientTaskId,
                                          wire::CancelConfirmKind::CANCELLED);
        } else {
            outbox_.sendTaskResult(client.peer, record.clientTaskId, toWireStatus(terminal), payload,
                                   outcome.error, outcome.timings);
        }
    }
    if (record.hasArguments) releaseArgumentObjects(record.payload());
    setState(record, terminal);
    CapabilitySetEntry& set = capabilitySets_[record.capabilitySet];
    if (--set.liveTasks == 0) set.lastUsed = now_;  // idle from now: what the release pass measures
    if (durationUs > 0) {
        ++set.counters.timedRuns;
        set.counters.runSeconds += static_cast<double>(durationUs) / 1e6;
    }
    ++set.finished[std::min<size_t>(static_cast<size_t>(terminal) - static_cast<size_t>(TaskState::succeeded),
                                    set.finished.size() - 1)];
    const auto nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(now_ - startedAt_).count();
    taskLatency_.observe(static_cast<double>(static_cast<uint32_t>(nowMs) - record.arrivedMs) / 1000.0);
    tasks_.release(index);
    if (graphNode.graph != kNone) {
        onGraphNodeFinished(graphNode, terminal, std::string(outcome.error), outcome.payload);
    }
}

void SchedulerCore::noteInTaskStream(const TaskRecord& record, TaskState terminal, uint64_t durationUs) {
    const auto endMs = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(wallNow_.time_since_epoch()).count());
    if (!taskStream_.wants(endMs)) return;
    taskStream_.record(workers_[record.worker].identity, record.functionName(),
                       endMs - std::min(endMs, durationUs / 1000), endMs, toString(terminal));
}

// ---- placement ---------------------------------------------------------------------------------------

void SchedulerCore::refreshEligibility(CapabilitySetId set) {
    CapabilitySetEntry& entry = capabilitySets_[set];
    entry.eligibleWorkers.clear();
    if (!entry.live) return;
    for (WorkerSlot w = 0; w < workers_.size(); ++w) {
        if (workers_[w].live && policy_->canRun(entry.capabilities, workers_[w].capabilities)) {
            entry.eligibleWorkers.push_back(w);
        }
    }
}

void SchedulerCore::refreshAllEligibility() {
    for (CapabilitySetId set = 0; set < capabilitySets_.size(); ++set) refreshEligibility(set);
}

void SchedulerCore::collectFillCandidates(CapabilitySetId set) {
    fillCandidates_.clear();
    const bool bestFit = policy_->bestFit();
    for (WorkerSlot w : capabilitySets_[set].eligibleWorkers) {
        const WorkerRecord& worker = workers_[w];
        const uint32_t limit = worker.queueSize + worker.waiting;
        if (!worker.takesNewTasks() || worker.assigned.size >= limit) continue;
        fillCandidates_.push_back({w, bestFit ? static_cast<uint32_t>(worker.capabilities.size()) : 0,
                                   worker.assigned.size, limit - worker.assigned.size,
                                   worker.lastAssignSequence});
    }
}

// Short tasks go out in chunks of about a millisecond of work (at most 256 tasks), so frames stay large as
// workers grow; long tasks, and tasks of a set none of which has finished yet, are spread one by one.
uint32_t SchedulerCore::minChunkOf(CapabilitySetId set) const {
    constexpr double kChunkWorkSeconds = 0.001;
    constexpr double kMaxChunk = 256;
    const DemandCounters& counters = capabilitySets_[set].counters;
    if (counters.timedRuns == 0) return 1;
    const double mean = std::max(counters.runSeconds / static_cast<double>(counters.timedRuns), 1e-9);
    return static_cast<uint32_t>(std::clamp(kChunkWorkSeconds / mean, 1.0, kMaxChunk));
}

// How many tasks from the head of `set`'s queue run before the head of `rival` (kNone: no rival), at most
// `limit`; only the head's priority level is walked, the next round takes the rest.
uint64_t SchedulerCore::leadingRun(CapabilitySetId set, CapabilitySetId rival, uint64_t limit) const {
    const PriorityTaskQueue& queue = capabilitySets_[set].queue;
    const bool bounded =
        rival != kNone && capabilitySets_[rival].queue.headPriority() == queue.headPriority();
    const uint64_t rivalSequence = bounded ? tasks_[capabilitySets_[rival].queue.head()].sequence : 0;
    uint64_t run = 0;
    for (TaskIndex i = queue.head(); i != kNone && run < limit; i = tasks_[i].queueLinks.next) {
        if (bounded && tasks_[i].sequence > rivalSequence) break;
        ++run;
    }
    return run;
}

void SchedulerCore::dispatch() {
    scaling_.evaluateIfUrgent();
    if (!dispatchNeeded_) return;
    dispatchNeeded_ = false;
    if (counts_[TaskState::queued] == 0 || workerCount_ == 0) return;
    setBlocked_.assign(capabilitySets_.size(), 0);
    const auto before = [&](CapabilitySetId a, CapabilitySetId b) {  // does a's head run before b's?
        const PriorityTaskQueue& qa = capabilitySets_[a].queue;
        const PriorityTaskQueue& qb = capabilitySets_[b].queue;
        if (qa.headPriority() != qb.headPriority()) return qa.headPriority() > qb.headPriority();
        return tasks_[qa.head()].sequence < tasks_[qb.head()].sequence;
    };
    for (;;) {
        // among sets some worker can still take, the one whose next task has the highest priority, then
        // arrived first; the runner-up bounds how many of its tasks go in this round
        CapabilitySetId next = kNone, rival = kNone;
        for (CapabilitySetId set = 0; set < capabilitySets_.size(); ++set) {
            if (setBlocked_[set] || capabilitySets_[set].queue.empty()) continue;
            if (next == kNone || before(set, next)) {
                rival = next;
                next = set;
            } else if (rival == kNone || before(set, rival)) {
                rival = set;
            }
        }
        if (next == kNone) return;
        collectFillCandidates(next);
        if (fillCandidates_.empty()) {
            setBlocked_[next] = 1;
            continue;
        }
        uint64_t room = 0;
        for (const FillCandidate& c : fillCandidates_) room += c.room;
        PriorityTaskQueue& queue = capabilitySets_[next].queue;
        const uint64_t run = leadingRun(next, rival, room);
        if (run == 1) {  // the common case of a trickle: no plan, just the first in fill order
            const auto first = std::min_element(fillCandidates_.begin(), fillCandidates_.end(), fillsFirst);
            assign(queue.head(), first->worker);
            continue;
        }
        for (const FillShare& share : planFill(fillCandidates_, run, minChunkOf(next))) {
            for (uint32_t i = 0; i < share.tasks; ++i) assign(queue.head(), share.worker);
        }
    }
}

// ---- timers ------------------------------------------------------------------------------------------

void SchedulerCore::onTick() {
    const auto clientTimeout = secondsToDuration(config_.clientTimeoutSeconds);
    for (ClientSlot c = 0; c < clients_.size(); ++c) {
        if (clients_[c].live && now_ - clients_[c].lastSeen > clientTimeout) {
            removeClient(
                c, "timed out (no heartbeat for " + fmt::format("{}", config_.clientTimeoutSeconds) + " s)");
        }
    }
    const auto workerTimeout = secondsToDuration(config_.workerTimeoutSeconds);
    for (WorkerSlot w = 0; w < workers_.size(); ++w) {
        if (workers_[w].live && now_ - workers_[w].lastSeen > workerTimeout) {
            removeWorker(
                w, WorkerExit::died,
                "timed out (no heartbeat for " + fmt::format("{}", config_.workerTimeoutSeconds) + " s)");
        }
    }
    // an upload that stopped for as long as a silent client would be dropped is abandoned
    if (const size_t expired = objects_.expireStalledUploads(now_, clientTimeout)) {
        log::tasks().warn("dropped {} object uploads that received nothing for {} s", expired,
                          config_.clientTimeoutSeconds);
    }
    scaling_.onTick();
    if (now_ >= nextSetRelease_) {
        nextSetRelease_ = now_ + kCapabilitySetReleaseInterval;
        releaseIdleCapabilitySets();
    }
    if (config_.loadBalanceSeconds > 0 && now_ >= nextBalance_) {
        nextBalance_ = now_ + secondsToDuration(config_.loadBalanceSeconds);
        balance();
    }
}

void SchedulerCore::releaseIdleCapabilitySets() {
    // sets of graph nodes still waiting stay: the node becomes a task of its set later
    std::vector<uint8_t> referenced;
    if (graphs_.liveGraphs() > 0) graphs_.markCapabilitySets(referenced);
    const auto released = capabilitySets_.releaseIdle(now_ - kCapabilitySetIdleRelease, referenced);
    for (CapabilitySetId set : released) scaling_.forgetCapabilitySet(set);
    if (!released.empty()) {
        log::tasks().info("released {} capability sets no task used for {} s ({} remain)", released.size(),
                          kCapabilitySetIdleRelease.count(), capabilitySets_.liveSets());
    }
}

void SchedulerCore::balance() {
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
                view.movable.push_back({i, &capabilitySets_[tasks_[i].capabilitySet].capabilities});
            }
        }
        snapshot.push_back(std::move(view));
    }
    const std::vector<TaskMove> moves = planBalance(*policy_, std::move(snapshot), kMaxBalanceMovesPerRound);
    if (moves.empty()) {
        balanceStreak_ = 0;
        return;
    }
    if (++balanceStreak_ < config_.loadBalanceTriggerTimes) return;
    balanceStreak_ = 0;
    log::tasks().info("balancing: asking workers to give back {} queued tasks for idle workers",
                      moves.size());
    for (const TaskMove& move : moves) apply(move.task, TaskEvent::balance, {});
}

// ---- TaskRouterPort ----------------------------------------------------------------------------------

std::vector<RoutedDemand> SchedulerCore::demand() const {
    std::vector<RoutedDemand> rows;
    rows.reserve(capabilitySets_.size());
    for (CapabilitySetId set = 0; set < capabilitySets_.size(); ++set) {
        const CapabilitySetEntry& entry = capabilitySets_[set];
        if (!entry.live) continue;
        double runningAtLeast = 0;
        if (entry.liveTasks > entry.queue.size()) {
            runningAtLeast =
                std::chrono::duration<double>(now_ - std::max(entry.busySince, entry.lastFinishAt)).count();
        }
        // finished: succeeded, failed, cancelled, workerDied, timedOut and later
        const uint64_t badly = entry.finished[1] + entry.finished[3] + entry.finished[4];
        rows.push_back({set, &entry.capabilities, entry.liveTasks, entry.queue.size(), &entry.counters,
                        std::max(0.0, runningAtLeast), entry.finished[0] + badly, badly});
    }
    return rows;
}

std::vector<RoutedWorker> SchedulerCore::workers() const {
    std::vector<RoutedWorker> rows;
    rows.reserve(workerCount_);
    for (const WorkerRecord& worker : workers_) {
        if (!worker.live) continue;
        // a worker near its memory limit is no supply: the set it serves needs more
        rows.push_back({worker.identity, &worker.capabilities, worker.assigned.size, worker.adapterId,
                        worker.workerGroupId, worker.takesNewTasks()});
    }
    return rows;
}

void SchedulerCore::drainGroup(std::string_view adapterId, std::string_view groupId) {
    // Stop assigning to its workers and hand back what they have not started.
    for (WorkerRecord& worker : workers_) {
        if (!worker.live || worker.adapterId != adapterId || worker.workerGroupId != groupId) continue;
        worker.acceptingTasks = false;
        for (TaskIndex i = worker.assigned.tail; i != kNone && i != worker.assigned.head;) {
            const TaskIndex previous = tasks_[i].queueLinks.prev;
            if (tasks_[i].state == TaskState::assigned) apply(i, TaskEvent::balance, {});
            i = previous;
        }
    }
}

uint64_t SchedulerCore::stopServing(std::string_view why) {
    for (const ClientRecord& client : clients_) {
        if (client.live) outbox_.sendSchedulerStopping(client.peer, why);
    }
    for (const WorkerRecord& worker : workers_) {
        if (worker.live) outbox_.sendSchedulerStopping(worker.peer, why);
    }
    return counts_[TaskState::assigned] + counts_[TaskState::balancing] + counts_[TaskState::cancelling];
}

void SchedulerCore::onConnectionClosed(std::string_view identity) {
    removeDeadWorker(identity, "lost its connection (its process exited or the network dropped it)");
}

size_t SchedulerCore::rejectQueuedWithoutWorker(CapabilitySetId set, const std::string& why) {
    if (set >= capabilitySets_.size() || !capabilitySets_[set].eligibleWorkers.empty()) return 0;
    size_t rejected = 0;
    Outcome outcome;
    outcome.error = why;
    for (TaskIndex index = capabilitySets_[set].queue.head(); index != kNone;
         index = capabilitySets_[set].queue.head()) {
        finish(index, TaskState::rejected, outcome);
        ++rejected;
    }
    return rejected;
}

void SchedulerCore::removeDeadWorker(std::string_view identity, const std::string& why) {
    const PeerRegistry::Entry* peer = peers_.find(identity);
    if (peer != nullptr && peer->role == PeerRole::worker) removeWorker(peer->slot, WorkerExit::died, why);
}

}  // namespace scaler::scheduler
