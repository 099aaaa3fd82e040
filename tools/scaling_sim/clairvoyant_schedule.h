#pragma once
// What scaling could cost if it knew the future: for a workload whose every arrival and duration is known in
// advance, the group starts and stops that run it, for each number of CPU and GPU groups the adapters allow.
// Each group is started just in time (its start-up before its first task) and stopped the moment its last
// task ends, and a group that would sit idle longer than a start-up is stopped and started again just in
// time when its billing model charges less for that (per second it does; per hour, not within the hour).
// Tasks go first in, first out: each to a free worker of a group that is up, else to one that frees within a
// patience (or, knowing the future, soon enough to end by a deadline), else a group is started (groups fill
// before more are used; a CPU task takes a GPU worker only when no CPU worker would do).
//
// The approximation, stated: the search is over the number of groups of each kind and the patience, not over
// every start and stop time, and the order is first in, first out; so a point is a schedule that can be run
// (an upper bound on the best one), exact for a burst that fills whole groups, and a bound that no policy,
// which does not know the future, should beat at the same makespan (ClairvoyantScheduleTest checks the
// simulator's rows).

#include <cstdint>
#include <optional>
#include <vector>

#include "cluster_simulation.h"
#include "workloads.h"

namespace scaler::sim {

struct ClairvoyantPoint {
    uint32_t cpuGroups = 0, gpuGroups = 0;  // groups of each kind the schedule used
    double makespanSeconds = 0;             // first arrival to last completion
    double groupSeconds = 0;                // start command to stop, summed over groups: the bill
    double patienceSeconds = 0;             // how long a task waited for a group that was up, at most
    bool toDeadline = false;                // or: as long as it still ended by a deadline
    double billedSeconds = 0, cost = 0;     // its runs as the settings' billing models charge them
};

// One point per (CPU groups allowed, GPU groups allowed, patience or deadline) that can run every task of
// `workload`,
// fastest first; within the adapters' limits, start-up and group sizes of `settings`.
std::vector<ClairvoyantPoint> clairvoyantSchedules(const Workload& workload, const SimSettings& settings);

// A policy's row is compared with the cheapest clairvoyant schedule whose makespan is at most this much
// longer than the policy's (one percent: the order of the last few tasks, not the scaling).
inline constexpr double kSameMakespan = 1.01;

// The cheapest point (by its bill, then its group-seconds) that finishes within `makespanSeconds`; nullopt
// when none is that fast.
std::optional<ClairvoyantPoint> cheapestWithin(const std::vector<ClairvoyantPoint>& points,
                                               double makespanSeconds);

}  // namespace scaler::sim
