// scaler_scaling_sim: each scaling policy against each standard workload and adapter start-up delay, in
// simulated time; prints makespan, task wait p50/p95, worker-group-seconds (cost) and start/stop commands
// (thrash) as a Markdown table (docs/scaling.md), beside the lower bound and the clairvoyant schedules
// (clairvoyant_schedule.h) and, per policy, its group-seconds over the cheapest clairvoyant schedule that is
// at least as fast.
#include <cstdio>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "clairvoyant_schedule.h"
#include "cluster_simulation.h"
#include "scaler/common/command_line.h"
#include "scaler/common/log.h"

namespace {
std::string format(const char* pattern, double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, pattern, value);
    return buffer;
}
}  // namespace

int main(int argc, char** argv) {
    // "POLICY" or "POLICY; extra=parameters": each is a row per workload and start-up
    std::vector<std::string> policies{"vanilla", "capability",
                                      "capability; scale_down_stabilization_seconds=30", "predictive"};
    std::vector<std::string> only;
    unsigned seed = 1;
    CLI::App app{"scaler_scaling_sim: scaling policies against synthetic workloads in simulated time",
                 "scaler_scaling_sim"};
    app.add_option("--policies", policies,
                   "Scaling policies to compare, each with optional parameters: \"capability; "
                   "scale_down_stabilization_seconds=30\"")
        ->capture_default_str();
    std::vector<std::string> workloadNames;
    for (const auto& w : scaler::sim::standardWorkloads(1)) workloadNames.push_back(w.name);
    app.add_option("--workloads", only, "Only these workloads (burst, waves, ramp, mixed, trickle, slow15)")
        ->check(CLI::IsMember(workloadNames));
    app.add_option("--seed", seed, "Workload random seed")->capture_default_str();
    std::vector<std::string> billingSpecs;
    app.add_option(
        "--billing", billingSpecs,
        "How group runs are billed, as KIND=SPEC (KIND: native, container, ecs, or gpu for the gpu "
        "adapter in every row; SPEC: per-second|per-hour[:minimum=SECONDS][:price=PER_GROUP_HOUR]). "
        "Default: per second at 1 a group-hour, ecs with a 60 s minimum");
    bool trace = false;
    app.add_flag("--trace", trace,
                 "Print every adapter command at its simulated time, and the scheduler's log");
    scaler::parseOrExit(app, argc, argv);
    for (const auto& policy : policies) {
        const std::string error = scaler::sim::policyContentError("allocate=capability; scaling=" + policy);
        if (!error.empty()) {
            std::fprintf(stderr, "scaler_scaling_sim: error: --policies '%s': %s\n", policy.c_str(),
                         error.c_str());
            return 2;
        }
    }
    std::map<std::string, scaler::BillingModel> billing;  // by adapter kind, and "gpu"
    for (const std::string& spec : billingSpecs) {
        const size_t equals = spec.find('=');
        const std::string kind = spec.substr(0, equals);
        if (equals == std::string::npos ||
            (kind != "native" && kind != "container" && kind != "ecs" && kind != "gpu")) {
            std::fprintf(stderr,
                         "scaler_scaling_sim: error: --billing '%s': expected KIND=SPEC with KIND native, "
                         "container, ecs or gpu\n",
                         spec.c_str());
            return 2;
        }
        try {
            billing[kind] = scaler::parseBillingModel(spec.substr(equals + 1));
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "scaler_scaling_sim: error: --billing '%s': %s\n", spec.c_str(), e.what());
            return 2;
        }
    }
    const auto billingOf = [&](const std::string& kind) {
        const auto found = billing.find(kind);
        return found != billing.end() ? found->second : scaler::defaultBillingModel(kind);
    };
    if (trace) {
        scaler::log::setAll(spdlog::level::info, "  %v");
    } else {
        scaler::log::setAll(spdlog::level::off);
    }

    const std::vector<std::pair<std::string, double>> startups{
        {"native", 0.2}, {"container", 2}, {"ecs", 60}};
    std::printf(
        "| workload | start-up | policy | makespan s | x ideal | wait p50 s | wait p95 s | group-seconds | "
        "x ideal | starts | stops | x clairvoyant | billed group-s | cost |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const auto& workload : scaler::sim::standardWorkloads(seed)) {
        if (!only.empty() && std::find(only.begin(), only.end(), workload.name) == only.end()) continue;
        for (const auto& [kind, startup] : startups) {
            scaler::sim::SimSettings bounds;
            bounds.startupSeconds = startup;
            bounds.cpuBilling = billingOf(kind);
            bounds.gpuBilling = billing.count("gpu") != 0 ? billing["gpu"] : billingOf(kind);
            const auto ideal = scaler::sim::idealOf(workload, bounds);
            std::printf(
                "| %s (%zu) | %s %.1f s | ideal (lower bound) | %.1f | 1.00 | | | %.0f | 1.00 | | | | | |\n",
                workload.name.c_str(), workload.tasks.size(), kind.c_str(), startup, ideal.makespanSeconds,
                ideal.groupSeconds);
            const auto clairvoyant = scaler::sim::clairvoyantSchedules(workload, bounds);
            const double fastest = clairvoyant.front().makespanSeconds;
            for (const double slack : {1.0, 1.1, 1.25}) {
                const auto p = *scaler::sim::cheapestWithin(clairvoyant, fastest * slack);
                std::printf(
                    "| %s (%zu) | %s %.1f s | clairvoyant, makespan <= %.2f x its fastest (%u+%u groups, "
                    "%s) | "
                    "%.1f | %.2f | | | %.0f | %.2f | | | 1.00 | %.0f | %.2f |\n",
                    workload.name.c_str(), workload.tasks.size(), kind.c_str(), startup, slack, p.cpuGroups,
                    p.gpuGroups,
                    p.toDeadline ? "waits to a deadline"
                                 : format("waits <= %.2f s", p.patienceSeconds).c_str(),
                    p.makespanSeconds, p.makespanSeconds / ideal.makespanSeconds, p.groupSeconds,
                    p.groupSeconds / ideal.groupSeconds, p.billedSeconds, p.cost);
            }
            for (const auto& policy : policies) {
                scaler::sim::SimSettings settings = bounds;
                settings.policyContent = "allocate=capability; scaling=" + policy;
                settings.startupSeconds = startup;
                settings.trace = trace;
                const auto r = scaler::sim::simulate(workload, settings);
                // against the cheapest clairvoyant schedule as fast (within kSameMakespan: first in, first
                // out orders the last tasks a little differently than the scheduler does)
                const auto match =
                    scaler::sim::cheapestWithin(clairvoyant, r.makespanSeconds * scaler::sim::kSameMakespan);
                const std::string versus =
                    match ? format("%.2f", r.cost / match->cost) : std::string("faster");
                std::printf(
                    "| %s (%zu) | %s %.1f s | %s | %.1f | %.2f | %.2f | %.2f | %.0f | %.2f | %u | %u | %s "
                    "| %.0f | %.2f |%s\n",
                    workload.name.c_str(), workload.tasks.size(), kind.c_str(), startup, policy.c_str(),
                    r.makespanSeconds, r.makespanSeconds / ideal.makespanSeconds, r.waitP50, r.waitP95,
                    r.groupSeconds, r.groupSeconds / ideal.groupSeconds, r.starts, r.stops, versus.c_str(),
                    r.billedSeconds, r.cost, r.completed == workload.tasks.size() ? "" : " INCOMPLETE");
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
