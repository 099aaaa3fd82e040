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

// Ski rental. Through a lull an idle group costs its price every second; stopping it and starting another
// when arrivals resume costs a start-up billed before the group serves. So the steady share is held through
// a lull only until the lull has lasted what a restart costs: through every gap on a slow adapter, a couple
// of seconds of each on a fast one (at most twice what knowing the gap in advance would have paid). Never
// within a few of the set's own gaps between arrivals, which a steady trickle shows all the time.
constexpr double kMinLullSeconds = 2;
constexpr double kLullArrivalGaps = 4;

double restartSeconds(const DemandEstimate& e, double horizon) {
    const double arrivalGap = e.arrivalRate > 0 ? 1 / e.arrivalRate : 0;
    return std::max({kMinLullSeconds, horizon, kLullArrivalGaps * arrivalGap});
}

bool inCostlyLull(const DemandView& demand, double horizon) {
    return demand.queued == 0 && demand.estimate.quietSeconds > restartSeconds(demand.estimate, horizon);
}

// A group started for a backlog is paid for its start-up and the lull it is kept through after, whatever
// work it does. For arrivals in waves, a wave's backlog may take up to half the quiet spell the set has shown
// (it is still done before the next wave comes) while target_backlog_seconds would leave that fixed cost
// more than half the bill: fewer groups, each working longer.
double backlogSeconds(const DemandEstimate& e, double horizon, const ScalingParameters& p) {
    const double fixedCost = horizon + restartSeconds(e, horizon);
    return std::max(p.targetBacklogSeconds, std::min(2 * fixedCost, e.longestQuietSeconds / 2));
}

// A busy group drains only when a run of its sets is this many times shorter than drain_timeout_seconds.
constexpr double kDrainTimeoutPerRun = 4;

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
    const char* arrivals = "";  // whether arrivals are expected, and why not
    double rate = 0;            // tasks/s expected over the horizon (0 while arrivals are not expected)
    double backlogSeconds = 0;  // queued work should be done within this once new groups are up
    double window = 0;          // horizon + backlogSeconds
    double steadyWorkers = 0;   // rate x duration / utilisation
    double queuedWork = 0;      // worker-seconds waiting
    double keepWorkers = 0;     // for stops: steady share plus the backlog cleared by those already up
};

// `horizon`: seconds until a group started now has workers (the adapter's measured start-up).
Forecast forecast(const DemandView& demand, double horizon, const ScalingParameters& p) {
    const DemandEstimate& e = demand.estimate;
    Forecast f;
    f.backlogSeconds = backlogSeconds(e, horizon, p);
    f.window = horizon + f.backlogSeconds;
    if (!arrivalsExpected(e)) {
        f.arrivals = "quiet, arrivals not expected";
    } else if (inCostlyLull(demand, horizon)) {
        f.arrivals = "quiet for longer than a restart costs";
    } else if (demand.queued > 0 && e.longestQuietSeconds > f.window) {
        // arrivals in waves whose quiet spells outlast the window: the wave queued now is the load over
        // it, the next comes after it (counting a rate too sized a container wave's groups a third larger)
        f.arrivals = "a wave queued, quiet spells longer than the window";
    } else {
        f.arrivals = "arrivals expected";
        // The queued tasks are counted once, as backlog: each raised the smoothed level by about
        // 1 / rate_window_seconds when it arrived, and a burst's worth of that is no rate to come.
        const double level =
            std::max(0.0, e.arrivalRate - static_cast<double>(demand.queued) / p.rateWindowSeconds);
        f.rate = level + std::max(0.0, e.rateTrend) * f.window;
    }
    f.steadyWorkers = f.rate * e.meanDurationSeconds / p.targetUtilization;
    f.queuedWork = static_cast<double>(demand.queued) * e.meanDurationSeconds;
    f.keepWorkers = f.steadyWorkers + f.queuedWork / f.backlogSeconds;
    if (demand.tasks > 0) f.keepWorkers = std::max(f.keepWorkers, 1.0);
    return f;
}

// For starts: the steady share, or the `ready` workers plus enough new ones that, with the ready ones serving
// throughout the window and the new ones for the backlog time once up, the queued work and the load
// arriving over the window are done by its end.
double desiredWorkers(const DemandView& demand, const Forecast& f, double ready) {
    const double load = f.rate * demand.estimate.meanDurationSeconds;
    const double newWorkers = std::max(0.0, (f.queuedWork + (load - ready) * f.window) / f.backlogSeconds);
    const double desired = std::max(f.steadyWorkers, ready + newWorkers);
    return demand.tasks > 0 ? std::max(desired, 1.0) : desired;
}

