// SchedulerCore's scaling controller: worker adapters, their groups, policy evaluation and draining.
#include <algorithm>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/scheduler_core.h"

namespace scaler::scheduler {
namespace {

constexpr size_t kMaxScalingEvents = 64;
constexpr auto kStartBackoff = std::chrono::seconds(5);         // after a failed start on an adapter
constexpr auto kCommandTimeout = std::chrono::seconds(30);      // an unanswered command is given up
constexpr auto kGroupStartTimeout = std::chrono::seconds(120);  // workers that never connect

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::string commandName(wire::WorkerAdapterCommandType command) {
    return command == wire::WorkerAdapterCommandType::START_WORKER_GROUP ? "start" : "shutdown";
}

std::string statusName(wire::WorkerAdapterCommandStatus status) {
    switch (status) {
        case wire::WorkerAdapterCommandStatus::SUCCESS:
            return "success";
        case wire::WorkerAdapterCommandStatus::WORKER_GROUP_TOO_MUCH:
            return "workerGroupTooMuch";
        case wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND:
            return "workerGroupIdNotFound";
        case wire::WorkerAdapterCommandStatus::CAPABILITIES_NOT_SUPPORTED:
            return "capabilitiesNotSupported";
        case wire::WorkerAdapterCommandStatus::LAUNCH_FAILED:
            return "launchFailed";
    }
    return "unknown";
}

GroupPhase phaseFromWire(wire::WorkerGroupState state) {
    switch (state) {
        case wire::WorkerGroupState::RUNNING:
            return GroupPhase::running;
        case wire::WorkerGroupState::DRAINING:
            return GroupPhase::draining;
        case wire::WorkerGroupState::STOPPING:
        case wire::WorkerGroupState::FAILED:
            return GroupPhase::stopping;
        default:
            return GroupPhase::starting;
    }
}

}  // namespace

const AdapterRecord* SchedulerCore::findAdapter(std::string_view identity) const {
    const PeerEntry* peer = findPeer(identity);
    return (peer == nullptr || peer->role != PeerRole::adapter) ? nullptr : &adapters_[peer->slot];
}

void SchedulerCore::recordEvent(const std::string& adapterId, const std::string& action,
                                const std::string& groupId, const std::string& reason,
                                const std::string& rule) {
    const auto unixMs = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count());
    scalingEvents_.push_back({unixMs, adapterId, action, groupId, reason});
    ++metrics_.scalingDecisions[{action, rule}];
    if (scalingEvents_.size() > kMaxScalingEvents) scalingEvents_.pop_front();
}

void SchedulerCore::noteGroupWorkerConnected(std::string_view adapterId, std::string_view groupId) {
    if (adapterId.empty() || groupId.empty()) return;
    const PeerEntry* peer = findPeer(adapterId);
    if (peer == nullptr || peer->role != PeerRole::adapter) return;
    AdapterRecord& adapter = adapters_[peer->slot];
    auto it = adapter.groups.find(std::string(groupId));
    if (it == adapter.groups.end() || it->second.workerSeen) return;
    it->second.workerSeen = true;
    if (it->second.commandedAt == TimePoint{}) return;  // adopted: its start was not seen
    const double sample = std::chrono::duration<double>(now_ - it->second.commandedAt).count();
    constexpr double kWeight = 0.3;  // adapters' start-up times drift slowly; a few starts settle it
    adapter.startupSeconds =
        adapter.startupSeconds == 0 ? sample : adapter.startupSeconds + kWeight * (sample - adapter.startupSeconds);
}

bool SchedulerCore::groupDraining(std::string_view adapterId, std::string_view groupId) const {
    if (adapterId.empty() || groupId.empty()) return false;
    const AdapterRecord* adapter = findAdapter(adapterId);
    if (adapter == nullptr) return false;
    auto it = adapter->groups.find(std::string(groupId));
    return it != adapter->groups.end() &&
           (it->second.phase == GroupPhase::draining || it->second.phase == GroupPhase::stopping);
}

