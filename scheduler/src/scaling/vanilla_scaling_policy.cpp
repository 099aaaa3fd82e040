#include <cstdio>

#include "scaler/scheduler/scaling/scaling_policy.h"
#include "scaling_supply.h"

namespace scaler::scheduler {

using namespace scaling;

namespace {
std::string ratioText(double tasks, double workers) {
    char buffer[128];
    std::snprintf(buffer, sizeof buffer, "%.0f tasks / %.0f workers = %.2f", tasks, workers,
                  workers > 0 ? tasks / workers : 0.0);
    return buffer;
}
}  // namespace

ScalingDecision VanillaScalingPolicy::decide(const ScalingSnapshot& snapshot) const {
    ScalingDecision decision;
    double tasks = 0;
    for (const DemandView& d : snapshot.demand) tasks += static_cast<double>(d.tasks);
    const double supply = capableSupply(snapshot, {});
    const auto& p = parameters_;

    if (tasks > 0 && (supply == 0 || tasks / supply > p.upperTaskRatio)) {
        // Bulk: enough groups to bring the ratio down in this one decision.
        ScalingSnapshot working = snapshot;
        for (int n = 0; n < 1024; ++n) {
            const double available = capableSupply(working, {});
            if (available > 0 && tasks / available <= p.upperTaskRatio) break;
            const auto adapter = chooseAdapter(working, {});
            if (!adapter) break;
            decision.commands.push_back({ScalingCommand::Action::start,
                                         *adapter,
                                         {},
                                         {},
                                         available == 0
                                             ? ratioText(tasks, 0) + ": no workers"
                                             : ratioText(tasks, available) + " > upper_task_ratio " +
                                                   std::to_string(p.upperTaskRatio),
                                         available == 0 ? "no_capable_worker" : "above_upper_ratio"});
            addPendingGroup(working, *adapter, {});
        }
        return decision;
    }
    if (anyGroupStarting(snapshot) || (supply > 0 && tasks / supply >= p.lowerTaskRatio)) return decision;
    for (const StopCandidate& c : idleGroups(snapshot, p.minGroupAgeSeconds)) {
        const GroupView& group = snapshot.adapters[c.adapter].groups[c.group];
        if (!stopKeepsEnoughCapacity(tasks, supply, group.connectedWorkers, p.upperTaskRatio)) continue;
        decision.commands.push_back({ScalingCommand::Action::shutdown,
                                     c.adapter,
                                     {},
                                     group.id,
                                     ratioText(tasks, supply) + " < lower_task_ratio " +
                                         std::to_string(p.lowerTaskRatio) + "; group idle",
                                     "idle_below_lower_ratio"});
        break;  // one per evaluation: the next one sees the new ratio
    }
    return decision;
}

}  // namespace scaler::scheduler
