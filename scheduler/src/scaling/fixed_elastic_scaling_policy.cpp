#include <cstdio>

#include "scaler/scheduler/scaling/scaling_policy.h"
#include "scaling_supply.h"

namespace scaler::scheduler {

using namespace scaling;

ScalingDecision FixedElasticScalingPolicy::decide(const ScalingSnapshot& snapshot) const {
    ScalingDecision decision;
    const auto& p = parameters_;
    double tasks = 0;
    for (const DemandView& d : snapshot.demand) tasks += static_cast<double>(d.tasks);
    const double supply = capableSupply(snapshot, {});
    std::vector<bool> secondary(snapshot.adapters.size());
    bool primaryMissing = false, primaryBooting = false;
    char buffer[256];

    for (size_t i = 0; i < snapshot.adapters.size(); ++i) {
        const AdapterView& adapter = snapshot.adapters[i];
        secondary[i] = adapter.maxGroups != 1;
        if (secondary[i]) continue;
        for (const GroupView& g : adapter.groups) {
            primaryBooting |= g.phase == GroupPhase::pending || g.phase == GroupPhase::starting;
        }
        if (groupsInUse(adapter) > 0) continue;
        primaryMissing = true;
        // the primary runs whenever there is work, and comes back if lost
        if (tasks > 0 && adapter.startAllowed) {
            std::snprintf(buffer, sizeof buffer, "%.0f tasks and the primary adapter has no group", tasks);
            decision.commands.push_back(
                {ScalingCommand::Action::start, i, {}, {}, buffer, "primary_missing"});
        }
    }
    if (!decision.commands.empty()) return decision;

    // burst to a secondary only when the running capacity (primary first) is not enough
    if (tasks > 0 && !primaryMissing && !primaryBooting &&
        (supply == 0 || tasks / supply > p.upperTaskRatio)) {
        if (auto adapter = chooseAdapter(snapshot, {}, &secondary)) {
            std::snprintf(buffer, sizeof buffer,
                          "%.0f tasks / %.0f workers = %.2f > %.2f with the primary running", tasks, supply,
                          supply > 0 ? tasks / supply : 0.0, p.upperTaskRatio);
            decision.commands.push_back(
                {ScalingCommand::Action::start, *adapter, {}, {}, buffer, "above_upper_ratio"});
        }
        return decision;
    }
    if (anyGroupStarting(snapshot) || (supply > 0 && tasks / supply >= p.lowerTaskRatio)) return decision;
    for (const StopCandidate& c : idleGroups(snapshot, p.minGroupAgeSeconds)) {
        if (!secondary[c.adapter]) continue;  // the primary is never stopped
        const GroupView& group = snapshot.adapters[c.adapter].groups[c.group];
        if (!stopKeepsEnoughCapacity(tasks, supply, group.connectedWorkers, p.upperTaskRatio)) continue;
        std::snprintf(buffer, sizeof buffer, "%.0f tasks / %.0f workers = %.2f < %.2f; secondary group idle",
                      tasks, supply, supply > 0 ? tasks / supply : 0.0, p.lowerTaskRatio);
        decision.commands.push_back(
            {ScalingCommand::Action::shutdown, c.adapter, {}, group.id, buffer, "idle_below_lower_ratio"});
        break;
    }
    return decision;
}

}  // namespace scaler::scheduler