void SchedulerCore::onAdapterHeartbeat(std::string_view identity,
                                       wire::WorkerAdapterHeartbeat::Reader heartbeat) {
    const auto admission = admitPeer(identity, PeerRole::adapter, heartbeat.getProtocolVersion());
    if (!admission) return;
    AdapterRecord& adapter = adapters_[admission->slot];
    const bool first = adapter.lastSeen == TimePoint{};
    adapter.lastSeen = now_;
    adapter.kind = std::string(asStringView(heartbeat.getKind()));
    adapter.maxGroups = heartbeat.getMaxWorkerGroups();
    adapter.priority = heartbeat.getPriority();
    adapter.workersPerGroup = std::max<uint32_t>(1, heartbeat.getWorkersPerGroup());
    adapter.capabilities = capabilitiesFromWire(heartbeat.getCapabilities());

    // The adapter's inventory is the truth about which groups exist; the scheduler keeps its own view of
    // draining and stopping. Groups it did not know are adopted (an adapter or scheduler restarted).
    std::map<std::string, WorkerGroupRecord> groups;
    for (auto info : heartbeat.getGroups()) {
        const std::string id(asStringView(info.getWorkerGroupId()));
        if (id.empty()) continue;
        WorkerGroupRecord group;
        if (auto it = adapter.groups.find(id); it != adapter.groups.end()) {
            group = std::move(it->second);
            adapter.groups.erase(it);
        } else {
            group.id = id;
            group.createdAt = now_;
            group.phase = phaseFromWire(info.getState());
            if (!first) recordEvent(adapter.identity, "adopt", id, "group reported by the adapter", "inventory");
            spdlog::info("adapter '{}': adopted worker group '{}' from its inventory", adapter.identity, id);
        }
        if (phaseFromWire(info.getState()) == GroupPhase::stopping) group.phase = GroupPhase::stopping;
        group.capabilities = capabilitiesFromWire(info.getCapabilities());
        group.workerIds.clear();
        for (auto w : info.getWorkerIds()) group.workerIds.emplace_back(asStringView(w));
        groups.emplace(id, std::move(group));
    }
    for (const auto& [id, group] : adapter.groups) {
        if (group.phase != GroupPhase::stopping) {
            spdlog::warn("adapter '{}': worker group '{}' is gone from its inventory", adapter.identity, id);
            recordEvent(adapter.identity, "lost", id, "no longer in the adapter's inventory", "inventory");
        }
    }
    adapter.groups = std::move(groups);
    removeWorkersGoneFromInventory(adapter);
    if (first) {
        spdlog::info(
            "worker adapter '{}' ({}) connected: up to {} groups of {} workers, capabilities '{}', priority {}, "
            "{} groups",
            adapter.identity, adapter.kind, adapter.maxGroups, adapter.workersPerGroup,
            formatCapabilities(adapter.capabilities), adapter.priority, adapter.groups.size());
    }
    outbox_.sendAdapterHeartbeatEcho(adapter.peer);
}

void SchedulerCore::removeWorkersGoneFromInventory(const AdapterRecord& adapter) {
    // Twice in a row, so a worker that registered just before its adapter's inventory caught up is not
    // taken for dead.
    constexpr uint8_t kMissesBeforeDead = 2;
    for (WorkerSlot slot = 0; slot < workers_.size(); ++slot) {
        WorkerRecord& worker = workers_[slot];
        if (!worker.live || worker.adapterId != adapter.identity || worker.workerGroupId.empty()) continue;
        const auto group = adapter.groups.find(worker.workerGroupId);
        const bool listed = group != adapter.groups.end() &&
                            (group->second.workerIds.empty() ||
                             std::find(group->second.workerIds.begin(), group->second.workerIds.end(),
                                       worker.identity) != group->second.workerIds.end());
        worker.missingFromInventory = listed ? 0 : static_cast<uint8_t>(worker.missingFromInventory + 1);
        if (worker.missingFromInventory >= kMissesBeforeDead) {
            removeWorker(slot, WorkerExit::died,
                         "is gone according to its adapter '" + adapter.identity + "'");
        }
    }
}

