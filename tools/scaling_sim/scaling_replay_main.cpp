// scaler_scaling_replay: one of the simulator's workloads on a real cluster (a scheduler and two native
// adapters on loopback, shaped like the simulator's: a CPU one with up to 16 groups of 4 workers, a gpu one
// with up to 4 groups of 1), scaled down in time, and the simulator's row for the same scaled workload beside
// it: the check that the simulator tells the truth. Times are printed scaled back up.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cluster_simulation.h"
#include "monitor_subscriber.h"
#include "scaler/client/client.h"
#include "scaler/common/command_line.h"
#include "scaler/common/log.h"
#include "scaler/tools/child_process.h"

namespace {

using Clock = std::chrono::steady_clock;
using scaler::tools::ChildProcess;

double quantile(std::vector<double> values, double q) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())))];
}

// Group-seconds from the scaling events: every group is started and stopped once, so the sum of its
// lifetimes is the sum of the stop times less the sum of the start times.
struct EventLedger {
    struct Line {
        double at;
        std::string text;
    };
    std::set<std::string> seen;
    std::vector<Line> timeline;  // for --trace
    double startSum = 0, stopSum = 0;
    uint32_t starts = 0, stops = 0;
    void add(const nlohmann::json& snapshot) {
        for (const auto& e : snapshot["scaling_events"]) {
            if (!seen.insert(e.dump()).second) continue;
            const double at = e["timestamp_ms"].get<double>() / 1000.0;
            timeline.push_back(
                {at, e["action"].get<std::string>() + " " + e["adapter_id"].get<std::string>() + " " +
                         e["worker_group_id"].get<std::string>() + ": " + e["reason"].get<std::string>()});
            if (e["action"] == "start") {
                startSum += at;
                ++starts;
            } else if (e["action"] == "shutdown") {
                stopSum += at;
                ++stops;
            }
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string workloadName = "burst", policy = "predictive", logDir;
    double scale = 0.25, startup = 0.2;
    bool trace = false, simulatorOnly = false;
    unsigned seed = 1;
    CLI::App app{"scaler_scaling_replay: a simulator workload on a real cluster, beside the simulator's row",
                 "scaler_scaling_replay"};
    app.add_option("--workload", workloadName, "burst, waves, ramp, mixed, trickle or slow15")
        ->capture_default_str();
    app.add_option("--policy", policy, "Scaling policy, with optional parameters (\"capability; ...\")")
        ->capture_default_str();
    app.add_option("--time-scale", scale, "Arrivals and durations are multiplied by this")
        ->check(CLI::Range(0.01, 1.0))
        ->capture_default_str();
    app.add_option("--simulated-start-up", startup,
                   "The start-up the simulator assumes for the scaled run (real seconds; default: what the "
                   "scheduler measured of the real CPU adapter's groups, so both runs boot alike; this with "
                   "--simulator-only)")
        ->check(scaler::nonNegativeNumber())
        ->capture_default_str();
    app.add_option("--seed", seed, "Workload random seed")->capture_default_str();
    app.add_flag(
        "--trace", trace,
        "Print both runs' start and stop commands with their times (scaled, from the first arrival)");
    app.add_flag("--simulator-only", simulatorOnly,
                 "Only the simulator's run of the scaled workload, with --trace's commands and its log");
    app.add_option("--log-dir", logDir, "Where the cluster's logs go (default: a new directory in /tmp)");
    scaler::parseOrExit(app, argc, argv);
    const bool startupGiven = app.count("--simulated-start-up") > 0;
    if (const std::string error = scaler::sim::policyContentError("allocate=capability; scaling=" + policy);
        !error.empty()) {
        std::fprintf(stderr, "scaler_scaling_replay: error: --policy '%s': %s\n", policy.c_str(),
                     error.c_str());
        return 2;
    }
    scaler::log::setAll(spdlog::level::off);

    scaler::sim::Workload workload;
    for (auto& w : scaler::sim::standardWorkloads(seed)) {
        if (w.name == workloadName) workload = w;
    }
    if (workload.tasks.empty()) {
        std::fprintf(stderr, "scaler_scaling_replay: error: --workload '%s' is not a standard workload\n",
                     workloadName.c_str());
        return 2;
    }
    scaler::sim::Workload scaled = workload;
    for (auto& task : scaled.tasks) {
        task.arrival *= scale;
        task.duration *= scale;
    }
    if (simulatorOnly) {
        scaler::sim::SimSettings settings;
        settings.policyContent = "allocate=capability; scaling=" + policy;
        settings.startupSeconds = startup;
        settings.trace = true;
        scaler::log::setAll(spdlog::level::info, "  %v");
        const scaler::sim::SimResult sim = scaler::sim::simulate(scaled, settings);
        std::printf(
            "simulator: makespan %.1f s, wait p50 %.2f s, p95 %.2f s, %.0f group-seconds, %u starts, "
            "%u stops (scaled back up)\n",
            sim.makespanSeconds / scale, sim.waitP50 / scale, sim.waitP95 / scale, sim.groupSeconds / scale,
            sim.starts, sim.stops);
        return 0;
    }
    if (logDir.empty()) {
        char pattern[] = "/tmp/scaler-replay-XXXXXX";
        logDir = mkdtemp(pattern);
    } else {
        std::error_code error;  // the cluster's output would otherwise land on this terminal
        std::filesystem::create_directories(logDir, error);
        if (error) {
            std::fprintf(stderr, "scaler_scaling_replay: error: --log-dir '%s': %s\n", logDir.c_str(),
                         error.message().c_str());
            return 2;
        }
    }
    const std::string bin = scaler::tools::ownDirectory();
    const uint16_t port = scaler::tools::pickFreePortPair();
    const std::string address = "tcp://127.0.0.1:" + std::to_string(port);
    // the simulator's shape: workers hold 2 tasks, no balancing
    ChildProcess scheduler(
        {bin + "/scaler_scheduler", address, "--policy-content", "allocate=capability; scaling=" + policy,
         "--load-balance-seconds", "0", "--logging-level", "WARNING"},
        logDir + "/scheduler.log");
    const auto adapter = [&](const std::string& id, const std::string& groups, const std::string& perGroup,
                             const std::string& caps) {
        std::vector<std::string> args{bin + "/scaler_worker_adapter_native",
                                      address,
                                      "--adapter-id",
                                      id,
                                      "--max-worker-groups",
                                      groups,
                                      "--workers-per-group",
                                      perGroup,
                                      "--per-worker-task-queue-size",
                                      "2",
                                      "--heartbeat-interval-seconds",
                                      "0.5",
                                      "--shutdown-grace-seconds",
                                      "1",
                                      "--logging-level",
                                      "WARNING"};
        if (!caps.empty()) args.insert(args.end(), {"--per-worker-capabilities", caps});
        return std::make_unique<ChildProcess>(args, logDir + "/adapter-" + id + ".log");
    };
    auto cpu = adapter("cpu", "16", "4", "");
    auto gpu = adapter("gpu", "4", "1", "gpu");

    scaler::MonitorSubscriber monitor("tcp://127.0.0.1:" + std::to_string(port + 2));
    EventLedger ledger;
    std::mutex ledgerMutex;
    std::atomic<bool> watching{true};
    std::atomic<size_t> groupsNow{0};
    std::atomic<size_t> adaptersNow{0};
    std::atomic<uint32_t> cpuStartupMs{0};  // the scheduler's measure of the CPU adapter's start-up
    double realCost = 0;  // the scheduler's bill of both adapters (their default model: per second, price 1)
    std::thread watcher([&] {
        while (watching) {
            try {
                const auto snapshot = monitor.latest(std::chrono::seconds(2));
                std::lock_guard lock(ledgerMutex);
                ledger.add(snapshot);
                groupsNow = snapshot["worker_groups"].size();
                adaptersNow = snapshot["adapters"].size();
                double cost = 0;
                for (const auto& a : snapshot["adapters"]) cost += a.value("cost_so_far", 0.0);
                realCost = cost;
                for (const auto& a : snapshot["adapters"]) {
                    if (a["id"] == "cpu" && a.value("startup_ms", 0u) > 0) cpuStartupMs = a["startup_ms"];
                }
            } catch (const std::exception&) {
            }
        }
    });
    // both adapters registered before the clock starts, as in the simulator; seen through the watcher, the
    // subscriber's only user (a ZeroMQ socket polled from two threads aborted one run in four)
    const auto registeredBy = Clock::now() + std::chrono::seconds(100);
    while (adaptersNow < 2 && Clock::now() < registeredBy)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));

