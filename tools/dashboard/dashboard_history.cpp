#include "dashboard_history.h"

#include <algorithm>

namespace scaler::dashboard {
namespace {

template <typename T>
void pushBounded(std::deque<T>& points, T point, size_t limit) {
    points.push_back(std::move(point));
    while (points.size() > limit) points.pop_front();
}

uint64_t failedCount(const nlohmann::json& tasks) {
    return tasks.value("failed", uint64_t{0}) + tasks.value("worker_died", uint64_t{0}) +
           tasks.value("timed_out", uint64_t{0}) + tasks.value("rejected", uint64_t{0});
}

}  // namespace

void DashboardHistory::add(const nlohmann::json& snapshot) {
    ++snapshots_;
    const uint64_t unixMs = snapshot.value("timestamp_ms", uint64_t{0});
    const uint64_t incarnation = snapshot.value("incarnation", uint64_t{0});
    const auto& tasks = snapshot.at("tasks");
    const uint64_t succeeded = tasks.value("succeeded", uint64_t{0});
    const uint64_t failed = failedCount(tasks);

    Point point;
    point.unixMs = unixMs;
    // a new scheduler counts from zero: its first snapshot gives no rate
    const bool sameScheduler = lastUnixMs_ != 0 && incarnation == lastIncarnation_ && unixMs > lastUnixMs_;
    if (sameScheduler) {
        const double seconds = static_cast<double>(unixMs - lastUnixMs_) / 1000.0;
        point.succeededPerSecond =
            static_cast<double>(succeeded - std::min(succeeded, lastSucceeded_)) / seconds;
        point.failedPerSecond = static_cast<double>(failed - std::min(failed, lastFailed_)) / seconds;
    }
    point.queued = tasks.value("queued", uint64_t{0});
    point.running = tasks.value("running", uint64_t{0});
    point.workers = snapshot.at("workers").size();
    point.schedulerCpu = snapshot.at("scheduler").value("cpu_permille", 0) / 10.0;
    point.schedulerRssMiB =
        static_cast<double>(snapshot.at("scheduler").value("rss_bytes", uint64_t{0})) / 1048576.0;
    if (snapshot.contains("latency_seconds")) {
        point.latencyP50 = snapshot["latency_seconds"].value("p50", 0.0);
        point.latencyP99 = snapshot["latency_seconds"].value("p99", 0.0);
    }
    pushBounded(series_, point, kSeriesPoints);
    lastSucceeded_ = succeeded;
    lastFailed_ = failed;
    lastUnixMs_ = unixMs;
    lastIncarnation_ = incarnation;

    for (const auto& d : snapshot.value("demand", nlohmann::json::array())) {
        const std::string caps = d.value("capabilities", std::string());
        pushBounded(demand_[caps.empty() ? "{}" : caps],
                    DemandPoint{unixMs, d.value("tasks", 0.0), d.value("supply_workers", 0.0),
                                d.value("desired_workers", 0.0)},
                    kSeriesPoints);
    }

    std::set<std::string> present;
    for (const auto& w : snapshot.at("workers")) {
        const std::string id = w.value("id", std::string());
        present.insert(id);
        pushBounded(workers_[id],
                    WorkerPoint{w.value("cpu_permille", 0) / 10.0,
                                static_cast<double>(w.value("rss_bytes", uint64_t{0})) / 1048576.0},
                    kWorkerPoints);
    }
    std::erase_if(workers_, [&](const auto& entry) { return present.count(entry.first) == 0; });

    for (const auto& entry : snapshot.value("task_stream", nlohmann::json::array())) {
        if (!seenTasks_.emplace(incarnation, entry.value("sequence", uint64_t{0})).second) continue;
        pushBounded(taskStream_, entry, kTaskStreamEntries);
    }
    if (seenTasks_.size() > 4 * kTaskStreamEntries) {  // keep the dedup set as bounded as the stream
        seenTasks_.clear();
        for (const auto& entry : taskStream_)
            seenTasks_.emplace(incarnation, entry.value("sequence", uint64_t{0}));
    }

    for (const auto& event : snapshot.value("scaling_events", nlohmann::json::array())) {
        if (!seenEvents_.insert(event.dump()).second) continue;
        pushBounded(scalingEvents_, event, kScalingEvents);
    }
    if (seenEvents_.size() > 4 * kScalingEvents) {
        seenEvents_.clear();
        for (const auto& event : scalingEvents_) seenEvents_.insert(event.dump());
    }
    latest_ = snapshot;
}

nlohmann::json DashboardHistory::state() const {
    using nlohmann::json;
    json out;
    out["snapshots"] = snapshots_;
    if (latest_.is_null()) return out;
    json series{{"t", json::array()},
                {"succeeded_per_s", json::array()},
                {"failed_per_s", json::array()},
                {"queued", json::array()},
                {"running", json::array()},
                {"workers", json::array()},
                {"scheduler_cpu", json::array()},
                {"scheduler_rss_mib", json::array()},
                {"latency_p50", json::array()},
                {"latency_p99", json::array()}};
    for (const Point& p : series_) {
        series["t"].push_back(p.unixMs);
        series["succeeded_per_s"].push_back(p.succeededPerSecond);
        series["failed_per_s"].push_back(p.failedPerSecond);
        series["queued"].push_back(p.queued);
        series["running"].push_back(p.running);
        series["workers"].push_back(p.workers);
        series["scheduler_cpu"].push_back(p.schedulerCpu);
        series["scheduler_rss_mib"].push_back(p.schedulerRssMiB);
        series["latency_p50"].push_back(p.latencyP50);
        series["latency_p99"].push_back(p.latencyP99);
    }
    out["series"] = series;
    json demand = json::object();
    for (const auto& [caps, points] : demand_) {
        json set{{"t", json::array()},
                 {"tasks", json::array()},
                 {"supply", json::array()},
                 {"desired", json::array()}};
        for (const DemandPoint& p : points) {
            set["t"].push_back(p.unixMs);
            set["tasks"].push_back(p.tasks);
            set["supply"].push_back(p.supply);
            set["desired"].push_back(p.desired);
        }
        demand[caps] = set;
    }
    out["demand_series"] = demand;
    json workers = latest_.at("workers");
    for (auto& w : workers) {
        json cpu = json::array(), rss = json::array();
        if (auto it = workers_.find(w.value("id", std::string())); it != workers_.end()) {
            for (const WorkerPoint& p : it->second) {
                cpu.push_back(p.cpu);
                rss.push_back(p.rssMiB);
            }
        }
        w["cpu_history"] = cpu;
        w["rss_mib_history"] = rss;
    }
    out["workers"] = workers;
    for (const char* key : {"scheduler_address",
                            "timestamp_ms",
                            "uptime_ms",
                            "scheduler",
                            "allocate_policy",
                            "scaling_policy",
                            "tasks",
                            "adapters",
                            "worker_groups",
                            "held_scaling",
                            "demand",
                            "unschedulable",
                            "client_list",
                            "clients",
                            "latency_seconds",
                            "objects",
                            "graphs",
                            "admission",
                            "dropped_messages",
                            "task_stream_skipped",
                            "incarnation"}) {
        if (latest_.contains(key)) out[key] = latest_[key];
    }
    out["task_stream"] = json(taskStream_);
    out["scaling_events"] = json(scalingEvents_);
    return out;
}

}  // namespace scaler::dashboard
