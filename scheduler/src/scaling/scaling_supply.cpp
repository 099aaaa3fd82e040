#include "scaling_supply.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace scaler::scheduler::scaling {

double capableSupply(const ScalingSnapshot& snapshot, const CapabilityList& required) {
    double supply = 0;
    for (const WorkerView& worker : snapshot.workers) {
        if (worker.acceptingTasks && capabilitiesSatisfy(required, worker.capabilities)) ++supply;
    }
    for (const AdapterView& adapter : snapshot.adapters) {
        for (const GroupView& group : adapter.groups) {
            const bool booting = group.phase == GroupPhase::pending || group.phase == GroupPhase::starting;
            if (booting && capabilitiesSatisfy(required, group.capabilities)) {
                supply += group.expectedWorkers > group.connectedWorkers
                              ? group.expectedWorkers - group.connectedWorkers
                              : 0;
            }
        }
    }
    return supply;
}

uint32_t groupsInUse(const AdapterView& adapter) {
    return static_cast<uint32_t>(
        std::count_if(adapter.groups.begin(), adapter.groups.end(),
                      [](const GroupView& g) { return g.phase != GroupPhase::stopping; }));
}

bool anyGroupStarting(const ScalingSnapshot& snapshot) {
    for (const AdapterView& adapter : snapshot.adapters) {
        for (const GroupView& group : adapter.groups) {
            if (group.phase == GroupPhase::pending || group.phase == GroupPhase::starting) return true;
        }
    }
    return false;
}

std::optional<size_t> chooseAdapter(const ScalingSnapshot& snapshot, const CapabilityList& required,
                                    const std::vector<bool>* eligible, bool lendSpecial) {
    std::optional<size_t> best;
    const auto extra = [&](const AdapterView& a) { return a.capabilities.size(); };
    const auto room = [](const AdapterView& a) { return static_cast<int64_t>(a.maxGroups) - groupsInUse(a); };
    const auto special = [&](const AdapterView& a) {
        return !capabilityNamesSubset(a.capabilities, required);
    };
    std::optional<uint32_t> plainTier;  // the cheapest tier of a plain adapter that could serve `required`
    for (const AdapterView& adapter : snapshot.adapters) {
        if (adapter.maxGroups == 0 || special(adapter) ||
            !capabilitiesSatisfy(required, adapter.capabilities))
            continue;
        plainTier = std::min(plainTier.value_or(adapter.priority), adapter.priority);
    }
    for (size_t i = 0; i < snapshot.adapters.size(); ++i) {
        const AdapterView& adapter = snapshot.adapters[i];
        if (eligible != nullptr && !(*eligible)[i]) continue;
        if (!adapter.startAllowed || room(adapter) <= 0) continue;
        if (!capabilitiesSatisfy(required, adapter.capabilities)) continue;
        if (!lendSpecial && special(adapter) && plainTier && adapter.priority >= *plainTier) continue;
        if (!best) {
            best = i;
            continue;
        }
        const AdapterView& current = snapshot.adapters[*best];
        // the cheaper tier first; within a tier the best fit, then the most room
        if (adapter.priority != current.priority) {
            if (adapter.priority < current.priority) best = i;
            continue;
        }
        if (extra(adapter) < extra(current) ||
            (extra(adapter) == extra(current) && room(adapter) > room(current))) {
            best = i;
        }
    }
    return best;
}

bool someAdapterOffers(const ScalingSnapshot& snapshot, const CapabilityList& required) {
    return std::any_of(snapshot.adapters.begin(), snapshot.adapters.end(), [&](const AdapterView& a) {
        return a.maxGroups > 0 && capabilitiesSatisfy(required, a.capabilities);
    });
}

void addPendingGroup(ScalingSnapshot& snapshot, size_t adapter, const CapabilityList& capabilities) {
    AdapterView& view = snapshot.adapters[adapter];
    GroupView group;
    group.phase = GroupPhase::pending;
    group.capabilities = capabilities.empty() ? view.capabilities : capabilities;
    group.expectedWorkers = view.workersPerGroup;
    view.groups.push_back(std::move(group));
}

