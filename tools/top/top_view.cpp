#include "top_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace scaler::top {
namespace {

using nlohmann::json;

std::string format(const char* pattern, auto... args) {
    char buffer[1024];
    std::snprintf(buffer, sizeof buffer, pattern, args...);
    return buffer;
}

std::string fit(std::string text, int width) {
    if (width <= 0) return {};
    if (static_cast<int>(text.size()) > width) text.resize(static_cast<size_t>(width));
    return text;
}

std::string duration(uint64_t ms) {
    const uint64_t s = ms / 1000;
    if (s < 60) return format("%llus", (unsigned long long)s);
    if (s < 3600) return format("%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    return format("%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60));
}

std::string mebibytes(uint64_t bytes) {
    return format("%.1f", bytes / 1048576.0);
}

// "850 of 1000 tasks", "1.0 of 4.0 MiB", "7 tasks (no limit)"
std::string ofLimit(uint64_t used, uint64_t limit, bool bytes) {
    const auto amount = [&](uint64_t n) {
        return bytes ? mebibytes(n) : format("%llu", (unsigned long long)n);
    };
    const char* unit = bytes ? " MiB" : " tasks";
    if (limit == 0) return amount(used) + unit + " (no limit)";
    return amount(used) + " of " + amount(limit) + unit;
}

// The scheduler's fill against --max-queued-tasks/--max-queued-bytes and each client's share; `nearFull`
// when either is at 90 % or more (clients' submits are about to wait).
std::string admissionLine(const json& a, bool& nearFull) {
    const auto n = [&](const char* key) { return a.value(key, uint64_t{0}); };
    const auto near = [](uint64_t used, uint64_t limit) { return limit != 0 && used * 10 >= limit * 9; };
    nearFull = near(n("unfinished_tasks"), n("max_queued_tasks")) ||
               near(n("unfinished_task_bytes"), n("max_queued_bytes"));
    std::string line = "admission  unfinished " +
                       ofLimit(n("unfinished_tasks"), n("max_queued_tasks"), false) + ", " +
                       ofLimit(n("unfinished_task_bytes"), n("max_queued_bytes"), true);
    if (n("client_task_share") != 0 || n("client_byte_share") != 0) {
        line += format("  each client up to %llu tasks, %s MiB", (unsigned long long)n("client_task_share"),
                       mebibytes(n("client_byte_share")).c_str());
    }
    return line;
}

// Per-second change of a task counter between the previous and the latest snapshot.
std::string rate(const TopState& state, const char* counter) {
    if (state.previous.is_null()) return "";
    const double seconds =
        (state.snapshot["timestamp_ms"].get<double>() - state.previous["timestamp_ms"].get<double>()) /
        1000.0;
    if (seconds <= 0) return "";
    const double delta =
        state.snapshot["tasks"][counter].get<double>() - state.previous["tasks"][counter].get<double>();
    return format(" (%+.0f/s)", delta / seconds);
}

json numberOr(const json& value, double fallback) {
    return value.is_number() ? value : json(fallback);
}

}  // namespace

const char* columnName(WorkerColumn column) {
    static const char* kNames[] = {"ID",   "GROUP", "CAPABILITIES", "QUEUED", "RUNNING",
                                   "DONE", "CPU%",  "RSS MiB",      "HB"};
    return kNames[static_cast<int>(column)];
}

std::vector<json> sortedWorkers(const TopState& state) {
    std::vector<json> workers;
    if (state.snapshot.is_null()) return workers;
    for (const auto& w : state.snapshot["workers"]) workers.push_back(w);
    const auto key = [&](const json& w) -> json {
        switch (state.sortColumn) {
            case WorkerColumn::id:
                return w["id"];
            case WorkerColumn::group:
                return w["worker_group_id"];
            case WorkerColumn::capabilities:
                return w["capabilities"];
            case WorkerColumn::queued:
                return w["queued"];
            case WorkerColumn::running:
                return w["running"];
            case WorkerColumn::done:
                return w["done"];
            case WorkerColumn::cpu:
                return w["cpu_permille"];
            case WorkerColumn::rss:
                return w["rss_bytes"];
            case WorkerColumn::heartbeat:
                return w["last_heartbeat_age_ms"];
        }
        return w["id"];
    };
    std::stable_sort(workers.begin(), workers.end(), [&](const json& a, const json& b) {
        const json ka = key(a), kb = key(b);
        if (ka == kb) return a["id"] < b["id"];
        return state.sortDescending ? kb < ka : ka < kb;
    });
    return workers;
}

