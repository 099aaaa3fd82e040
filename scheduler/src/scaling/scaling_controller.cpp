#include "scaler/scheduler/scaling/scaling_controller.h"

#include <algorithm>
#include <unordered_map>

#include "adapter_wire_names.h"
#include "scaler/common/log.h"
#include "scaler/common/printable.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/slot_allocation.h"

namespace scaler::scheduler {
namespace {

using scaling::commandName;
using scaling::phaseFromWire;
using scaling::statusName;

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

ScalingController::ScalingController(ScalingControllerConfig config, TaskRouterPort& router,
                                     AdapterOutbox& outbox, TimePoint now, WallTime wallNow)
    : config_(std::move(config)),
      router_(router),
      outbox_(outbox),
      now_(now),
      wallNow_(wallNow),
      startedAt_(now),
      policy_(makeScalingPolicy(config_.policy, config_.parameters)),
      governor_(policy_->parameters(), config_.schedule),
      estimator_(policy_->parameters().rateWindowSeconds),
      nextEvaluation_(now + seconds(config_.intervalSeconds)) {}

double ScalingController::secondsSinceStart() const {
    return std::chrono::duration<double>(now_ - startedAt_).count();
}

AdapterSlot ScalingController::slotOf(std::string_view identity) const {
    for (AdapterSlot slot = 0; slot < adapters_.size(); ++slot) {
        if (adapters_[slot].live && adapters_[slot].identity == identity) return slot;
    }
    return kNone;
}

AdapterRecord* ScalingController::adapterById(std::string_view identity) {
    const AdapterSlot slot = slotOf(identity);
    return slot == kNone ? nullptr : &adapters_[slot];
}

const AdapterRecord* ScalingController::findAdapter(std::string_view identity) const {
    const AdapterSlot slot = slotOf(identity);
    return slot == kNone ? nullptr : &adapters_[slot];
}

AdapterSlot ScalingController::addAdapter(const std::string& identity, PeerId peer) {
    const AdapterSlot slot = takeSlot(adapters_, freeAdapterSlots_);
    adapters_[slot].identity = identity;
    adapters_[slot].peer = peer;
    adapters_[slot].live = true;
    ++adapterCount_;
    return slot;
}

void ScalingController::recordEvent(const std::string& adapterId, const std::string& action,
                                    const std::string& groupId, const std::string& reason,
                                    const std::string& rule) {
    const auto unixMs = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(wallNow_.time_since_epoch()).count());
    events_.push_back({unixMs, adapterId, action, groupId, reason});
    ++metrics_.decisions[{action, rule}];
    if (events_.size() > kMaxEvents) events_.pop_front();
}

void ScalingController::noteGroupWorkerConnected(std::string_view adapterId, std::string_view groupId) {
    if (adapterId.empty() || groupId.empty()) return;
    AdapterRecord* adapter = adapterById(adapterId);
    if (adapter == nullptr) return;
    auto it = adapter->groups.find(std::string(groupId));
    if (it == adapter->groups.end() || it->second.workerSeen) return;
    it->second.workerSeen = true;
    if (it->second.commandedAt == TimePoint{}) return;  // adopted: its start was not seen
    // a start has worked once a worker connects, not when it is answered: a Pod that cannot pull its image is
    // answered at once and fails later (reported FAILED in the inventory)
    adapter->failedStartsInARow = 0;
    const double sample = std::chrono::duration<double>(now_ - it->second.commandedAt).count();
    constexpr double kWeight = 0.3;  // adapters' start-up times drift slowly; a few starts settle it
    adapter->startupSeconds = adapter->startupSeconds == 0
                                  ? sample
                                  : adapter->startupSeconds + kWeight * (sample - adapter->startupSeconds);
}

bool ScalingController::groupDraining(std::string_view adapterId, std::string_view groupId) const {
    if (adapterId.empty() || groupId.empty()) return false;
    const AdapterRecord* adapter = findAdapter(adapterId);
    if (adapter == nullptr) return false;
    auto it = adapter->groups.find(std::string(groupId));
    return it != adapter->groups.end() &&
           (it->second.phase == GroupPhase::draining || it->second.phase == GroupPhase::stopping);
}

void ScalingController::onAdapterHeartbeat(AdapterSlot slot, wire::WorkerAdapterHeartbeat::Reader heartbeat) {
    AdapterRecord& adapter = adapters_[slot];
    const bool first = adapter.lastSeen == TimePoint{};
    adapter.lastSeen = now_;
    adapter.kind = std::string(asStringView(heartbeat.getKind()));
    adapter.maxGroups = heartbeat.getMaxWorkerGroups();
    adapter.priority = heartbeat.getPriority();
    adapter.workersPerGroup = std::max<uint32_t>(1, heartbeat.getWorkersPerGroup());
    adapter.capabilities = capabilitiesFromWire(heartbeat.getCapabilities());
    if (!adapter.bill.setModel(asStringView(heartbeat.getBilling()), adapter.kind))
        log::scaling().warn("adapter '{}': billing '{}' unreadable; billed as {}", adapter.identity,
                            printable(asStringView(heartbeat.getBilling())), adapter.bill.model().describe());

    // The adapter's inventory is the truth about which groups exist; the scheduler keeps its own view of
    // draining and stopping. Groups it did not know are adopted (an adapter or scheduler restarted).
    std::map<std::string, WorkerGroupRecord> groups;
    std::vector<std::pair<std::string, std::string>> failedStarts;  // group, why
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
            if (!first)
                recordEvent(adapter.identity, "adopt", id, "group reported by the adapter", "inventory");
            log::scaling().info("adapter '{}': adopted worker group '{}' from its inventory",
                                adapter.identity, id);
        }
        if (phaseFromWire(info.getState()) == GroupPhase::stopping) group.phase = GroupPhase::stopping;
        if (info.getState() == wire::WorkerGroupState::FAILED && !group.failureReported) {
            // the adapter answered the start, then the engine gave up on it (an image that cannot be pulled)
            group.failureReported = true;
            failedStarts.emplace_back(id, std::string(asStringView(info.getMessage())));
        }
        group.capabilities = capabilitiesFromWire(info.getCapabilities());
        group.workerIds.clear();
        for (auto w : info.getWorkerIds()) group.workerIds.emplace_back(asStringView(w));
        groups.emplace(id, std::move(group));
    }
    for (const auto& [id, group] : adapter.groups) {
        if (group.phase != GroupPhase::stopping) {
            log::scaling().warn("adapter '{}': worker group '{}' is gone from its inventory",
                                adapter.identity, id);
            recordEvent(adapter.identity, "lost", id, "no longer in the adapter's inventory", "inventory");
        }
    }
    adapter.groups = std::move(groups);
    if (first) {
        log::scaling().info(
            "worker adapter '{}' ({}) connected: up to {} groups of {} workers, capabilities '{}', priority "
            "{}, "
            "{} groups",
            adapter.identity, adapter.kind, adapter.maxGroups, adapter.workersPerGroup,
            formatCapabilities(adapter.capabilities), adapter.priority, adapter.groups.size());
    }
    outbox_.sendAdapterHeartbeatEcho(adapter.peer);
    for (const auto& [groupId, why] : failedStarts) {
        onStartFailed(adapter, groupId, "launchFailed: " + (why.empty() ? "its start failed" : why),
                      "launchFailed", true);
    }
    // last: removing a worker re-enters the router, which may read the adapters
    removeWorkersGoneFromInventory(adapter);
}