namespace {
std::vector<StopCandidate> runningGroups(const ScalingSnapshot& snapshot, double minAgeSeconds,
                                         bool idleOnly) {
    std::vector<StopCandidate> out;
    for (size_t a = 0; a < snapshot.adapters.size(); ++a) {
        const auto& groups = snapshot.adapters[a].groups;
        for (size_t g = 0; g < groups.size(); ++g) {
            const GroupView& group = groups[g];
            if (group.phase == GroupPhase::running && (!idleOnly || group.assignedTasks == 0) &&
                group.ageSeconds >= minAgeSeconds) {
                out.push_back({a, g});
            }
        }
    }
    // the dearest tier first (tiers drain in reverse of how they fill), then the least loaded, then the
    // oldest
    std::stable_sort(out.begin(), out.end(), [&](const StopCandidate& x, const StopCandidate& y) {
        const uint32_t px = snapshot.adapters[x.adapter].priority, py = snapshot.adapters[y.adapter].priority;
        if (px != py) return px > py;
        const GroupView& gx = snapshot.adapters[x.adapter].groups[x.group];
        const GroupView& gy = snapshot.adapters[y.adapter].groups[y.group];
        if (gx.assignedTasks != gy.assignedTasks) return gx.assignedTasks < gy.assignedTasks;
        return gx.ageSeconds > gy.ageSeconds;
    });
    return out;
}
}  // namespace

std::vector<StopCandidate> idleGroups(const ScalingSnapshot& snapshot, double minAgeSeconds) {
    return runningGroups(snapshot, minAgeSeconds, true);
}

std::vector<StopCandidate> drainableGroups(const ScalingSnapshot& snapshot, double minAgeSeconds) {
    return runningGroups(snapshot, minAgeSeconds, false);
}

bool stopKeepsEnoughCapacity(double tasks, double workers, double groupWorkers, double upperRatio) {
    const double remaining = workers - groupWorkers;
    if (tasks > 0 && remaining <= 0) return false;
    if (remaining > 0 && tasks / remaining > upperRatio) return false;
    return true;
}

std::string describe(const CapabilityList& capabilities) {
    return capabilities.empty() ? std::string("{}") : "{" + formatCapabilities(capabilities) + "}";
}

void startForTaskRatio(ScalingSnapshot& working, const DemandView& demand, double upperRatio,
                       ScalingDecision& decision, bool lendSpecial) {
    if (demand.tasks == 0) return;
    const double tasks = static_cast<double>(demand.tasks);
    char buffer[256];
    for (int n = 0; n < 1024; ++n) {
        const double supply = capableSupply(working, demand.capabilities);
        if (supply > 0 && tasks / supply <= upperRatio) return;
        const auto adapter = chooseAdapter(working, demand.capabilities, nullptr, lendSpecial);
        if (!adapter) {
            if (supply == 0 && !someAdapterOffers(working, demand.capabilities)) {
                decision.unschedulable.push_back(demand.capabilities);
            }
            return;
        }
        if (supply == 0) {
            std::snprintf(buffer, sizeof buffer, "%.0f tasks need %s and no worker offers it", tasks,
                          describe(demand.capabilities).c_str());
        } else {
            std::snprintf(buffer, sizeof buffer, "%.0f tasks needing %s / %.0f capable workers = %.2f > %.2f",
                          tasks, describe(demand.capabilities).c_str(), supply, tasks / supply, upperRatio);
        }
        decision.commands.push_back({ScalingCommand::Action::start,
                                     *adapter,
                                     demand.capabilities,
                                     {},
                                     buffer,
                                     supply == 0 ? "no_capable_worker" : "above_upper_ratio"});
        addPendingGroup(working, *adapter, demand.capabilities);
    }
}