std::vector<Line> renderTop(TopState& state, int rows, int columns) {
    std::vector<Line> lines;
    const auto add = [&](std::string text, LineStyle style = LineStyle::normal) {
        lines.push_back({fit(std::move(text), columns), style});
    };

    if (state.snapshot.is_null()) {
        add("scaler_top  " + state.monitorAddress, LineStyle::title);
        add("waiting for scheduler at " + state.monitorAddress + " ... (q to quit)", LineStyle::warning);
        if (!state.connectionProblem.empty()) add(state.connectionProblem, LineStyle::warning);
        return lines;
    }
    const json& s = state.snapshot;
    const json& t = s["tasks"];
    add(format("scaler_top  scheduler %s  up %s  cpu %.1f%%  rss %s MiB  clients %u  policy %s/%s",
               s["scheduler_address"].get<std::string>().c_str(), duration(s["uptime_ms"]).c_str(),
               s["scheduler"]["cpu_permille"].get<double>() / 10.0,
               mebibytes(s["scheduler"]["rss_bytes"]).c_str(), s["clients"].get<unsigned>(),
               s["allocate_policy"].get<std::string>().c_str(),
               s["scaling_policy"].get<std::string>().c_str()),
        LineStyle::title);
    add(
        format("tasks  queued %llu  running %llu  succeeded %llu%s  failed %llu%s  cancelled %llu%s  "
               "worker-died %llu",
               t["queued"].get<unsigned long long>(), t["running"].get<unsigned long long>(),
               t["succeeded"].get<unsigned long long>(), rate(state, "succeeded").c_str(),
               t["failed"].get<unsigned long long>(), rate(state, "failed").c_str(),
               t["cancelled"].get<unsigned long long>(), rate(state, "cancelled").c_str(),
               t["worker_died"].get<unsigned long long>()));
    if (s.contains("admission")) {
        bool nearFull = false;
        std::string line = admissionLine(s["admission"], nearFull);
        add(std::move(line), nearFull ? LineStyle::warning : LineStyle::normal);
    }
    if (state.secondsSinceSnapshot > state.staleAfterSeconds) {
        add(format(
                "scheduler not answering for %.0f s; showing the last snapshot, waiting for scheduler at %s",
                state.secondsSinceSnapshot, state.monitorAddress.c_str()),
            LineStyle::warning);
        if (!state.connectionProblem.empty()) add(state.connectionProblem, LineStyle::warning);
    }
    if (!state.fitContent && (rows < kMinRows || columns < kMinColumns)) {
        add(format("terminal too small (%dx%d); need at least %dx%d", columns, rows, kMinColumns, kMinRows),
            LineStyle::warning);
        return lines;
    }
    if (state.showHelp) {
        add("");
        add("keys", LineStyle::header);
        for (const char* help :
             {"  q            quit", "  s / S        sort workers by the next / previous column",
              "  r            reverse the sort order", "  up / down    scroll workers by a line",
              "  PgUp / PgDn  scroll workers by a page", "  Home / End   first / last workers",
              "  ?            this help (any key closes it)"}) {
            add(help);
        }
        return lines;
    }

    const json& adapters = s["adapters"];
    const json& groups = s["worker_groups"];
    const json& events = s["scaling_events"];
    const auto shown = [&](const json& rowsOf, int limit) {
        return state.fitContent ? static_cast<int>(rowsOf.size())
                                : std::min<int>(static_cast<int>(rowsOf.size()), limit);
    };
    const int adapterRows = shown(adapters, 4);
    const int groupRows = shown(groups, 6);
    const int eventRows = shown(events, 5);
    const int demandRows =
        s.contains("demand") && !s["demand"].empty() ? static_cast<int>(s["demand"].size()) + 1 : 0;
    const int heldRows = s.contains("held_scaling") ? static_cast<int>(s["held_scaling"].size()) : 0;
    const int used = static_cast<int>(lines.size()) + (adapterRows ? adapterRows + 2 : 0) +
                     (groupRows ? groupRows + 2 : 0) + (eventRows ? eventRows + 2 : 0) + demandRows +
                     heldRows + static_cast<int>(s["unschedulable"].size()) + 3;
    const auto workers = sortedWorkers(state);
    const int count = static_cast<int>(workers.size());
    const int workerRows = state.fitContent ? count : std::max(1, rows - used);

    if (adapterRows > 0) {
        add("");
        add(format("%-24s %-10s %9s %9s %-20s %7s %8s %10s %8s", "ADAPTER", "KIND", "GROUPS", "PER-GROUP",
                   "CAPABILITIES", "HB", "START-UP", "COST", "COST/H"),
            LineStyle::header);
        for (int i = 0; i < adapterRows; ++i) {
            const json& a = adapters[i];
            const unsigned startupMs = a.value("startup_ms", 0u);
            // in the currency of the adapter's --billing price (group-hours at the default price of 1)
            add(format("%-24.24s %-10.10s %4u/%-4u %9u %-20.20s %7s %8s %10.4g %8.4g",
                       a["id"].get<std::string>().c_str(), a["kind"].get<std::string>().c_str(),
                       a["groups_in_use"].get<unsigned>(), a["max_worker_groups"].get<unsigned>(),
                       a["workers_per_group"].get<unsigned>(), a["capabilities"].get<std::string>().c_str(),
                       duration(a["last_heartbeat_age_ms"]).c_str(),
                       startupMs == 0 ? "-" : format("%.2fs", startupMs / 1000.0).c_str(),
                       a.value("cost_so_far", 0.0), a.value("cost_per_hour", 0.0)));
        }
    }
    if (groupRows > 0) {
        add("");
        add(format("%-22s %-20s %-9s %-20s %7s %7s", "GROUP", "ADAPTER", "STATE", "CAPABILITIES", "WORKERS",
                   "AGE"),
            LineStyle::header);
        for (int i = 0; i < groupRows; ++i) {
            const json& g = groups[i];
            add(format("%-22.22s %-20.20s %-9s %-20.20s %7zu %7s", g["id"].get<std::string>().c_str(),
                       g["adapter_id"].get<std::string>().c_str(), g["state"].get<std::string>().c_str(),
                       g["capabilities"].get<std::string>().c_str(), g["worker_ids"].size(),
                       duration(g["age_ms"]).c_str()));
        }
    }

    state.scroll = std::clamp(state.scroll, 0, std::max(0, count - workerRows));
    add("");
    add(format(
        "WORKERS %d  sorted by %s %s%s%s", count, columnName(state.sortColumn),
        state.sortDescending ? "desc" : "asc",
        state.fitContent ? "" : "  (s sort, r reverse, arrows/PgUp/PgDn scroll, ? help, q quit)",
        count > workerRows
            ? format("  rows %d-%d", state.scroll + 1, std::min(count, state.scroll + workerRows)).c_str()
            : ""));
    add(format("%-40s %-20s %-12s %6s %7s %9s %6s %8s %6s", "ID", "GROUP", "CAPABILITIES", "QUEUED",
               "RUNNING", "DONE", "CPU%", "RSS MiB", "HB"),
        LineStyle::header);
    for (int i = state.scroll; i < std::min(count, state.scroll + workerRows); ++i) {
        const json& w = workers[static_cast<size_t>(i)];
        add(format("%-40.40s %-20.20s %-12.12s %6u %7u %9llu %6.1f %8s %6s",
                   w["id"].get<std::string>().c_str(), w["worker_group_id"].get<std::string>().c_str(),
                   w["capabilities"].get<std::string>().c_str(), w["queued"].get<unsigned>(),
                   w["running"].get<unsigned>(), w["done"].get<unsigned long long>(),
                   numberOr(w["cpu_permille"], 0).get<double>() / 10.0, mebibytes(w["rss_bytes"]).c_str(),
                   duration(w["last_heartbeat_age_ms"]).c_str()));
    }
    for (int i = std::min(count, state.scroll + workerRows) - state.scroll; i < workerRows; ++i) add("");

    if (eventRows > 0) {
        add(format("%-8s %-16s %-12s %-22s %s", "WHEN", "ADAPTER", "ACTION", "GROUP",
                   "REASON (latest scaling decisions)"),
            LineStyle::header);
        const uint64_t now = s["timestamp_ms"];
        for (size_t i = events.size() - static_cast<size_t>(eventRows); i < events.size(); ++i) {
            const json& e = events[i];
            const uint64_t at = e["timestamp_ms"];
            add(format(
                "%-8s %-16.16s %-12.12s %-22.22s %s", (duration(now > at ? now - at : 0) + " ago").c_str(),
                e["adapter_id"].get<std::string>().c_str(), e["action"].get<std::string>().c_str(),
                e["worker_group_id"].get<std::string>().c_str(), e["reason"].get<std::string>().c_str()));
        }
    }
    // The latest evaluation's inputs and what it held back (older snapshots have neither).
    if (s.contains("demand") && !s["demand"].empty()) {
        add(format("%-20s %7s %7s %8s %8s %7s %7s  %s", "DEMAND", "TASKS", "QUEUED", "RATE/s", "RUN s",
                   "SUPPLY", "WANT", "BASIS (latest scaling evaluation)"),
            LineStyle::header);
        for (const json& d : s["demand"]) {
            const std::string caps = d["capabilities"].get<std::string>();
            add(format("%-20.20s %7llu %7llu %8.2f %8.3f %7.1f %7.1f  %s", caps.empty() ? "{}" : caps.c_str(),
                       d["tasks"].get<unsigned long long>(), d["queued"].get<unsigned long long>(),
                       d["arrival_rate"].get<double>(), d["mean_duration_seconds"].get<double>(),
                       d["supply_workers"].get<double>(), d["desired_workers"].get<double>(),
                       d["basis"].get<std::string>().c_str()));
        }
    }
    if (s.contains("held_scaling")) {
        for (const json& h : s["held_scaling"]) {
            add("held " + h["action"].get<std::string>() + " on " + h["adapter_id"].get<std::string>() +
                    ": " + h["held_because"].get<std::string>() +
                    " (wanted: " + h["wanted_because"].get<std::string>() + ")",
                LineStyle::warning);
        }
    }
    for (const auto& caps : s["unschedulable"]) {
        add("unschedulable: tasks need {" + caps.get<std::string>() + "}; no worker or adapter offers it",
            LineStyle::warning);
    }
    if (!state.fitContent && static_cast<int>(lines.size()) > rows) lines.resize(static_cast<size_t>(rows));
    return lines;
}

}  // namespace scaler::top
