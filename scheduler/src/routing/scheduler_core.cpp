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
      peerTable_(outbox, refusals_, config_.incarnation),
      clients_(peerTable_.clients()),
      workers_(peerTable_.workers()),
      objects_(config_.objectMemoryLimit > 0 ? config_.objectMemoryLimit : uint64_t{4} << 30),
      dispatcher_(*policy_, {config_.loadBalanceSeconds, config_.loadBalanceTriggerTimes}, tasks_,
                  capabilitySets_, workers_, counts_, outbox, now),
      statistics_(capabilitySets_, workers_, now),
      scaling_(scalingConfigOf(config_), *this, outbox, now, wallNow) {}

void SchedulerCore::setNow(TimePoint now, WallTime wallNow) {
    now_ = now;
    wallNow_ = wallNow;
    statistics_.setNow(now, wallNow);
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
    // one lookup per message, also under CURVE, whose key check uses it
    const PeerRegistry::Entry* peer = peerTable_.find(identity);
    if (!senderMayAct(identity, which, allowedRoles, peerKey, peer)) return;
    if (which == W::CLIENT_HEARTBEAT || which == W::WORKER_HEARTBEAT ||
        which == W::WORKER_ADAPTER_HEARTBEAT) {
        if (which == W::CLIENT_HEARTBEAT) onClientHeartbeat(identity, message.getClientHeartbeat());
        if (which == W::WORKER_HEARTBEAT) onWorkerHeartbeat(identity, message.getWorkerHeartbeat());
        if (which == W::WORKER_ADAPTER_HEARTBEAT)
            onAdapterHeartbeat(identity, message.getWorkerAdapterHeartbeat());
        if (!peerKey.empty()) peerTable_.bindKey(identity, peerKey);  // admitted now, if it was new
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
    handleFromPeer(identity, peer->slot, message);
}

bool SchedulerCore::senderMayAct(std::string_view identity, wire::Message::Which which, RoleSet allowedRoles,
                                 std::string_view peerKey, const PeerRegistry::Entry* peer) {
    if (allowedRoles != kEveryRole) {
        // checked on every message, not once per peer: a routing id can be taken over by a new connection
        const auto role = senderRole(which);
        if (role && (allowedRoles & roleBit(*role)) == 0) {
            outbox_.sendProtocolError(
                identity, wire::ProtocolErrorCode::NOT_AUTHORIZED,
                "this connection's key is not allowed to act as a " + std::string(roleName(*role)));
            dropMessage(identity, "key not allowed to act as a " + std::string(roleName(*role)));
            return false;
        }
    }
    if (!peerKey.empty() && peer != nullptr && !peer->key.empty() && peer->key != peerKey) {
        outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::NOT_AUTHORIZED,
                                  "this identity was registered with another key");
        logRefusal(identity, "impersonation",
                   "a connection with key " + std::string(peerKey) +
                       " claimed an identity registered with another key");
        refusals_.countDrop();
        return false;
    }
    return true;
}

void SchedulerCore::handleFromPeer(std::string_view identity, uint32_t slot, wire::Message::Reader message) {
    using W = wire::Message;
    const auto which = message.which();
    switch (which) {
        case W::TASKS:
            clients_[slot].lastSeen = now_;
            return onTasks(slot, message.getTasks());
        case W::TASK_CANCELS:
            return onClientCancels(slot, message.getTaskCancels());
        case W::CLIENT_DISCONNECT:
            return onClientDisconnect(slot, message.getClientDisconnect());
        case W::TASK_RESULTS:
            workers_[slot].lastSeen = now_;
            return onTaskResults(slot, message.getTaskResults());
        case W::TASK_CANCEL_CONFIRMS:
            return onCancelConfirms(slot, message.getTaskCancelConfirms());
        case W::DISCONNECT_REQUEST:
            return onWorkerDisconnectRequest(slot);
        case W::TASK_WAITING:
            return onTaskWaiting(slot, message.getTaskWaiting());
        case W::OBJECT_REQUEST:
            return onObjectRequest(slot, message.getObjectRequest());
        case W::OBJECT_PUT:
            clients_[slot].lastSeen = now_;
            return onObjectPut(slot, message.getObjectPut());
        case W::OBJECT_DELETE:
            return onObjectDelete(slot, message.getObjectDelete());
        case W::TASK_GRAPH:
            clients_[slot].lastSeen = now_;
            return onTaskGraph(slot, message.getTaskGraph());
        case W::WORKER_ADAPTER_COMMAND_RESPONSE:
            if (auto taken = scaling_.onAdapterResponse(slot, message.getWorkerAdapterCommandResponse());
                !taken) {
                dropMessage(identity, taken.why());
            }
            return;
        default:
            return dropMessage(identity,
                               "unexpected message type " + std::to_string(static_cast<int>(which)));
    }
}

// ---- peers -------------------------------------------------------------------------------------------