KnownWork knownWork(const DemandView& demand, double targetBacklogSeconds) {
    KnownWork known;
    const double seen = demand.estimate.observedRunTimes > 0 ? demand.estimate.meanDurationSeconds : 0;
    known.durationSeconds = std::max(seen, 2 * demand.runningAtLeastSeconds);
    known.tasks = static_cast<double>(demand.tasks);
    if (demand.tasks == 0 || known.durationSeconds <= 0 || targetBacklogSeconds <= 0) return known;
    known.desiredWorkers =
        std::min(known.tasks, std::ceil(known.tasks * known.durationSeconds / targetBacklogSeconds));
    char basis[256];
    if (seen >= 2 * demand.runningAtLeastSeconds) {
        std::snprintf(basis, sizeof basis, "%.0f tasks x %.2f s (runs seen) / target_backlog_seconds %.1f",
                      known.tasks, known.durationSeconds, targetBacklogSeconds);
    } else {
        std::snprintf(
            basis, sizeof basis,
            "%.0f tasks x %.2f s (twice the %.2f s they have run, none ended) / target_backlog_seconds %.1f",
            known.tasks, known.durationSeconds, demand.runningAtLeastSeconds, targetBacklogSeconds);
    }
    known.basis = basis;
    return known;
}

void startForKnownWork(ScalingSnapshot& working, const DemandView& demand, const KnownWork& known,
                       ScalingDecision& decision, bool lendSpecial) {
    for (int n = 0; n < 1024 && known.desiredWorkers > 0; ++n) {
        const double supply = capableSupply(working, demand.capabilities);
        if (supply >= known.desiredWorkers) return;
        const auto adapter = chooseAdapter(working, demand.capabilities, nullptr, lendSpecial);
        if (!adapter) return;
        if (working.adapters[*adapter].startupSeconds >=
            known.tasks * known.durationSeconds / std::max(supply, 1.0)) {
            return;
        }
        char reason[384];
        std::snprintf(reason, sizeof reason, "%s: want %.0f workers for %s, %.0f capable",
                      known.basis.c_str(), known.desiredWorkers, describe(demand.capabilities).c_str(),
                      supply);
        decision.commands.push_back(
            {ScalingCommand::Action::start, *adapter, demand.capabilities, {}, reason, "known_work"});
        addPendingGroup(working, *adapter, demand.capabilities);
    }
}

std::optional<std::string> taskRatioAllowsStop(const ScalingSnapshot& snapshot, const GroupView& group,
                                               double lowerRatio, double upperRatio) {
    double tasks = 0;
    for (const DemandView& d : snapshot.demand) {
        if (d.tasks == 0 || !capabilitiesSatisfy(d.capabilities, group.capabilities)) continue;
        if (!d.capabilities.empty() || group.capabilities.empty()) tasks += static_cast<double>(d.tasks);
        const double supply = capableSupply(snapshot, d.capabilities);
        if (!stopKeepsEnoughCapacity(static_cast<double>(d.tasks), supply, group.connectedWorkers,
                                     upperRatio)) {
            return std::nullopt;
        }
    }
    const double workers = capableSupply(snapshot, group.capabilities);
    if (workers == 0 || tasks / workers >= lowerRatio) return std::nullopt;
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, "%.0f tasks for %.0f workers offering %s = %.2f < %.2f; group idle",
                  tasks, workers, describe(group.capabilities).c_str(), tasks / workers, lowerRatio);
    return std::string(buffer);
}

void removeGroupSupply(ScalingSnapshot& working, size_t adapter, const std::string& groupId) {
    const std::string& adapterId = working.adapters[adapter].id;
    for (WorkerView& worker : working.workers) {
        if (worker.adapterId == adapterId && worker.groupId == groupId) worker.acceptingTasks = false;
    }
    for (GroupView& group : working.adapters[adapter].groups) {
        if (group.id == groupId) group.phase = GroupPhase::stopping;
    }
}

}  // namespace scaler::scheduler::scaling
