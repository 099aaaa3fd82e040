#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "scaler/scheduler/scaling/scaling_policy.h"
#include "scaling_supply.h"

namespace scaler::scheduler {

using namespace scaling;

namespace {

// Arrivals are expected back while a set has been quiet no longer than this many times the longest quiet
// spell it came back after, plus a tolerance of a couple of evaluations: a one-off burst keeps nothing, a
// set arriving in waves keeps its steady-state share through the gaps it has shown.
constexpr double kRecurrenceFactor = 1.5;
constexpr double kQuietToleranceSeconds = 2;

bool arrivalsExpected(const DemandEstimate& e) {
    return e.quietSeconds <= kRecurrenceFactor * e.longestQuietSeconds + kQuietToleranceSeconds;
}

// Workers ready now (connected and accepting) that offer every name in `required`, leaving out those a more
// specific set with queued tasks keeps busy: a GPU worker with GPU work waiting serves no plain task.
double readySupply(const ScalingSnapshot& snapshot, const CapabilityList& required) {
    double n = 0;
    for (const WorkerView& w : snapshot.workers) {
        if (!w.acceptingTasks || !capabilitiesSatisfy(required, w.capabilities)) continue;
        const bool busyElsewhere =
            std::any_of(snapshot.demand.begin(), snapshot.demand.end(), [&](const DemandView& d) {
                return d.queued > 0 && d.capabilities.size() > required.size() &&
                       capabilityNamesSubset(required, d.capabilities) &&
                       capabilitiesSatisfy(d.capabilities, w.capabilities);
            });
        n += !busyElsewhere;
    }
    return n;
}

struct Forecast {
    double rate = 0;           // tasks/s expected over the horizon (0 while arrivals are not expected)
    double window = 0;         // horizon + target_backlog_seconds
    double steadyWorkers = 0;  // rate x duration / utilisation
    double queuedWork = 0;     // worker-seconds waiting
    double keepWorkers = 0;    // for stops: steady share plus the backlog cleared by those already up
};

// `horizon`: seconds until a group started now has workers (the adapter's measured start-up).
Forecast forecast(const DemandView& demand, double horizon, const ScalingParameters& p) {
    const DemandEstimate& e = demand.estimate;
    Forecast f;
    f.window = horizon + p.targetBacklogSeconds;
    if (arrivalsExpected(e)) f.rate = std::max(0.0, e.arrivalRate + std::max(0.0, e.rateTrend) * f.window);
    f.steadyWorkers = f.rate * e.meanDurationSeconds / p.targetUtilization;
    f.queuedWork = static_cast<double>(demand.queued) * e.meanDurationSeconds;
    f.keepWorkers = f.steadyWorkers + f.queuedWork / p.targetBacklogSeconds;
    if (demand.tasks > 0) f.keepWorkers = std::max(f.keepWorkers, 1.0);
    return f;
}

// For starts: the steady share, or the `ready` workers plus enough new ones that, with the ready ones serving
// throughout the window and the new ones for target_backlog_seconds once up, the queued work and the load
// arriving over the window are done by its end.
double desiredWorkers(const DemandView& demand, const Forecast& f, double ready, const ScalingParameters& p) {
    const double load = f.rate * demand.estimate.meanDurationSeconds;
    const double newWorkers =
        std::max(0.0, (f.queuedWork + (load - ready) * f.window) / p.targetBacklogSeconds);
    const double desired = std::max(f.steadyWorkers, ready + newWorkers);
    return demand.tasks > 0 ? std::max(desired, 1.0) : desired;
}

std::string basisText(const DemandView& d, const Forecast& f, double desired, double horizon) {
    char buffer[320];
    std::snprintf(
        buffer, sizeof buffer,
        "%llu queued x %.2f s + %.1f/s (trend %+.2f/s2, %s) over %.1f s start-up: want %.1f workers",
        static_cast<unsigned long long>(d.queued), d.estimate.meanDurationSeconds, f.rate,
        d.estimate.rateTrend,
        arrivalsExpected(d.estimate) ? "arrivals expected" : "quiet, arrivals not expected", horizon,
        desired);
    return buffer;
}

// Before enough run times are seen, what is known of them still counts (knownWork): the tasks' supply is
// raised to it, and the assessment shows it when it asks for more than the task ratio.
void sizeByKnownWork(ScalingSnapshot& working, const DemandView& demand, const ScalingParameters& p,
                     ScalingDecision& decision) {
    const KnownWork known = knownWork(demand, p.targetBacklogSeconds);
    if (!decision.assessments.empty() && known.desiredWorkers > decision.assessments.back().desiredWorkers) {
        decision.assessments.back().desiredWorkers = known.desiredWorkers;
        decision.assessments.back().basis = known.basis;
    }
    startForKnownWork(working, demand, known, decision, p.lendSpecialAdapters);
}

// A set with too few observed run times: the capability rules size it until enough are seen.
void sizeByTaskRatio(ScalingSnapshot& working, const DemandView& demand, const ScalingParameters& p,
                     ScalingDecision& decision) {
    if (demand.tasks == 0) return;
    char basis[128];
    std::snprintf(basis, sizeof basis, "capability rules: %llu of %u run times observed",
                  static_cast<unsigned long long>(demand.estimate.observedRunTimes), p.minObservations);
    decision.assessments.push_back({demand.capabilities, capableSupply(working, demand.capabilities),
                                    static_cast<double>(demand.tasks) / p.upperTaskRatio, basis});
    startForTaskRatio(working, demand, p.upperTaskRatio, decision, p.lendSpecialAdapters);
    sizeByKnownWork(working, demand, p, decision);
}

// Starts groups, each on the adapter that fits best now, until the supply meets what the forecast asks for.
void sizeByForecast(ScalingSnapshot& working, const DemandView& demand, const ScalingParameters& p,
                    ScalingDecision& decision) {
    const double ready = readySupply(working, demand.capabilities);
    Forecast f;
    double horizon = 0, desired = 0;
    for (int n = 0; n < 1024; ++n) {
        const auto adapter = chooseAdapter(working, demand.capabilities, nullptr, p.lendSpecialAdapters);
        horizon = adapter ? working.adapters[*adapter].startupSeconds : 0;
        f = forecast(demand, horizon, p);
        desired = desiredWorkers(demand, f, ready, p);
        const double supply = capableSupply(working, demand.capabilities);
        // With nothing queued, half a group of shortfall is within the utilisation headroom: no start for it
        // (a steady load would otherwise round up a whole group for a fraction of a worker).
        const double halfGroup =
            adapter && demand.queued == 0 ? working.adapters[*adapter].workersPerGroup / 2.0 : 0;
        if (supply > 0 ? supply + halfGroup >= desired : desired <= 0) break;
        if (!adapter) {
            if (supply == 0 && !someAdapterOffers(working, demand.capabilities)) {
                decision.unschedulable.push_back(demand.capabilities);
            }
            break;
        }
        char reason[512];
        std::snprintf(reason, sizeof reason, "%s for %s; %.0f capable (%.0f ready)",
                      basisText(demand, f, desired, horizon).c_str(), describe(demand.capabilities).c_str(),
                      supply, ready);
        decision.commands.push_back(
            {ScalingCommand::Action::start, *adapter, demand.capabilities, {}, reason, "backlog_forecast"});
        addPendingGroup(working, *adapter, demand.capabilities);
    }
    decision.assessments.push_back({demand.capabilities, capableSupply(working, demand.capabilities), desired,
                                    basisText(demand, f, desired, horizon)});
}

// Why an idle group may stop, or nullopt when some set it serves still needs it.
std::optional<std::string> stopReason(const ScalingSnapshot& snapshot, const ScalingSnapshot& working,
                                      const std::vector<bool>& forecastable, const StopCandidate& c,
                                      const ScalingParameters& p) {
    const GroupView& group = snapshot.adapters[c.adapter].groups[c.group];
    std::string why;
    bool anyFallback = false;
    for (size_t i = 0; i < snapshot.demand.size(); ++i) {
        const DemandView& demand = snapshot.demand[i];
        if (!capabilitiesSatisfy(demand.capabilities, group.capabilities)) continue;
        if (!forecastable[i]) {
            anyFallback |= demand.tasks > 0;
            continue;
        }
        const double supply = capableSupply(working, demand.capabilities);
        // the horizon a replacement would need: never stop what would have to be started again before a new
        // group could be up
        const Forecast f = forecast(demand, snapshot.adapters[c.adapter].startupSeconds, p);
        // while arrivals go on, keep half a group beyond the share, the start side's tolerance: a stop that
        // lands exactly on the share is undone by the next wobble of the rate, at a whole start-up's cost
        const double margin = f.rate > 0 ? group.connectedWorkers / 2.0 : 0;
        if (supply - group.connectedWorkers < f.keepWorkers + margin - 1e-9) return std::nullopt;
        if (why.empty()) {
            char buffer[512];
            std::snprintf(
                buffer, sizeof buffer,
                "%s needs %.1f workers (%.1f/s x %.2f s / %.2f + %.0f queued), %.0f capable without "
                "this idle group",
                describe(demand.capabilities).c_str(), f.keepWorkers, f.rate,
                demand.estimate.meanDurationSeconds, p.targetUtilization, static_cast<double>(demand.queued),
                supply - group.connectedWorkers);
            why = buffer;
        }
    }
    if (anyFallback) {
        // some set it serves is still under the capability rules: they must allow the stop too
        const auto ratio = taskRatioAllowsStop(working, group, p.lowerTaskRatio, p.upperTaskRatio);
        if (!ratio) return std::nullopt;
        if (why.empty()) why = *ratio;
    }
    if (why.empty()) why = "no demand it could serve is expected; group idle";
    return why;
}

}  // namespace

ScalingDecision PredictiveScalingPolicy::decide(const ScalingSnapshot& snapshot) const {
    ScalingDecision decision;
    ScalingSnapshot working = snapshot;
    std::vector<bool> forecastable(snapshot.demand.size());
    for (size_t i = 0; i < snapshot.demand.size(); ++i) {
        const DemandView& demand = snapshot.demand[i];
        forecastable[i] = demand.estimate.observedRunTimes >= parameters_.minObservations;
        if (forecastable[i]) {
            sizeByForecast(working, demand, parameters_, decision);
        } else {
            sizeByTaskRatio(working, demand, parameters_, decision);
        }
    }
    if (!decision.commands.empty() || anyGroupStarting(snapshot)) return decision;

    // Every surplus idle group stops at once: the forecast, not one group per evaluation, paces scale-down.
    for (const StopCandidate& c : idleGroups(snapshot, parameters_.minGroupAgeSeconds)) {
        const auto why = stopReason(snapshot, working, forecastable, c, parameters_);
        if (!why) continue;
        const std::string& groupId = snapshot.adapters[c.adapter].groups[c.group].id;
        decision.commands.push_back(
            {ScalingCommand::Action::shutdown, c.adapter, {}, groupId, *why, "surplus_over_forecast"});
        removeGroupSupply(working, c.adapter, groupId);
    }
    return decision;
}

}  // namespace scaler::scheduler