    scaler::Client client(address);
    std::mutex resultsMutex;
    std::vector<double> waits;
    double lastEnd = 0;
    const auto start = Clock::now();
    const double wallStart =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto since = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    std::vector<scaler::Future> futures;
    for (const auto& task : scaled.tasks) {
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(task.arrival)));
        scaler::SubmitOptions options;
        if (task.gpu) options.capabilities = "gpu";
        const auto ms = std::to_string(std::max<long>(1, std::lround(task.duration * 1000)));
        const double arrival = since();
        futures.push_back(client.submit("sleep_ms", ms, options));
        futures.back().then([&, arrival](const scaler::Future& done) {
            const double end = since();
            const double ran = std::chrono::duration<double>(done.profile().duration).count();
            std::lock_guard lock(resultsMutex);
            waits.push_back(std::max(0.0, end - arrival - ran));
            lastEnd = std::max(lastEnd, end);
        });
    }
    scaler::Client::gather(futures);
    // the bill runs until every group has stopped (the simulator counts the idle tail too)
    const auto tailDeadline = Clock::now() + std::chrono::seconds(120);
    while (groupsNow > 0 && Clock::now() < tailDeadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the last stop's snapshot
    watching = false;
    watcher.join();

    scaler::sim::SimSettings settings;
    settings.policyContent = "allocate=capability; scaling=" + policy;
    // the simulator is checked on the decisions, so it boots groups as fast as the real adapter did
    settings.startupSeconds = startupGiven || cpuStartupMs == 0 ? startup : cpuStartupMs / 1000.0;
    if (trace) {
        std::printf("real cluster:\n");
        std::lock_guard lock(ledgerMutex);
        for (const auto& line : ledger.timeline)
            std::printf("@%.2f s %s\n", line.at - wallStart, line.text.c_str());
        std::printf("simulator:\n");
        settings.trace = true;
        // the scheduler's reasons on stderr, as scaler_scaling_sim --trace prints them
        scaler::log::setAll(spdlog::level::info, "  %v");
    }
    const scaler::sim::SimResult sim = scaler::sim::simulate(scaled, settings);

    double groupSeconds = 0, cost = 0;
    uint32_t starts = 0, stops = 0;
    {
        std::lock_guard lock(ledgerMutex);
        cost = realCost;
        groupSeconds = ledger.stops == ledger.starts ? ledger.stopSum - ledger.startSum : NAN;
        starts = ledger.starts;
        stops = ledger.stops;
    }
    std::printf(
        "| workload | run | policy | makespan s | wait p50 s | wait p95 s | group-seconds | cost | starts | "
        "stops |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    // cost: group-hours billed by the second at price 1 (the native default), scaled back up like the times;
    // the real cluster's is the scheduler's own bill (AdapterBill), as scaler_top shows it
    std::printf("| %s (%zu) x %.2f | real cluster | %s | %.1f | %.2f | %.2f | %.0f | %.3f | %u | %u |\n",
                workloadName.c_str(), workload.tasks.size(), scale, policy.c_str(), lastEnd / scale,
                quantile(waits, 0.5) / scale, quantile(waits, 0.95) / scale, groupSeconds / scale,
                cost / scale, starts, stops);
    std::printf("| %s (%zu) x %.2f | simulator | %s | %.1f | %.2f | %.2f | %.0f | %.3f | %u | %u |\n",
                workloadName.c_str(), workload.tasks.size(), scale, policy.c_str(),
                sim.makespanSeconds / scale, sim.waitP50 / scale, sim.waitP95 / scale,
                sim.groupSeconds / scale, sim.cost / scale, sim.starts, sim.stops);
    std::printf(
        "simulator against the real cluster: makespan %+.0f%%, wait p95 %+.0f%%, group-seconds %+.0f%%, "
        "cost %+.0f%% (simulated start-up %.2f s); logs in %s\n",
        100.0 * (sim.makespanSeconds - lastEnd) / lastEnd,
        100.0 * (sim.waitP95 - quantile(waits, 0.95)) / std::max(quantile(waits, 0.95), 1e-9),
        100.0 * (sim.groupSeconds - groupSeconds) / groupSeconds, 100.0 * (sim.cost - cost) / cost,
        settings.startupSeconds, logDir.c_str());
    client.disconnect();
    return 0;
}
