#include "scaler/scheduler/monitoring/monitor_snapshot_writer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "scaler/common/printable.h"

namespace scaler::scheduler {
namespace {

// Function names as the watchers show them: a peer's 64 KiB name must not make every snapshot megabytes.
constexpr size_t kShownNameBytes = 128;

// A client's identity as watchers see it: its random part is what a peer would need to pose as it (without
// CURVE nothing else stops that), so only its first 8 characters are shown ("Client|python|2104cc55...").
std::string shownClientId(std::string_view identity) {
    const size_t bar = identity.rfind('|');
    if (bar == std::string_view::npos || identity.size() - bar - 1 < 16)
        return shortened(identity, kShownNameBytes);
    return shortened(identity.substr(0, bar + 1), kShownNameBytes) +
           std::string(identity.substr(bar + 1, 8)) + "...";
}

uint64_t ageMs(TimePoint now, TimePoint then) {
    return static_cast<uint64_t>(
        std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count()));
}

wire::WorkerGroupState toWire(GroupPhase phase) {
    switch (phase) {
        case GroupPhase::pending:
        case GroupPhase::starting:
            return wire::WorkerGroupState::STARTING;
        case GroupPhase::running:
            return wire::WorkerGroupState::RUNNING;
        case GroupPhase::draining:
            return wire::WorkerGroupState::DRAINING;
        case GroupPhase::stopping:
            return wire::WorkerGroupState::STOPPING;
    }
    return wire::WorkerGroupState::STARTING;
}

// The upper bound of the bucket holding quantile `q`: coarse, but what the histogram knows.
double quantileBound(const LatencyHistogram& histogram, double q) {
    if (histogram.count() == 0) return 0;
    const auto needed = static_cast<uint64_t>(q * static_cast<double>(histogram.count()));
    for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
        if (histogram.cumulative(i) >= needed) return LatencyHistogram::kBounds[i];
    }
    return LatencyHistogram::kBounds.back();
}

}  // namespace

void MonitorSnapshotWriter::writeAdmission(wire::Admission::Builder admission) const {
    const SchedulerConfig& config = core_.config();
    admission.setUnfinishedTasks(core_.unfinishedTasks());
    admission.setUnfinishedTaskBytes(core_.unfinishedTaskBytes());
    admission.setMaxQueuedTasks(config.maxQueuedTasks);
    admission.setMaxQueuedBytes(config.maxQueuedBytes);
    const ClientShare share = core_.clientShare();
    admission.setClientTaskShare(share.tasks);
    admission.setClientByteShare(share.bytes);
}

void MonitorSnapshotWriter::write(wire::MonitorSnapshot::Builder snapshot) const {
    const SchedulerConfig& config = core_.config();
    snapshot.setTimestampMs(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(core_.wallNow().time_since_epoch()).count()));
    snapshot.setSchedulerAddress(config.address);
    snapshot.setUptimeMs(ageMs(core_.now(), core_.startedAt()));
    snapshot.setClients(static_cast<uint32_t>(core_.connectedClients()));
    snapshot.setAllocatePolicy(config.policy.allocate);
    snapshot.setScalingPolicy(config.policy.scaling);
    snapshot.setDroppedMessages(core_.droppedMessages());
    snapshot.setObjects(core_.objects().count());
    snapshot.setObjectBytes(core_.objects().bytes());
    snapshot.setObjectMemoryLimit(core_.objects().limit());
    snapshot.setGraphs(core_.graphs().liveGraphs());
    snapshot.setGraphNodesWaiting(core_.graphs().waitingNodes());
    writeAdmission(snapshot.initAdmission());
    writeTasks(snapshot);
    writeWorkers(snapshot);
    writeAdaptersAndGroups(snapshot);
    writeScalingDecisions(snapshot);
    writeTaskStreamAndClients(snapshot);
    snapshot.setLatencyP50Seconds(quantileBound(core_.taskLatency(), 0.5));
    snapshot.setLatencyP99Seconds(quantileBound(core_.taskLatency(), 0.99));
    snapshot.setIncarnation(config.incarnation);
}

