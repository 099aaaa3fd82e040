#include <cstdio>
#include <set>

#include "scaler/scheduler/scaling_policy.h"
#include "scaling_supply.h"

namespace scaler::scheduler {

using namespace scaling;

ScalingDecision CapabilityScalingPolicy::decide(const ScalingSnapshot& snapshot) const {
    ScalingDecision decision;
    ScalingSnapshot working = snapshot;  // starts decided here count as supply for the next set
    const auto& p = parameters_;
    char buffer[256];

    for (const DemandView& demand : snapshot.demand) {
        if (demand.tasks == 0) continue;
        const double tasks = static_cast<double>(demand.tasks);
        // Bulk: as many groups as bring the ratio down to upper_task_ratio, in this one decision (each start
        // is supply for the next check), not one group per evaluation.
        for (int n = 0; n < 1024; ++n) {
            const double supply = capableSupply(working, demand.capabilities);
            if (supply > 0 && tasks / supply <= p.upperTaskRatio) break;
            const auto adapter = chooseAdapter(working, demand.capabilities);
            if (!adapter) {
                if (supply == 0 && !someAdapterOffers(working, demand.capabilities)) {
                    decision.unschedulable.push_back(demand.capabilities);
                }
                break;
            }
            if (supply == 0) {
                std::snprintf(buffer, sizeof buffer, "%.0f tasks need %s and no worker offers it", tasks,
                              describe(demand.capabilities).c_str());
            } else {
                std::snprintf(
                    buffer, sizeof buffer, "%.0f tasks needing %s / %.0f capable workers = %.2f > %.2f",
                    tasks, describe(demand.capabilities).c_str(), supply, tasks / supply, p.upperTaskRatio);
            }
            decision.commands.push_back(
                {ScalingCommand::Action::start, *adapter, demand.capabilities, {}, buffer});
            addPendingGroup(working, *adapter, demand.capabilities);
        }
    }
    if (!decision.commands.empty() || anyGroupStarting(snapshot)) return decision;

    std::set<std::string> stoppedSets;  // at most one stop per capability set per evaluation
    for (const StopCandidate& c : idleGroups(snapshot, p.minGroupAgeSeconds)) {
        const GroupView& group = snapshot.adapters[c.adapter].groups[c.group];
        const std::string key = formatCapabilities(group.capabilities);
        if (stoppedSets.count(key)) continue;
        // Utilisation counts the tasks that need what the group offers; tasks asking for nothing count only
        // toward plain groups (best-fit allocation keeps them off special workers while plain ones have
        // room).
        double tasks = 0;
        bool keep = false;
        for (const DemandView& d : snapshot.demand) {
            if (d.tasks == 0 || !capabilityNamesSubset(d.capabilities, group.capabilities)) continue;
            if (!d.capabilities.empty() || group.capabilities.empty()) tasks += static_cast<double>(d.tasks);
            // whatever it could serve must keep enough capacity without it
            const double supply = capableSupply(snapshot, d.capabilities);
            if (!stopKeepsEnoughCapacity(static_cast<double>(d.tasks), supply, group.connectedWorkers,
                                         p.upperTaskRatio)) {
                keep = true;
            }
        }
        const double workers = capableSupply(snapshot, group.capabilities);
        if (keep || workers == 0 || tasks / workers >= p.lowerTaskRatio) continue;
        std::snprintf(buffer, sizeof buffer,
                      "%.0f tasks for %.0f workers offering %s = %.2f < %.2f; group idle", tasks, workers,
                      describe(group.capabilities).c_str(), tasks / workers, p.lowerTaskRatio);
        decision.commands.push_back({ScalingCommand::Action::shutdown, c.adapter, {}, group.id, buffer});
        stoppedSets.insert(key);
    }
    return decision;
}

}  // namespace scaler::scheduler
