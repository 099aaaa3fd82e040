#include <set>

#include "scaler/scheduler/scaling/scaling_policy.h"
#include "scaling_supply.h"

namespace scaler::scheduler {

using namespace scaling;

ScalingDecision CapabilityScalingPolicy::decide(const ScalingSnapshot& snapshot) const {
    ScalingDecision decision;
    ScalingSnapshot working = snapshot;  // starts decided here count as supply for the next set
    const auto& p = parameters_;
    for (const DemandView& demand : snapshot.demand) {
        startForTaskRatio(working, demand, p.upperTaskRatio, decision, p.lendSpecialAdapters);
        // The ratio counts tasks, not their length: it would queue tasks known to run target_backlog_seconds
        // or more behind each other on a few workers (15 of 6 s on 3). Those get a worker each.
        const KnownWork known = knownWork(demand, p.targetBacklogSeconds);
        if (known.durationSeconds >= p.targetBacklogSeconds)
            startForKnownWork(working, demand, known, decision, p.lendSpecialAdapters);
    }
    if (!decision.commands.empty() || anyGroupStarting(snapshot)) return decision;

    std::set<std::string> stoppedSets;  // at most one stop per capability set per evaluation
    for (const StopCandidate& c : idleGroups(snapshot, p.minGroupAgeSeconds)) {
        const GroupView& group = snapshot.adapters[c.adapter].groups[c.group];
        const std::string key = formatCapabilities(group.capabilities);
        if (stoppedSets.count(key)) continue;
        const auto reason = taskRatioAllowsStop(snapshot, group, p.lowerTaskRatio, p.upperTaskRatio);
        if (!reason) continue;
        decision.commands.push_back(
            {ScalingCommand::Action::shutdown, c.adapter, {}, group.id, *reason, "idle_below_lower_ratio"});
        stoppedSets.insert(key);
    }
    return decision;
}

}  // namespace scaler::scheduler