void MonitorSnapshotWriter::writeTaskStreamAndClients(wire::MonitorSnapshot::Builder snapshot) const {
    const auto& records = core_.taskStream().records();
    auto stream = snapshot.initTaskStream(static_cast<unsigned>(records.size()));
    unsigned i = 0;
    for (const TaskStreamRecord& record : records) {
        auto row = stream[i++];
        row.setSequence(record.sequence);
        row.setWorkerId(record.workerId);
        row.setFunctionName(shortened(record.functionName, kShownNameBytes));
        row.setStartMs(record.startMs);
        row.setEndMs(record.endMs);
        row.setStatus(std::string(record.status));
    }
    snapshot.setTaskStreamSkipped(core_.taskStream().skipped());
    auto clients = snapshot.initClientRows(static_cast<unsigned>(core_.connectedClients()));
    unsigned c = 0;
    for (const ClientRecord& client : core_.clientTable()) {
        if (!client.live || c == clients.size()) continue;
        clients[c].setClientId(shownClientId(client.identity));
        clients[c++].setTasks(client.tasks.size);
    }
}

void MonitorSnapshotWriter::writeTasks(wire::MonitorSnapshot::Builder snapshot) const {
    const TaskStateCounts& counts = core_.counts();
    auto out = snapshot.initTasks();
    out.setQueued(counts[TaskState::queued]);
    out.setRunning(counts[TaskState::assigned] + counts[TaskState::balancing]);
    out.setCancelling(counts[TaskState::cancelling]);
    out.setSucceeded(counts[TaskState::succeeded]);
    out.setFailed(counts[TaskState::failed]);
    out.setCancelled(counts[TaskState::cancelled]);
    out.setWorkerDied(counts[TaskState::workerDied]);
    out.setTimedOut(counts[TaskState::timedOut]);
    out.setRejected(counts[TaskState::rejected]);
}

void MonitorSnapshotWriter::writeWorkers(wire::MonitorSnapshot::Builder snapshot) const {
    auto rows = snapshot.initWorkers(static_cast<unsigned>(core_.connectedWorkers()));
    unsigned i = 0;
    for (const WorkerRecord& worker : core_.workerTable()) {
        if (!worker.live) continue;
        auto row = rows[i++];
        row.setWorkerId(worker.identity);
        capabilitiesToWire(worker.capabilities,
                           row.initCapabilities(static_cast<unsigned>(worker.capabilities.size())));
        row.setQueueSize(worker.queueSize);
        row.setAssigned(worker.assigned.size);
        row.setQueued(worker.reportedQueued);
        row.setRunning(worker.reportedRunning);
        row.setCompleted(worker.reportedCompleted);
        resourceToWire(worker.resource, row.initResource());
        row.setLastHeartbeatAgeMs(ageMs(core_.now(), worker.lastSeen));
        row.setAdapterId(worker.adapterId);
        row.setWorkerGroupId(worker.workerGroupId);
        row.setPid(worker.pid);
        row.setHostname(worker.hostname);
        row.setObjectsFetched(worker.objectsFetched);
        row.setObjectBytesFetched(worker.objectBytesFetched);
        row.setObjectCacheBytes(worker.objectCacheBytes);
        row.setMemoryLimitBytes(worker.memoryLimit);
        row.setMemoryFull(worker.memoryFull);
        if (worker.assigned.head != kNone)
            row.setCurrentFunction(
                shortened(core_.tasks()[worker.assigned.head].functionName(), kShownNameBytes));
    }
}

