#include "scaler/scheduler/monitoring/metrics_exposition.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace scaler::scheduler {
namespace {

// A label value with \, " and newlines escaped.
std::string escaped(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Exposition {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::string& labels, double value) {
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        char number[32];
        std::snprintf(number, sizeof number, " %.17g\n", value);
        out_ += number;
    }
    void histogram(const std::string& name, const std::string& labels, const LatencyHistogram& h) {
        const std::string prefix = labels.empty() ? "" : labels + ",";
        for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
            char bound[32];
            std::snprintf(bound, sizeof bound, "%g", LatencyHistogram::kBounds[i]);
            sample(name + "_bucket", prefix + "le=\"" + bound + "\"", static_cast<double>(h.cumulative(i)));
        }
        sample(name + "_bucket", prefix + "le=\"+Inf\"", static_cast<double>(h.count()));
        sample(name + "_sum", labels, h.sum());
        sample(name + "_count", labels, static_cast<double>(h.count()));
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

std::string label(const char* key, std::string_view value) {
    return std::string(key) + "=\"" + escaped(value) + "\"";
}

const char* phaseName(GroupPhase phase) {
    switch (phase) {
        case GroupPhase::pending:
            return "pending";
        case GroupPhase::starting:
            return "starting";
        case GroupPhase::running:
            return "running";
        case GroupPhase::draining:
            return "draining";
        case GroupPhase::stopping:
            return "stopping";
    }
    return "unknown";
}

void renderTasks(Exposition& e, const SchedulerCore& core) {
    const TaskStateCounts& counts = core.counts();
    e.family("scaler_tasks_finished_total", "counter", "Tasks that reached a terminal state, by state");
    for (TaskState s : {TaskState::succeeded, TaskState::failed, TaskState::cancelled, TaskState::workerDied,
                        TaskState::timedOut, TaskState::rejected}) {
        e.sample("scaler_tasks_finished_total", label("state", toString(s)), static_cast<double>(counts[s]));
    }
    e.family("scaler_tasks", "gauge", "Live tasks by state");
    for (TaskState s :
         {TaskState::queued, TaskState::assigned, TaskState::cancelling, TaskState::balancing}) {
        e.sample("scaler_tasks", label("state", toString(s)), static_cast<double>(counts[s]));
    }

    e.family("scaler_unfinished_tasks", "gauge",
             "Live tasks, queued to running (bounded by --max-queued-tasks)");
    e.sample("scaler_unfinished_tasks", "", static_cast<double>(core.unfinishedTasks()));
    e.family("scaler_unfinished_task_bytes", "gauge",
             "Bytes the live tasks carry (bounded by --max-queued-bytes)");
    e.sample("scaler_unfinished_task_bytes", "", static_cast<double>(core.unfinishedTaskBytes()));
    e.family("scaler_max_queued_tasks", "gauge", "--max-queued-tasks (0: no limit)");
    e.sample("scaler_max_queued_tasks", "", static_cast<double>(core.config().maxQueuedTasks));
    e.family("scaler_max_queued_bytes", "gauge", "--max-queued-bytes (0: no limit)");
    e.sample("scaler_max_queued_bytes", "", static_cast<double>(core.config().maxQueuedBytes));
    e.family("scaler_client_task_share", "gauge",
             "Unfinished tasks each client may have before its submits wait (the limit over clients + 1)");
    e.sample("scaler_client_task_share", "", static_cast<double>(core.clientShare().tasks));

    e.family("scaler_task_latency_seconds", "histogram", "From a task's arrival at the scheduler to its end");
    e.histogram("scaler_task_latency_seconds", "", core.taskLatency());
}

// At most this many capability sets get series of their own (those with the most live tasks), each label cut
// to kMaxSetLabelBytes: clients name sets, so what they name must not make a scrape megabytes.
constexpr size_t kMaxSetSeries = 256;
constexpr size_t kMaxSetLabelBytes = 200;

std::string setLabel(const CapabilityList& capabilities) {
    std::string text = formatCapabilities(capabilities);
    if (text.size() > kMaxSetLabelBytes) {
        char suffix[24];
        std::snprintf(suffix, sizeof suffix, "...#%016llx",
                      static_cast<unsigned long long>(std::hash<std::string>{}(text)));  // stays distinct
        text.resize(kMaxSetLabelBytes);
        text += suffix;
    }
    return label("capabilities", text);
}

void renderCapabilitySets(Exposition& e, const SchedulerCore& core) {
    const CapabilitySetRegistry& sets = core.capabilitySets();
    std::vector<CapabilitySetId> shown;
    for (CapabilitySetId id = 0; id < sets.size(); ++id) {
        if (sets[id].live) shown.push_back(id);
    }
    e.family("scaler_capability_sets", "gauge",
             "Distinct capability sets the scheduler holds (at most 4096)");
    e.sample("scaler_capability_sets", "", static_cast<double>(shown.size()));
    if (shown.size() > kMaxSetSeries) {
        std::partial_sort(shown.begin(), shown.begin() + kMaxSetSeries, shown.end(),
                          [&](CapabilitySetId a, CapabilitySetId b) {
                              if (sets[a].liveTasks != sets[b].liveTasks)
                                  return sets[a].liveTasks > sets[b].liveTasks;
                              return a < b;
                          });
        shown.resize(kMaxSetSeries);
        std::sort(shown.begin(), shown.end());
    }
    std::vector<std::string> labels;
    labels.reserve(shown.size());
    for (CapabilitySetId id : shown) labels.push_back(setLabel(sets[id].capabilities));
    e.family("scaler_capability_set_queued_tasks", "gauge", "Queue depth per capability set");
    for (size_t i = 0; i < shown.size(); ++i) {
        e.sample("scaler_capability_set_queued_tasks", labels[i],
                 static_cast<double>(sets[shown[i]].queue.size()));
    }
    e.family("scaler_capability_set_live_tasks", "gauge", "Queued or running tasks per capability set");
    for (size_t i = 0; i < shown.size(); ++i) {
        e.sample("scaler_capability_set_live_tasks", labels[i],
                 static_cast<double>(sets[shown[i]].liveTasks));
    }
    e.family("scaler_capability_set_tasks_finished_total", "counter",
             "Finished tasks per capability set and terminal state");
    for (size_t i = 0; i < shown.size(); ++i) {
        const auto& set = sets[shown[i]];
        for (size_t s = 0; s < set.finished.size(); ++s) {
            const auto state = static_cast<TaskState>(static_cast<size_t>(TaskState::succeeded) + s);
            e.sample("scaler_capability_set_tasks_finished_total",
                     labels[i] + "," + label("state", toString(state)), static_cast<double>(set.finished[s]));
        }
    }
}

void renderWorkersAndAdapters(Exposition& e, const SchedulerCore& core) {
    std::map<std::string, uint64_t> workersByAdapter;
    for (const WorkerRecord& w : core.workerTable()) {
        if (w.live) ++workersByAdapter[w.adapterId];
    }
    e.family("scaler_workers", "gauge", "Connected workers by adapter (empty: started by hand)");
    if (workersByAdapter.empty()) e.sample("scaler_workers", label("adapter", ""), 0);
    for (const auto& [adapter, n] : workersByAdapter) {
        e.sample("scaler_workers", label("adapter", adapter), static_cast<double>(n));
    }
    e.family("scaler_worker_groups", "gauge", "Worker groups by adapter and state");
    e.family("scaler_adapter_max_worker_groups", "gauge", "Most groups each adapter may run");
    e.family("scaler_adapter_cost_total", "counter",
             "Each adapter's group runs billed so far by its billing model (its --billing price's currency)");
    e.family("scaler_adapter_cost_per_hour", "gauge", "What each adapter's running groups cost an hour");
    for (const AdapterRecord& a : core.scaling().adapters()) {
        if (!a.live) continue;
        std::map<std::string, uint64_t> byPhase{
            {"starting", 0}, {"running", 0}, {"draining", 0}, {"stopping", 0}};
        for (const auto& [id, group] : a.groups) ++byPhase[phaseName(group.phase)];
        for (const auto& [phase, n] : byPhase) {
            e.sample("scaler_worker_groups", label("adapter", a.identity) + "," + label("state", phase),
                     static_cast<double>(n));
        }
        e.sample("scaler_adapter_max_worker_groups", label("adapter", a.identity), a.maxGroups);
        e.sample("scaler_adapter_cost_total", label("adapter", a.identity), a.bill.costSoFar(core.now()));
        e.sample("scaler_adapter_cost_per_hour", label("adapter", a.identity), a.bill.costPerHour());
    }
}

void renderScaling(Exposition& e, const SchedulerCore& core) {
    const ScalingMetrics& scaling = core.scaling().metrics();
    e.family("scaler_scaling_decisions_total", "counter",
             "Scaling events by action and the rule behind them");
    for (const auto& [key, n] : scaling.decisions) {
        e.sample("scaler_scaling_decisions_total",
                 label("action", key.first) + "," + label("rule", key.second), static_cast<double>(n));
    }
    e.family("scaler_adapter_command_seconds", "histogram",
             "From sending a command to an adapter to its answer");
    for (const auto& [key, h] : scaling.commandLatency) {
        e.histogram("scaler_adapter_command_seconds",
                    label("adapter", key.first) + "," + label("command", key.second), h);
    }
    e.family("scaler_adapter_command_failures_total", "counter",
             "Adapter commands answered with a failure, or never answered");
    for (const auto& [key, n] : scaling.commandFailures) {
        e.sample("scaler_adapter_command_failures_total",
                 label("adapter", std::get<0>(key)) + "," + label("command", std::get<1>(key)) + "," +
                     label("status", std::get<2>(key)),
                 static_cast<double>(n));
    }
}

}  // namespace

std::string MetricsExposition::render() const {
    Exposition e;
    renderTasks(e, core_);
    renderCapabilitySets(e, core_);
    renderWorkersAndAdapters(e, core_);
    renderScaling(e, core_);
    e.family("scaler_dropped_messages_total", "counter",
             "Malformed, misdirected or unauthorised messages dropped");
    e.sample("scaler_dropped_messages_total", "", static_cast<double>(core_.droppedMessages()));
    e.family("scaler_curve_refusals_total", "counter", "CURVE handshakes refused: keys on no allow-list");
    e.sample("scaler_curve_refusals_total", "", static_cast<double>(transport_.curveRefusals));
    e.family("scaler_frames_received_total", "counter", "Frames taken from the scheduler's socket");
    e.sample("scaler_frames_received_total", "", static_cast<double>(transport_.framesReceived));
    e.family("scaler_frames_sent_total", "counter", "Frames sent on the scheduler's socket");
    e.sample("scaler_frames_sent_total", "", static_cast<double>(transport_.framesSent));
    e.family("scaler_clients", "gauge", "Connected clients");
    e.sample("scaler_clients", "", static_cast<double>(core_.connectedClients()));
    return e.take();
}

}  // namespace scaler::scheduler