void SchedulerCore::onAdapterResponse(uint32_t slot, wire::WorkerAdapterCommandResponse::Reader response) {
    AdapterRecord& adapter = adapters_[slot];
    adapter.lastSeen = now_;
    auto pending = std::find_if(adapter.pending.begin(), adapter.pending.end(),
                                [&](const auto& p) { return p.requestId == response.getRequestId(); });
    if (pending == adapter.pending.end()) {
        return dropMessage(adapter.identity,
                           "response to a command the scheduler did not send or gave up on");
    }
    const PendingAdapterCommand command = *pending;
    adapter.pending.erase(pending);
    metrics_.adapterCommandLatency[{adapter.identity, commandName(command.command)}].observe(
        std::chrono::duration<double>(now_ - command.sentAt).count());
    if (response.getStatus() != wire::WorkerAdapterCommandStatus::SUCCESS) {
        ++metrics_.adapterCommandFailures[{adapter.identity, commandName(command.command),
                                           statusName(response.getStatus())}];
    }
    const std::string groupId(asStringView(response.getWorkerGroupId()));
    const bool ok = response.getStatus() == wire::WorkerAdapterCommandStatus::SUCCESS;
    const std::string message(asStringView(response.getMessage()));
    if (command.command == wire::WorkerAdapterCommandType::START_WORKER_GROUP) {
        if (!ok) {
            adapter.startBlockedUntil = now_ + kStartBackoff;
            const std::string why =
                statusName(response.getStatus()) + (message.empty() ? "" : ": " + message);
            spdlog::warn("adapter '{}' could not start a worker group: {}", adapter.identity, why);
            recordEvent(adapter.identity, "start failed", groupId, why, statusName(response.getStatus()));
            return;
        }
        WorkerGroupRecord group;
        group.id = groupId;
        group.createdAt = now_;
        group.commandedAt = command.sentAt;
        group.capabilities = capabilitiesFromWire(response.getCapabilities());
        for (auto w : response.getWorkerIds()) group.workerIds.emplace_back(asStringView(w));
        spdlog::info("adapter '{}' started worker group '{}' with {} workers, capabilities '{}'",
                     adapter.identity, groupId, group.workerIds.size(),
                     formatCapabilities(group.capabilities));
        adapter.groups[groupId] = std::move(group);
        return;
    }
    if (!ok && response.getStatus() != wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND) {
        spdlog::warn("adapter '{}' could not stop worker group '{}': {} {}", adapter.identity,
                     command.groupId, statusName(response.getStatus()), message);
        recordEvent(adapter.identity, "stop failed", command.groupId,
                    statusName(response.getStatus()) + " " + message, statusName(response.getStatus()));
    }
}

void SchedulerCore::removeAdapter(uint32_t slot, std::string_view why) {
    AdapterRecord& adapter = adapters_[slot];
    spdlog::warn("worker adapter '{}' {}; its {} groups are forgotten until it reports them again",
                 adapter.identity, why, adapter.groups.size());
    recordEvent(adapter.identity, "adapter lost", "", std::string(why), "adapter_timeout");
    releasePeer(adapter.identity);
    adapter = AdapterRecord{};
    freeAdapterSlots_.push_back(slot);
    --adapterCount_;
}

ScalingSnapshot SchedulerCore::scalingSnapshot() const {
    ScalingSnapshot snapshot;
    const double nowSeconds = std::chrono::duration<double>(now_ - startedAt_).count();
    for (CapabilitySetId set = 0; set < capabilitySets_.size(); ++set) {
        const CapabilitySetEntry& entry = capabilitySets_[set];
        const DemandEstimate estimate = estimator_.estimate(set, nowSeconds);
        // a set with no live tasks stays while its arrivals are remembered: a forecast may keep capacity
        if (entry.liveTasks > 0 || estimate.arrivalRate > 1e-3) {
            snapshot.demand.push_back({entry.capabilities, entry.liveTasks, entry.queue.size, estimate});
        }
    }
    struct GroupLoad {
        uint32_t connected = 0;
        uint32_t assigned = 0;
    };
    std::unordered_map<std::string, GroupLoad> loads;  // key: adapter id + '\n' + group id
    for (const WorkerRecord& worker : workers_) {
        if (!worker.live) continue;
        snapshot.workers.push_back({worker.capabilities, worker.assigned.size, worker.adapterId,
                                    worker.workerGroupId, worker.acceptingTasks});
        if (!worker.workerGroupId.empty()) {
            GroupLoad& load = loads[worker.adapterId + '\n' + worker.workerGroupId];
            ++load.connected;
            load.assigned += worker.assigned.size;
        }
    }
    for (const AdapterRecord& adapter : adapters_) {
        if (!adapter.live) continue;
        AdapterView view;
        view.id = adapter.identity;
        view.maxGroups = adapter.maxGroups;
        view.priority = adapter.priority;
        view.workersPerGroup = adapter.workersPerGroup;
        view.capabilities = adapter.capabilities;
        view.startAllowed = now_ >= adapter.startBlockedUntil;
        view.startupSeconds = adapter.startupSeconds;
        for (const auto& [id, group] : adapter.groups) {
            GroupView g;
            g.id = id;
            g.capabilities = group.capabilities;
            g.expectedWorkers = group.workerIds.empty() ? adapter.workersPerGroup
                                                        : static_cast<uint32_t>(group.workerIds.size());
            const auto load = loads.find(adapter.identity + '\n' + id);
            if (load != loads.end()) {
                g.connectedWorkers = load->second.connected;
                g.assignedTasks = load->second.assigned;
            }
            g.phase = group.phase;
            if (g.phase == GroupPhase::starting || g.phase == GroupPhase::running) {
                g.phase =
                    g.connectedWorkers >= g.expectedWorkers ? GroupPhase::running : GroupPhase::starting;
            }
            g.ageSeconds = std::chrono::duration<double>(now_ - group.createdAt).count();
            view.groups.push_back(std::move(g));
        }
        for (const PendingAdapterCommand& command : adapter.pending) {
            if (command.command != wire::WorkerAdapterCommandType::START_WORKER_GROUP) continue;
            GroupView g;
            g.phase = GroupPhase::pending;
            g.capabilities = command.capabilities.empty() ? adapter.capabilities : command.capabilities;
            g.expectedWorkers = adapter.workersPerGroup;
            view.groups.push_back(std::move(g));
        }
        snapshot.adapters.push_back(std::move(view));
    }
    return snapshot;
}

