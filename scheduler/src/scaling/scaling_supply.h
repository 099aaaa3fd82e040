#pragma once
// Arithmetic the scaling policies share: who can serve a capability set, which adapter should start a
// group, which group may stop.

#include <optional>

#include "scaler/scheduler/scaling/scaling_policy.h"

namespace scaler::scheduler::scaling {

// Workers that accept tasks and satisfy `required` (capabilitiesSatisfy: names and quantities), plus the
// workers that starting and pending groups offering them will still bring: booting capacity counts as supply,
// so a slow adapter is not asked again and again while it boots.
double capableSupply(const ScalingSnapshot& snapshot, const CapabilityList& required);

// Groups an adapter has that are not stopping, pending starts included.
uint32_t groupsInUse(const AdapterView& adapter);

bool anyGroupStarting(const ScalingSnapshot& snapshot);

// The adapter to start a group offering `required`: it must satisfy them (capabilitiesSatisfy), have room
// and not be backing off; among those the best fit (fewest capabilities beyond `required`), then the most
// room, then the first. `eligible` narrows the choice (fixed_elastic: secondaries only). Without
// `lendSpecial`, an adapter offering names beyond `required` (a gpu adapter for plain tasks) is passed over
// while a plain adapter in the same or a cheaper tier could serve `required` (even when that one is full):
// dear capacity stays for the work that needs it.
std::optional<size_t> chooseAdapter(const ScalingSnapshot& snapshot, const CapabilityList& required,
                                    const std::vector<bool>* eligible = nullptr, bool lendSpecial = true);

// Could any adapter ever start a group offering `required` (room or not)?
bool someAdapterOffers(const ScalingSnapshot& snapshot, const CapabilityList& required);

// Records a start in the working snapshot so later checks in the same evaluation see it.
void addPendingGroup(ScalingSnapshot& snapshot, size_t adapter, const CapabilityList& capabilities);

struct StopCandidate {
    size_t adapter;
    size_t group;
};
// Running, idle and old enough to stop; the dearest tier first, then the oldest.
std::vector<StopCandidate> idleGroups(const ScalingSnapshot& snapshot, double minAgeSeconds);
// Running and old enough to drain, busy or not: the dearest tier first, then the fewest tasks, then the
// oldest. A busy group drained finishes what its workers have started and hands back the rest.
std::vector<StopCandidate> drainableGroups(const ScalingSnapshot& snapshot, double minAgeSeconds);

// The ratio guards shared by every policy: stopping a group must not remove the last capacity tasks still
// need, nor push the ratio back over the start threshold (which would thrash).
bool stopKeepsEnoughCapacity(double tasks, double workers, double groupWorkers, double upperRatio);

std::string describe(const CapabilityList& capabilities);

// The capability rule's start side for one set: as many groups as bring its tasks per capable worker down to
// `upperRatio`, in this one decision; each start is added to `working` so the next check sees it. Demand no
// adapter could ever serve is listed as unschedulable.
void startForTaskRatio(ScalingSnapshot& working, const DemandView& demand, double upperRatio,
                       ScalingDecision& decision, bool lendSpecial);

// What a set's live tasks are known to hold (tasks queued here or in workers' own queues, which balancing
// spreads onto new workers): the mean run time seen, or, before any task ends, twice how long the ones on
// workers have run (each runs at least that long, and is as likely past its middle as before it). Sized so
// the work is done within `targetBacklogSeconds`, never beyond one worker per task; 0 workers when nothing
// is known yet.
struct KnownWork {
    double tasks = 0, durationSeconds = 0;
    double desiredWorkers = 0;
    std::string basis;
};
KnownWork knownWork(const DemandView& demand, double targetBacklogSeconds);

// Starts groups until the set's supply meets `known.desiredWorkers`; no group that would come up after the
// capable workers are through the work. Without this, 15 tasks of 6 s filled 3 workers by the task ratio
// and took 30 s with room for 8.
void startForKnownWork(ScalingSnapshot& working, const DemandView& demand, const KnownWork& known,
                       ScalingDecision& decision, bool lendSpecial);

// The capability rule's stop side: the reason an idle `group` may stop (the tasks that need what it offers
// are below `lowerRatio` per worker offering it, and every set it could serve keeps enough capacity without
// it), or nullopt. Tasks asking for nothing count only toward plain groups: best-fit allocation keeps them
// off special workers while plain ones have room.
std::optional<std::string> taskRatioAllowsStop(const ScalingSnapshot& snapshot, const GroupView& group,
                                               double lowerRatio, double upperRatio);

// Takes a group's workers out of the supply of `working` (a stop decided in this evaluation).
void removeGroupSupply(ScalingSnapshot& working, size_t adapter, const std::string& groupId);

}  // namespace scaler::scheduler::scaling