std::string basisText(const DemandView& d, const Forecast& f, double desired, double horizon) {
    char buffer[320];
    std::snprintf(
        buffer, sizeof buffer,
        "%llu queued x %.2f s + %.1f/s (trend %+.2f/s2, %s) over %.1f s start-up: want %.1f workers",
        static_cast<unsigned long long>(d.queued), d.estimate.meanDurationSeconds, f.rate,
        d.estimate.rateTrend, f.arrivals, horizon, desired);
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
        desired = desiredWorkers(demand, f, ready);
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

// Why a group may drain (busy or idle), or nullopt when some set it serves still needs it.
std::optional<std::string> stopReason(const ScalingSnapshot& snapshot, const ScalingSnapshot& working,
                                      const std::vector<bool>& forecastable, const StopCandidate& c,
                                      const ScalingParameters& p) {
    const GroupView& group = snapshot.adapters[c.adapter].groups[c.group];
    const bool busy = group.assignedTasks > 0;
    std::string why;
    bool anyFallback = false;
    for (size_t i = 0; i < snapshot.demand.size(); ++i) {
        const DemandView& demand = snapshot.demand[i];
        if (!capabilitiesSatisfy(demand.capabilities, group.capabilities)) continue;
        if (!forecastable[i]) {
            anyFallback |= demand.tasks > 0;
            continue;
        }
        // only workers that are up: a stop may come while other groups boot (a 60 s start-up would
        // otherwise hold every surplus group for a minute), but never counting on them
        const double without = readySupply(working, demand.capabilities) - group.connectedWorkers;
        // A busy group drains only out of a steady state, where the other workers could hold every task of
        // the set one each (during a backlog, queued here or in workers' queues, every worker is needed to
        // its end, and a drained one would hand its queue back to it), and only when its tasks cannot
        // outlast drain_timeout_seconds (the deadline would put them back in the queue).
        if (busy && (static_cast<double>(demand.tasks) > without + 1e-9 ||
                     demand.estimate.meanDurationSeconds * kDrainTimeoutPerRun > p.drainTimeoutSeconds)) {
            return std::nullopt;
        }
        // the horizon a replacement would need: never stop what would have to be started again before a new
        // group could be up
        const Forecast f = forecast(demand, snapshot.adapters[c.adapter].startupSeconds, p);
        // while arrivals go on, keep half a group beyond the share, the start side's tolerance: a stop that
        // lands exactly on the share is undone by the next wobble of the rate, at a whole start-up's cost
        const double margin = f.rate > 0 ? group.connectedWorkers / 2.0 : 0;
        if (without < f.keepWorkers + margin - 1e-9) return std::nullopt;
        // nor below what the start side would ask for at once (a backlog arriving as the stop is decided)
        if (demand.queued > 0 && without < desiredWorkers(demand, f, without) - 1e-9) return std::nullopt;
        if (why.empty()) {
            char buffer[512];
            std::snprintf(
                buffer, sizeof buffer,
                "%s needs %.1f workers (%.1f/s x %.2f s / %.2f + %.0f queued), %.0f capable without "
                "this group",
                describe(demand.capabilities).c_str(), f.keepWorkers, f.rate,
                demand.estimate.meanDurationSeconds, p.targetUtilization, static_cast<double>(demand.queued),
                without);
            why = buffer;
        }
    }
    if (busy) {
        // a busy group is drained only for the forecast: the capability rules count tasks, not load
        if (anyFallback || why.empty()) return std::nullopt;
        why +=
            "; " + std::to_string(group.assignedTasks) + " tasks on it finish there or go back to the queue";
        return why;
    }
    if (anyFallback) {
        // some set it serves is still under the capability rules: they must allow the stop too, and as
        // under the capability policy, not while a group boots (their ratio counts booting workers)
        if (anyGroupStarting(snapshot)) return std::nullopt;
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
    if (!decision.commands.empty()) return decision;

    // Every surplus group drains at once: the forecast, not one group per evaluation, paces scale-down. Busy
    // ones too, the least loaded first: spreading tasks over every worker would otherwise keep a surplus
    // that the load left long ago (a 60 s start-up's blind starts, kept busy at a quarter of their room).
    for (const StopCandidate& c : drainableGroups(snapshot, parameters_.minGroupAgeSeconds)) {
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
