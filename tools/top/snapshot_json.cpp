#include "snapshot_json.h"

#include "scaler/protocol/capabilities.h"

namespace scaler {
namespace {

std::string groupState(wire::WorkerGroupState state) {
    switch (state) {
        case wire::WorkerGroupState::STARTING:
            return "starting";
        case wire::WorkerGroupState::RUNNING:
            return "running";
        case wire::WorkerGroupState::DRAINING:
            return "draining";
        case wire::WorkerGroupState::STOPPING:
            return "stopping";
        case wire::WorkerGroupState::FAILED:
            return "failed";
    }
    return "unknown";
}

std::string capabilities(capnp::List<wire::Capability>::Reader list) {
    return formatCapabilities(capabilitiesFromWire(list));
}

}  // namespace

nlohmann::json snapshotToJson(wire::MonitorSnapshot::Reader s) {
    using nlohmann::json;
    const auto t = s.getTasks();
    json out{
        {"timestamp_ms", s.getTimestampMs()},
        {"scheduler_address", s.getSchedulerAddress().cStr()},
        {"uptime_ms", s.getUptimeMs()},
        {"scheduler",
         {{"cpu_permille", s.getResource().getCpuPermille()}, {"rss_bytes", s.getResource().getRssBytes()}}},
        {"clients", s.getClients()},
        {"allocate_policy", s.getAllocatePolicy().cStr()},
        {"scaling_policy", s.getScalingPolicy().cStr()},
        {"dropped_messages", s.getDroppedMessages()},
        {"objects",
         {{"count", s.getObjects()},
          {"bytes", s.getObjectBytes()},
          {"memory_limit", s.getObjectMemoryLimit()}}},
        {"graphs", {{"live", s.getGraphs()}, {"nodes_waiting", s.getGraphNodesWaiting()}}},
        {"admission",
         {{"unfinished_tasks", s.getAdmission().getUnfinishedTasks()},
          {"unfinished_task_bytes", s.getAdmission().getUnfinishedTaskBytes()},
          {"max_queued_tasks", s.getAdmission().getMaxQueuedTasks()},
          {"max_queued_bytes", s.getAdmission().getMaxQueuedBytes()},
          {"client_task_share", s.getAdmission().getClientTaskShare()},
          {"client_byte_share", s.getAdmission().getClientByteShare()}}},
        {"tasks",
         {{"queued", t.getQueued()},
          {"running", t.getRunning()},
          {"cancelling", t.getCancelling()},
          {"succeeded", t.getSucceeded()},
          {"failed", t.getFailed()},
          {"cancelled", t.getCancelled()},
          {"worker_died", t.getWorkerDied()},
          {"timed_out", t.getTimedOut()},
          {"rejected", t.getRejected()}}},
    };
    json workers = json::array();
    for (auto w : s.getWorkers()) {
        workers.push_back({{"id", w.getWorkerId().cStr()},
                           {"capabilities", capabilities(w.getCapabilities())},
                           {"queue_size", w.getQueueSize()},
                           {"assigned", w.getAssigned()},
                           {"queued", w.getQueued()},
                           {"running", w.getRunning()},
                           {"done", w.getCompleted()},
                           {"cpu_permille", w.getResource().getCpuPermille()},
                           {"rss_bytes", w.getResource().getRssBytes()},
                           {"last_heartbeat_age_ms", w.getLastHeartbeatAgeMs()},
                           {"adapter_id", w.getAdapterId().cStr()},
                           {"worker_group_id", w.getWorkerGroupId().cStr()},
                           {"pid", w.getPid()},
                           {"hostname", w.getHostname().cStr()},
                           {"objects_fetched", w.getObjectsFetched()},
                           {"object_bytes_fetched", w.getObjectBytesFetched()},
                           {"object_cache_bytes", w.getObjectCacheBytes()},
                           {"current_function", w.getCurrentFunction().cStr()},
                           {"memory_limit_bytes", w.getMemoryLimitBytes()},
                           {"memory_full", w.getMemoryFull()}});
    }
    out["workers"] = workers;
    json adapters = json::array();
    for (auto a : s.getAdapters()) {
        adapters.push_back({{"id", a.getAdapterId().cStr()},
                            {"kind", a.getKind().cStr()},
                            {"max_worker_groups", a.getMaxWorkerGroups()},
                            {"priority", a.getPriority()},
                            {"workers_per_group", a.getWorkersPerGroup()},
                            {"groups_in_use", a.getGroupsInUse()},
                            {"capabilities", capabilities(a.getCapabilities())},
                            {"last_heartbeat_age_ms", a.getLastHeartbeatAgeMs()},
                            {"startup_ms", a.getStartupMs()},
                            {"billing", a.getBilling().cStr()},
                            {"cost_so_far", a.getCostSoFar()},
                            {"cost_per_hour", a.getCostPerHour()}});
    }
    out["adapters"] = adapters;
    json groups = json::array();
    for (auto g : s.getWorkerGroups()) {
        json ids = json::array();
        for (auto id : g.getWorkerIds()) ids.push_back(id.cStr());
        groups.push_back({{"id", g.getWorkerGroupId().cStr()},
                          {"adapter_id", g.getAdapterId().cStr()},
                          {"state", groupState(g.getState())},
                          {"capabilities", capabilities(g.getCapabilities())},
                          {"worker_ids", ids},
                          {"age_ms", g.getAgeMs()}});
    }
    out["worker_groups"] = groups;
    json events = json::array();
    for (auto e : s.getScalingEvents()) {
        events.push_back({{"timestamp_ms", e.getTimestampMs()},
                          {"adapter_id", e.getAdapterId().cStr()},
                          {"action", e.getAction().cStr()},
                          {"worker_group_id", e.getWorkerGroupId().cStr()},
                          {"reason", e.getReason().cStr()}});
    }
    out["scaling_events"] = events;
    json unschedulable = json::array();
    for (auto caps : s.getUnschedulable()) unschedulable.push_back(caps.cStr());
    out["unschedulable"] = unschedulable;
    json held = json::array();
    for (auto h : s.getHeldScaling()) {
        held.push_back({{"adapter_id", h.getAdapterId().cStr()},
                        {"action", h.getAction().cStr()},
                        {"held_because", h.getHeldBecause().cStr()},
                        {"wanted_because", h.getWantedBecause().cStr()}});
    }
    out["held_scaling"] = held;
    json demand = json::array();
    for (auto d : s.getDemand()) {
        demand.push_back({{"capabilities", d.getCapabilities().cStr()},
                          {"tasks", d.getTasks()},
                          {"queued", d.getQueued()},
                          {"arrival_rate", d.getArrivalRate()},
                          {"rate_trend", d.getRateTrend()},
                          {"mean_duration_seconds", d.getMeanDurationSeconds()},
                          {"supply_workers", d.getSupplyWorkers()},
                          {"desired_workers", d.getDesiredWorkers()},
                          {"basis", d.getBasis().cStr()}});
    }
    out["demand"] = demand;
    json stream = json::array();
    for (auto e : s.getTaskStream()) {
        stream.push_back({{"sequence", e.getSequence()},
                          {"worker_id", e.getWorkerId().cStr()},
                          {"function", e.getFunctionName().cStr()},
                          {"start_ms", e.getStartMs()},
                          {"end_ms", e.getEndMs()},
                          {"status", e.getStatus().cStr()}});
    }
    out["task_stream"] = stream;
    out["task_stream_skipped"] = s.getTaskStreamSkipped();
    json clients = json::array();
    for (auto c : s.getClientRows())
        clients.push_back({{"id", c.getClientId().cStr()}, {"tasks", c.getTasks()}});
    out["client_list"] = clients;
    out["latency_seconds"] = {{"p50", s.getLatencyP50Seconds()}, {"p99", s.getLatencyP99Seconds()}};
    out["incarnation"] = s.getIncarnation();
    out["frames_received"] = s.getFramesReceived();
    out["frames_sent"] = s.getFramesSent();
    return out;
}

}  // namespace scaler