void SchedulerCore::evaluateScaling() {
    progressGroups();
    const double nowSeconds = std::chrono::duration<double>(now_ - startedAt_).count();
    for (CapabilitySetId set = 0; set < capabilitySets_.size(); ++set) {
        estimator_.observe(set, capabilitySets_[set].counters, nowSeconds);
    }
    if (adapterCount_ == 0) return;
    const ScalingSnapshot snapshot = scalingSnapshot();
    GovernedDecision governed =
        governor_.govern(scalingPolicy_->decide(snapshot), snapshot, nowSeconds,
                         std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
    ScalingDecision& decision = governed.decision;
    recordEvaluation(snapshot, decision, governed.held);

    std::vector<std::string> unschedulable;
    for (const auto& caps : decision.unschedulable) unschedulable.push_back(formatCapabilities(caps));
    if (unschedulable != unschedulable_) {
        for (const auto& caps : unschedulable) {
            if (std::find(unschedulable_.begin(), unschedulable_.end(), caps) == unschedulable_.end()) {
                spdlog::warn(
                    "tasks need capabilities '{}' that no worker offers and no adapter can start; they wait",
                    caps);
                recordEvent("", "unschedulable", "",
                            "tasks need {" + caps + "}: no worker or adapter offers it", "unschedulable");
            }
        }
        unschedulable_ = std::move(unschedulable);
    }

    for (ScalingCommand& command : decision.commands) {
        const AdapterView& view = snapshot.adapters[command.adapter];
        const PeerEntry* peer = findPeer(view.id);
        if (peer == nullptr) continue;
        AdapterRecord& adapter = adapters_[peer->slot];
        if (command.action == ScalingCommand::Action::start) {
            const uint64_t requestId = nextRequestId_++;
            adapter.pending.push_back({requestId,
                                       wire::WorkerAdapterCommandType::START_WORKER_GROUP,
                                       command.capabilities,
                                       {},
                                       now_});
            outbox_.sendAdapterCommand(adapter.peer, requestId,
                                       wire::WorkerAdapterCommandType::START_WORKER_GROUP, {},
                                       command.capabilities);
            spdlog::info("scaling ({}): start a worker group on '{}' with capabilities '{}': {}",
                         scalingPolicy_->name(), adapter.identity, formatCapabilities(command.capabilities),
                         command.reason);
            recordEvent(adapter.identity, "start", "", command.reason, command.rule);
        } else {
            auto it = adapter.groups.find(command.groupId);
            if (it != adapter.groups.end()) beginDrain(adapter, it->second, command.reason, command.rule);
        }
    }
}

void SchedulerCore::recordEvaluation(const ScalingSnapshot& snapshot, const ScalingDecision& decision,
                                     const std::vector<HeldCommand>& held) {
    heldScaling_.clear();
    std::string rules;  // which rules hold what, without the numbers that change every evaluation
    for (const HeldCommand& h : held) {
        const std::string action = h.command.action == ScalingCommand::Action::start ? "start" : "shutdown";
        const std::string& adapterId = snapshot.adapters[h.command.adapter].id;
        heldScaling_.push_back({adapterId, action, h.why, h.command.reason});
        const std::string key = adapterId + " " + action + ": " + h.why.substr(0, h.why.find_first_of(" :"));
        if (rules.find(key) == std::string::npos) rules += (rules.empty() ? "" : "; ") + key;
    }
    // At INFO when what is held changes, at DEBUG every time: a held stop repeats every evaluation.
    for (const HeldCommand& h : held) {
        spdlog::log(rules != heldRulesLogged_ ? spdlog::level::info : spdlog::level::debug,
                    "scaling ({}): held a {} on '{}': {} (wanted because {})", scalingPolicy_->name(),
                    h.command.action == ScalingCommand::Action::start ? "start" : "shutdown",
                    snapshot.adapters[h.command.adapter].id, h.why, h.command.reason);
    }
    if (held.empty() && !heldRulesLogged_.empty()) spdlog::info("scaling: no command held any more");
    heldRulesLogged_ = rules;

    demandSeen_.clear();
    for (const DemandView& d : snapshot.demand) {
        DemandRecord record{d, 0, 0, {}};
        for (const DemandAssessment& a : decision.assessments) {
            if (a.capabilities == d.capabilities) {
                record.supplyWorkers = a.supplyWorkers;
                record.desiredWorkers = a.desiredWorkers;
                record.basis = a.basis;
            }
        }
        demandSeen_.push_back(std::move(record));
    }
}

void SchedulerCore::beginDrain(AdapterRecord& adapter, WorkerGroupRecord& group, const std::string& reason,
                               const std::string& rule) {
    group.phase = GroupPhase::draining;
    group.drainDeadline = now_ + seconds(scalingPolicy_->parameters().drainTimeoutSeconds);
    spdlog::info("scaling ({}): drain worker group '{}' of '{}': {}", scalingPolicy_->name(), group.id,
                 adapter.identity, reason);
    recordEvent(adapter.identity, "drain", group.id, reason, rule);
    // Stop assigning to its workers and hand back what they have not started.
    for (WorkerRecord& worker : workers_) {
        if (!worker.live || worker.adapterId != adapter.identity || worker.workerGroupId != group.id)
            continue;
        worker.acceptingTasks = false;
        for (TaskIndex i = worker.assigned.tail; i != kNone && i != worker.assigned.head;) {
            const TaskIndex previous = tasks_[i].queueLinks.prev;
            if (tasks_[i].state == TaskState::assigned) apply(i, TaskEvent::balance, {});
            i = previous;
        }
    }
}

void SchedulerCore::sendShutdown(AdapterRecord& adapter, WorkerGroupRecord& group, const std::string& reason,
                                 const std::string& rule) {
    group.phase = GroupPhase::stopping;
    const uint64_t requestId = nextRequestId_++;
    adapter.pending.push_back(
        {requestId, wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP, {}, group.id, now_});
    outbox_.sendAdapterCommand(adapter.peer, requestId, wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP,
                               group.id, {});
    spdlog::info("scaling: shut down worker group '{}' of '{}': {}", group.id, adapter.identity, reason);
    recordEvent(adapter.identity, "shutdown", group.id, reason, rule);
}

void SchedulerCore::progressGroups() {
    for (AdapterRecord& adapter : adapters_) {
        if (!adapter.live) continue;
        std::erase_if(adapter.pending, [&](const PendingAdapterCommand& command) {
            if (now_ - command.sentAt < kCommandTimeout) return false;
            spdlog::warn("adapter '{}' did not answer command {} within {} s; giving up on it",
                         adapter.identity, command.requestId,
                         std::chrono::duration_cast<std::chrono::seconds>(kCommandTimeout).count());
            recordEvent(adapter.identity, "command lost", command.groupId, "no answer within 30 s", "unanswered");
            ++metrics_.adapterCommandFailures[{adapter.identity, commandName(command.command), "unanswered"}];
            return true;
        });
        for (auto& [id, group] : adapter.groups) {
            if (group.phase == GroupPhase::draining) {
                uint32_t busy = 0;
                for (const WorkerRecord& worker : workers_) {
                    if (worker.live && worker.adapterId == adapter.identity && worker.workerGroupId == id) {
                        busy += worker.assigned.size;
                    }
                }
                if (busy == 0) {
                    sendShutdown(adapter, group, "drained: its workers are idle", "drained");
                } else if (now_ >= group.drainDeadline) {
                    sendShutdown(adapter, group,
                                 "drain deadline passed with " + std::to_string(busy) +
                                     " tasks still on its workers; "
                                     "they go back to the queue",
                                 "drain_deadline");
                }
            } else if (group.phase == GroupPhase::starting) {
                bool anyConnected = false;
                for (const WorkerRecord& worker : workers_) {
                    anyConnected |=
                        worker.live && worker.adapterId == adapter.identity && worker.workerGroupId == id;
                }
                if (anyConnected) {
                    group.phase =
                        GroupPhase::running;  // the snapshot still counts missing workers as booting
                } else if (now_ - group.createdAt > kGroupStartTimeout) {
                    sendShutdown(adapter, group, "no worker of the group connected within 120 s", "start_timeout");
                }
            }
        }
    }
}

}  // namespace scaler::scheduler