void SchedulerCore::onAdapterHeartbeat(std::string_view identity,
                                       wire::WorkerAdapterHeartbeat::Reader heartbeat) {
    auto admission = admit(identity, PeerRole::adapter, heartbeat.getProtocolVersion(),
                           heartbeat.getSchedulerIncarnation(), heartbeat.getFreshSession());
    if (!admission) return;
    if (admission->isNew) {
        PeerTable::setAdapterSlot(*admission,
                                  scaling_.addAdapter(std::string(identity), admission->entry->peer));
    }
    scaling_.onAdapterHeartbeat(admission->slot, heartbeat);
}

void SchedulerCore::onClientHeartbeat(std::string_view identity, wire::ClientHeartbeat::Reader heartbeat) {
    const auto admission = admit(identity, PeerRole::client, heartbeat.getProtocolVersion(),
                                 heartbeat.getSchedulerIncarnation(), heartbeat.getFreshSession());
    if (!admission) return;
    ClientRecord& client = clients_[admission->slot];
    if (admission->isNew)
        log::tasks().info("client '{}' connected ({} clients)", printable(identity),
                          peerTable_.clientCount());
    client.lastSeen = now_;
    outbox_.sendClientHeartbeatEcho(client.peer, clientShare());
}

void SchedulerCore::onWorkerHeartbeat(std::string_view identity, wire::WorkerHeartbeat::Reader heartbeat) {
    if (auto valid = checkWireCapabilities(heartbeat.getCapabilities()); !valid) {
        // a connected worker's later heartbeats are not read for these
        if (peerTable_.find(identity) == nullptr)
            return dropMessage(identity, "worker heartbeat refused: " + valid.why());
    }
    const auto admission = admit(identity, PeerRole::worker, heartbeat.getProtocolVersion(),
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
                          peerTable_.workerCount());
        dispatcher_.refreshAllEligibility();
        dispatcher_.expectImbalance(now_);
        dispatchNeeded_ = true;
    }
    worker.lastSeen = now_;
    worker.reportedQueued = heartbeat.getQueuedTasks();
    worker.reportedRunning = heartbeat.getRunningTasks();
    worker.reportedCompleted = heartbeat.getCompletedTasks();
    worker.resource = {heartbeat.getResource().getCpuPermille(), heartbeat.getResource().getRssBytes()};
    if (PeerTable::noteWorkerMemory(worker, heartbeat.getMemoryLimitBytes())) dispatchNeeded_ = true;
    worker.pid = heartbeat.getPid();
    worker.hostname = std::string(asStringView(heartbeat.getHostname()));
    worker.objectsFetched = heartbeat.getObjectsFetched();
    worker.objectBytesFetched = heartbeat.getObjectBytesFetched();
    worker.objectCacheBytes = heartbeat.getObjectCacheBytes();
    outbox_.sendWorkerHeartbeatEcho(worker.peer);
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
    capabilitySets_.forgetClient(slot);
    peerTable_.removeClient(slot);
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
    peerTable_.removeWorker(slot);
    dispatcher_.refreshAllEligibility();
    dispatchNeeded_ = true;
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

// ---- placement ---------------------------------------------------------------------------------------

void SchedulerCore::dispatch() {
    scaling_.evaluateIfUrgent();
    if (!dispatchNeeded_) return;
    dispatchNeeded_ = false;
    if (counts_[TaskState::queued] == 0 || peerTable_.workerCount() == 0) return;
    dispatcher_.dispatch(now_);
}

// ---- timers ------------------------------------------------------------------------------------------

void SchedulerCore::onTick() {
    removeExpiredPeers();
    // an upload that stopped for as long as a silent client would be dropped is abandoned
    if (const size_t expired =
            objects_.expireStalledUploads(now_, secondsToDuration(config_.clientTimeoutSeconds))) {
        log::tasks().warn("dropped {} object uploads that received nothing for {} s", expired,
                          config_.clientTimeoutSeconds);
    }
    scaling_.onTick();
    if (now_ >= nextSetRelease_) {
        nextSetRelease_ = now_ + kCapabilitySetReleaseInterval;
        releaseIdleCapabilitySets();
    }
    for (const TaskMove& move : dispatcher_.balanceIfDue(now_)) apply(move.task, TaskEvent::balance, {});
}

void SchedulerCore::removeExpiredPeers() {
    for (ClientSlot c : peerTable_.silentClients(now_, secondsToDuration(config_.clientTimeoutSeconds))) {
        removeClient(
            c, "timed out (no heartbeat for " + fmt::format("{}", config_.clientTimeoutSeconds) + " s)");
    }
    for (WorkerSlot w : peerTable_.silentWorkers(now_, secondsToDuration(config_.workerTimeoutSeconds))) {
        removeWorker(
            w, WorkerExit::died,
            "timed out (no heartbeat for " + fmt::format("{}", config_.workerTimeoutSeconds) + " s)");
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
    rows.reserve(peerTable_.workerCount());
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
    const PeerRegistry::Entry* peer = peerTable_.find(identity);
    if (peer != nullptr && peer->role == PeerRole::worker) removeWorker(peer->slot, WorkerExit::died, why);
}

}  // namespace scaler::scheduler