void ScalingController::removeWorkersGoneFromInventory(AdapterRecord& adapter) {
    // Twice in a row, so a worker that registered just before its adapter's inventory caught up is not
    // taken for dead.
    constexpr uint8_t kMissesBeforeDead = 2;
    std::unordered_map<std::string, uint8_t> missing;
    std::vector<std::string> dead;
    for (const RoutedWorker& worker : router_.workers()) {
        if (worker.adapterId != adapter.identity || worker.groupId.empty()) continue;
        const auto group = adapter.groups.find(std::string(worker.groupId));
        const bool listed = group != adapter.groups.end() &&
                            (group->second.workerIds.empty() ||
                             std::find(group->second.workerIds.begin(), group->second.workerIds.end(),
                                       worker.identity) != group->second.workerIds.end());
        if (listed) continue;
        const std::string identity(worker.identity);
        const auto before = adapter.missingFromInventory.find(identity);
        const uint8_t misses = before == adapter.missingFromInventory.end() ? 1 : before->second + 1;
        if (misses >= kMissesBeforeDead) {
            dead.push_back(identity);
        } else {
            missing.emplace(identity, misses);
        }
    }
    adapter.missingFromInventory = std::move(missing);
    const std::string why = "is gone according to its adapter '" + adapter.identity + "'";
    for (const std::string& identity : dead) router_.removeDeadWorker(identity, why);
}