void MonitorSnapshotWriter::writeAdaptersAndGroups(wire::MonitorSnapshot::Builder snapshot) const {
    const ScalingController& scaling = core_.scaling();
    const ScalingSnapshot view = scaling.snapshot();
    auto adapterRows = snapshot.initAdapters(static_cast<unsigned>(view.adapters.size()));
    size_t groupCount = 0;
    for (const AdapterView& a : view.adapters) {
        for (const GroupView& g : a.groups) groupCount += !g.id.empty();
    }
    auto groupRows = snapshot.initWorkerGroups(static_cast<unsigned>(groupCount));
    unsigned g = 0;
    for (unsigned a = 0; a < view.adapters.size(); ++a) {
        const AdapterView& adapter = view.adapters[a];
        const AdapterRecord& record = *scaling.findAdapter(adapter.id);
        auto row = adapterRows[a];
        row.setAdapterId(adapter.id);
        row.setKind(record.kind);
        row.setMaxWorkerGroups(adapter.maxGroups);
        row.setPriority(adapter.priority);
        row.setWorkersPerGroup(adapter.workersPerGroup);
        row.setGroupsInUse(static_cast<uint32_t>(
            std::count_if(adapter.groups.begin(), adapter.groups.end(),
                          [](const auto& x) { return x.phase != GroupPhase::stopping; })));
        capabilitiesToWire(adapter.capabilities,
                           row.initCapabilities(static_cast<unsigned>(adapter.capabilities.size())));
        row.setLastHeartbeatAgeMs(ageMs(core_.now(), record.lastSeen));
        row.setStartupMs(static_cast<uint32_t>(std::lround(adapter.startupSeconds * 1000)));
        row.setBilling(record.bill.model().describe());
        row.setCostSoFar(record.bill.costSoFar(core_.now()));
        row.setCostPerHour(record.bill.costPerHour());
        for (const GroupView& group : adapter.groups) {
            if (group.id.empty()) continue;  // a start not answered yet
            auto groupRow = groupRows[g++];
            groupRow.setWorkerGroupId(group.id);
            groupRow.setAdapterId(adapter.id);
            groupRow.setState(toWire(group.phase));
            capabilitiesToWire(group.capabilities,
                               groupRow.initCapabilities(static_cast<unsigned>(group.capabilities.size())));
            const auto& ids = record.groups.at(group.id).workerIds;
            auto idList = groupRow.initWorkerIds(static_cast<unsigned>(ids.size()));
            for (unsigned i = 0; i < ids.size(); ++i) idList.set(i, ids[i]);
            groupRow.setAgeMs(static_cast<uint64_t>(group.ageSeconds * 1000));
        }
    }
}

void MonitorSnapshotWriter::writeScalingDecisions(wire::MonitorSnapshot::Builder snapshot) const {
    const ScalingController& scaling = core_.scaling();
    const auto& events = scaling.events();
    auto eventRows = snapshot.initScalingEvents(static_cast<unsigned>(events.size()));
    for (unsigned i = 0; i < events.size(); ++i) {
        eventRows[i].setTimestampMs(events[i].unixMs);
        eventRows[i].setAdapterId(events[i].adapterId);
        eventRows[i].setAction(events[i].action);
        eventRows[i].setWorkerGroupId(events[i].groupId);
        eventRows[i].setReason(events[i].reason);
    }
    const auto& unschedulable = scaling.unschedulable();
    auto unschedulableRows = snapshot.initUnschedulable(static_cast<unsigned>(unschedulable.size()));
    for (unsigned i = 0; i < unschedulable.size(); ++i) unschedulableRows.set(i, unschedulable[i]);
    const auto& held = scaling.held();
    auto heldRows = snapshot.initHeldScaling(static_cast<unsigned>(held.size()));
    for (unsigned i = 0; i < held.size(); ++i) {
        heldRows[i].setAdapterId(held[i].adapterId);
        heldRows[i].setAction(held[i].action);
        heldRows[i].setHeldBecause(held[i].heldBecause);
        heldRows[i].setWantedBecause(held[i].wantedBecause);
    }
    const auto& demand = scaling.demandSeen();
    auto demandRows = snapshot.initDemand(static_cast<unsigned>(demand.size()));
    for (unsigned i = 0; i < demand.size(); ++i) {
        const DemandRecord& d = demand[i];
        demandRows[i].setCapabilities(formatCapabilities(d.demand.capabilities));
        demandRows[i].setTasks(d.demand.tasks);
        demandRows[i].setQueued(d.demand.queued);
        demandRows[i].setArrivalRate(d.demand.estimate.arrivalRate);
        demandRows[i].setRateTrend(d.demand.estimate.rateTrend);
        demandRows[i].setMeanDurationSeconds(d.demand.estimate.meanDurationSeconds);
        demandRows[i].setSupplyWorkers(d.supplyWorkers);
        demandRows[i].setDesiredWorkers(d.desiredWorkers);
        demandRows[i].setBasis(d.basis);
    }
}

}  // namespace scaler::scheduler