Status ScalingController::onAdapterResponse(AdapterSlot slot,
                                            wire::WorkerAdapterCommandResponse::Reader response) {
    AdapterRecord& adapter = adapters_[slot];
    adapter.lastSeen = now_;
    auto pending = std::find_if(adapter.pending.begin(), adapter.pending.end(),
                                [&](const auto& p) { return p.requestId == response.getRequestId(); });
    if (pending == adapter.pending.end())
        return refuse("response to a command the scheduler did not send or gave up on");
    const PendingAdapterCommand command = *pending;
    adapter.pending.erase(pending);
    metrics_.commandLatency[{adapter.identity, commandName(command.command)}].observe(
        std::chrono::duration<double>(now_ - command.sentAt).count());
    const bool ok = response.getStatus() == wire::WorkerAdapterCommandStatus::SUCCESS;
    if (!ok) {
        ++metrics_.commandFailures[{adapter.identity, commandName(command.command),
                                    statusName(response.getStatus())}];
    }
    const std::string groupId(asStringView(response.getWorkerGroupId()));
    const std::string message(asStringView(response.getMessage()));
    if (command.command == wire::WorkerAdapterCommandType::START_WORKER_GROUP) {
        if (!ok) {
            const std::string why =
                statusName(response.getStatus()) + (message.empty() ? "" : ": " + message);
            onStartFailed(adapter, groupId, why, statusName(response.getStatus()),
                          response.getStatus() == wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
            return {};
        }
        WorkerGroupRecord group;
        group.id = groupId;
        group.createdAt = now_;
        group.commandedAt = command.sentAt;
        group.capabilities = capabilitiesFromWire(response.getCapabilities());
        for (auto w : response.getWorkerIds()) group.workerIds.emplace_back(asStringView(w));
        log::scaling().info("adapter '{}' started worker group '{}' with {} workers, capabilities '{}'",
                            adapter.identity, groupId, group.workerIds.size(),
                            formatCapabilities(group.capabilities));
        adapter.groups[groupId] = std::move(group);
        // a fast adapter answers after spawning its workers, so one may have connected already
        for (const RoutedWorker& worker : router_.workers()) {
            if (worker.adapterId == adapter.identity && worker.groupId == groupId) {
                noteGroupWorkerConnected(adapter.identity, groupId);
                break;
            }
        }
        return {};
    }
    if (!ok && response.getStatus() != wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND) {
        log::scaling().warn("adapter '{}' could not stop worker group '{}': {} {}", adapter.identity,
                            command.groupId, statusName(response.getStatus()), message);
        recordEvent(adapter.identity, "stop failed", command.groupId,
                    statusName(response.getStatus()) + " " + message, statusName(response.getStatus()));
    }
    return {};
}

void ScalingController::onStartFailed(AdapterRecord& adapter, const std::string& groupId,
                                      const std::string& why, const std::string& label, bool launchFailure) {
    adapter.startBlockedUntil = now_ + kStartBackoff;
    log::scaling().warn("adapter '{}' could not start a worker group: {}", adapter.identity, why);
    recordEvent(adapter.identity, "start failed", groupId, why, label);
    if (launchFailure && ++adapter.failedStartsInARow >= kFailedStartsBeforeRejecting) {
        // the circuit opens: starts that keep failing would only keep failing; one try after the
        // quiet period, and a start that works closes it
        adapter.startBlockedUntil = now_ + kFailingAdapterQuiet;
        const std::string open = std::to_string(adapter.failedStartsInARow) +
                                 " starts failed in a row; no start on it for " +
                                 std::to_string(kFailingAdapterQuiet.count()) + " s";
        log::scaling().warn("adapter '{}': circuit open: {}", adapter.identity, open);
        recordEvent(adapter.identity, "circuit open", "", open + " (" + why + ")", "launch_failures");
        rejectWhatNoAdapterCanServe(adapter.identity, why);
    }
}

void ScalingController::rejectWhatNoAdapterCanServe(const std::string& adapterId, const std::string& why) {
    for (const RoutedDemand& demand : router_.demand()) {
        if (demand.queued == 0) continue;
        bool failing = false, mightServe = false;
        for (const AdapterRecord& adapter : adapters_) {
            if (!adapter.live || !capabilitiesSatisfy(*demand.capabilities, adapter.capabilities)) continue;
            (adapter.failedStartsInARow >= kFailedStartsBeforeRejecting ? failing : mightServe) = true;
        }
        if (!failing || mightServe) continue;
        const std::string caps = formatCapabilities(*demand.capabilities);
        const std::string reason = "no worker can be started for capabilities '" + caps + "': adapter '" +
                                   adapterId + "' failed its last " +
                                   std::to_string(kFailedStartsBeforeRejecting) + " starts: " + why;
        const size_t rejected = router_.rejectQueuedWithoutWorker(demand.set, reason);
        if (rejected == 0) continue;
        log::scaling().error("{}; {} queued tasks failed", reason, rejected);
        recordEvent(adapterId, "tasks rejected", "",
                    std::to_string(rejected) + " tasks needing {" + caps + "}: no adapter can start workers",
                    "unstartable");
    }
}

void ScalingController::removeAdapter(AdapterSlot slot, std::string_view why) {
    AdapterRecord& adapter = adapters_[slot];
    // its unanswered commands are lost with it: counted, never silently dropped (a partition is the usual
    // cause; their deadline stops the adapter from carrying them out late)
    for (const PendingAdapterCommand& command : adapter.pending) {
        recordEvent(adapter.identity, "command lost", command.groupId,
                    "the adapter was lost before answering", "unanswered");
        ++metrics_.commandFailures[{adapter.identity, commandName(command.command), "unanswered"}];
    }
    log::scaling().warn("worker adapter '{}' {}; its {} groups are forgotten until it reports them again",
                        adapter.identity, why, adapter.groups.size());
    recordEvent(adapter.identity, "adapter lost", "", std::string(why), "adapter_timeout");
    const std::string identity = adapter.identity;
    adapter = AdapterRecord{};
    freeAdapterSlots_.push_back(slot);
    --adapterCount_;
    router_.releaseAdapterPeer(identity);
}

void ScalingController::onTick() {
    const auto timeout = seconds(config_.adapterTimeoutSeconds);
    for (AdapterSlot a = 0; a < adapters_.size(); ++a) {
        if (adapters_[a].live && now_ - adapters_[a].lastSeen > timeout) {
            removeAdapter(a,
                          fmt::format("timed out (no heartbeat for {:g} s)", config_.adapterTimeoutSeconds));
        }
        adapters_[a].bill.observe(adapters_[a].groups, now_);
    }
    if (now_ >= nextEvaluation_) {
        nextEvaluation_ = now_ + seconds(config_.intervalSeconds);
        evaluate();
    }
}

void ScalingController::evaluateIfUrgent() {
    // Demand nobody connected can serve: ask the policy now rather than at the next interval, so the first
    // task of an empty cluster waits for a worker's start-up, not for a timer.
    if (!urgent_ || now_ - lastUrgentEvaluation_ < std::chrono::milliseconds(100)) return;
    urgent_ = false;
    lastUrgentEvaluation_ = now_;
    evaluate();
}

ScalingSnapshot ScalingController::snapshot() const {
    ScalingSnapshot snapshot;
    const double nowSeconds = secondsSinceStart();
    for (const RoutedDemand& d : router_.demand()) {
        const DemandEstimate estimate = estimator_.estimate(d.set, nowSeconds);
        // a set with no live tasks stays while its arrivals are remembered: a forecast may keep capacity
        if (d.liveTasks > 0 || estimate.arrivalRate > 1e-3) {
            snapshot.demand.push_back({*d.capabilities, d.liveTasks, d.queued, estimate,
                                       d.runningAtLeastSeconds, d.ended, d.endedBadly});
        }
    }
    struct GroupLoad {
        uint32_t connected = 0;
        uint32_t assigned = 0;
    };
    std::unordered_map<std::string, GroupLoad> loads;  // key: adapter id + '\n' + group id
    for (const RoutedWorker& worker : router_.workers()) {
        snapshot.workers.push_back({*worker.capabilities, worker.assigned, std::string(worker.adapterId),
                                    std::string(worker.groupId), worker.acceptingTasks});
        if (!worker.groupId.empty()) {
            GroupLoad& load = loads[std::string(worker.adapterId) + '\n' + std::string(worker.groupId)];
            ++load.connected;
            load.assigned += worker.assigned;
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
        view.pricePerGroupHour = adapter.bill.model().pricePerHour;
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

void ScalingController::evaluate() {
    progressGroups();
    const double nowSeconds = secondsSinceStart();
    for (const RoutedDemand& d : router_.demand()) estimator_.observe(d.set, *d.counters, nowSeconds);
    if (adapterCount_ == 0) return;
    const ScalingSnapshot current = snapshot();
    GovernedDecision governed =
        governor_.govern(policy_->decide(current), current, nowSeconds, WallClock::to_time_t(wallNow_));
    recordEvaluation(current, governed.decision, governed.held);
    noteUnschedulable(governed.decision);
    carryOut(current, governed.decision);
}

void ScalingController::noteUnschedulable(const ScalingDecision& decision) {
    std::vector<std::string> unschedulable;
    for (const auto& caps : decision.unschedulable) unschedulable.push_back(formatCapabilities(caps));
    if (unschedulable == unschedulable_) return;
    for (const auto& caps : unschedulable) {
        if (std::find(unschedulable_.begin(), unschedulable_.end(), caps) == unschedulable_.end()) {
            log::scaling().warn(
                "tasks need capabilities '{}' that no worker offers and no adapter can start; they wait",
                caps);
            recordEvent("", "unschedulable", "", "tasks need {" + caps + "}: no worker or adapter offers it",
                        "unschedulable");
        }
    }
    unschedulable_ = std::move(unschedulable);
}

void ScalingController::carryOut(const ScalingSnapshot& snapshot, const ScalingDecision& decision) {
    for (const ScalingCommand& command : decision.commands) {
        AdapterRecord* adapter = adapterById(snapshot.adapters[command.adapter].id);
        if (adapter == nullptr) continue;
        if (command.action == ScalingCommand::Action::start) {
            const uint64_t requestId = nextRequestId_++;
            constexpr auto kStart = wire::WorkerAdapterCommandType::START_WORKER_GROUP;
            adapter->pending.push_back(
                PendingAdapterCommand{requestId, kStart, command.capabilities, {}, now_});
            outbox_.sendAdapterCommand(adapter->peer, requestId, kStart, {}, command.capabilities);
            const std::string reason = command.reason + "; " + adapter->bill.startCostClause();
            log::scaling().info("{}: start a worker group on '{}' with capabilities '{}': {}",
                                policy_->name(), adapter->identity, formatCapabilities(command.capabilities),
                                reason);
            recordEvent(adapter->identity, "start", "", reason, command.rule);
        } else {
            auto it = adapter->groups.find(command.groupId);
            if (it != adapter->groups.end()) beginDrain(*adapter, it->second, command.reason, command.rule);
        }
    }
}

void ScalingController::recordEvaluation(const ScalingSnapshot& snapshot, const ScalingDecision& decision,
                                         const std::vector<HeldCommand>& held) {
    held_.clear();
    std::string rules;  // which rules hold what, without the numbers that change every evaluation
    for (const HeldCommand& h : held) {
        const std::string action = h.command.action == ScalingCommand::Action::start ? "start" : "shutdown";
        const std::string& adapterId = snapshot.adapters[h.command.adapter].id;
        held_.push_back({adapterId, action, h.why, h.command.reason});
        const std::string key = adapterId + " " + action + ": " + h.why.substr(0, h.why.find_first_of(" :"));
        if (rules.find(key) == std::string::npos) rules += (rules.empty() ? "" : "; ") + key;
    }
    // At INFO when what is held changes, at DEBUG every time: a held stop repeats every evaluation.
    for (const HeldScalingRecord& h : held_) {
        log::scaling().log(rules != heldRulesLogged_ ? spdlog::level::info : spdlog::level::debug,
                           "{}: held a {} on '{}': {} (wanted because {})", policy_->name(), h.action,
                           h.adapterId, h.heldBecause, h.wantedBecause);
    }
    if (held.empty() && !heldRulesLogged_.empty()) log::scaling().info("no command held any more");
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

void ScalingController::beginDrain(AdapterRecord& adapter, WorkerGroupRecord& group,
                                   const std::string& reason, const std::string& rule) {
    group.phase = GroupPhase::draining;
    group.drainDeadline = now_ + seconds(policy_->parameters().drainTimeoutSeconds);
    log::scaling().info("{}: drain worker group '{}' of '{}': {}", policy_->name(), group.id,
                        adapter.identity, reason);
    recordEvent(adapter.identity, "drain", group.id, reason, rule);
    router_.drainGroup(adapter.identity, group.id);
}

void ScalingController::sendShutdown(AdapterRecord& adapter, WorkerGroupRecord& group,
                                     const std::string& reason, const std::string& rule) {
    group.phase = GroupPhase::stopping;
    const uint64_t requestId = nextRequestId_++;
    adapter.pending.push_back(
        {requestId, wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP, {}, group.id, now_});
    outbox_.sendAdapterCommand(adapter.peer, requestId, wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP,
                               group.id, {});
    log::scaling().info("shut down worker group '{}' of '{}': {}", group.id, adapter.identity, reason);
    recordEvent(adapter.identity, "shutdown", group.id, reason, rule);
}

void ScalingController::expireCommands(AdapterRecord& adapter) {
    std::erase_if(adapter.pending, [&](const PendingAdapterCommand& command) {
        if (now_ - command.sentAt < kCommandTimeout) return false;
        log::scaling().warn("adapter '{}' did not answer command {} within {} s; giving up on it",
                            adapter.identity, command.requestId, kCommandTimeout.count());
        recordEvent(adapter.identity, "command lost", command.groupId,
                    "no answer within " + std::to_string(kCommandTimeout.count()) + " s", "unanswered");
        ++metrics_.commandFailures[{adapter.identity, commandName(command.command), "unanswered"}];
        return true;
    });
}

void ScalingController::progressGroups() {
    struct GroupLoad {
        uint32_t connected = 0;
        uint32_t busy = 0;
    };
    std::unordered_map<std::string, GroupLoad> loads;  // key: adapter id + '\n' + group id
    for (const RoutedWorker& worker : router_.workers()) {
        if (worker.groupId.empty()) continue;
        GroupLoad& load = loads[std::string(worker.adapterId) + '\n' + std::string(worker.groupId)];
        ++load.connected;
        load.busy += worker.assigned;
    }
    for (AdapterRecord& adapter : adapters_) {
        if (!adapter.live) continue;
        expireCommands(adapter);
        for (auto& [id, group] : adapter.groups) {
            const auto it = loads.find(adapter.identity + '\n' + id);
            const GroupLoad load = it == loads.end() ? GroupLoad{} : it->second;
            if (group.phase == GroupPhase::draining) {
                if (load.busy == 0) {
                    sendShutdown(adapter, group, "drained: its workers are idle", "drained");
                } else if (now_ >= group.drainDeadline) {
                    sendShutdown(adapter, group,
                                 "drain deadline passed with " + std::to_string(load.busy) +
                                     " tasks still on its workers; they go back to the queue",
                                 "drain_deadline");
                }
            } else if (group.phase == GroupPhase::starting) {
                if (load.connected > 0) {
                    group.phase =
                        GroupPhase::running;  // the snapshot still counts missing workers as booting
                } else if (now_ - group.createdAt > kGroupStartTimeout) {
                    sendShutdown(adapter, group,
                                 "no worker of the group connected within " +
                                     std::to_string(kGroupStartTimeout.count()) + " s",
                                 "start_timeout");
                }
            }
        }
    }
}

}  // namespace scaler::scheduler
