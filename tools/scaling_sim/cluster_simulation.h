#pragma once
// Runs the real SchedulerCore, with its scaling policy, against a workload in simulated time: no sockets,
// no sleeping. Simulated adapters start groups after a start-up delay; simulated workers run each task for
// its duration. Messages are real Cap'n Proto messages handed to SchedulerCore::onMessage.

#include <cstdint>
#include <string>

#include "scaler/common/billing_model.h"
#include "workloads.h"

namespace scaler::sim {

struct SimSettings {
    std::string policyContent = "allocate=capability; scaling=capability";
    double startupSeconds = 0.2;  // from a start command to the group's workers connecting
    uint32_t cpuGroups = 16, cpuWorkersPerGroup = 4;
    uint32_t gpuGroups = 4;    // one gpu worker each
    double tailSeconds = 600;  // after the last task, how long idle groups may take to stop (counted as cost)
    bool trace = false;        // print each adapter command with its simulated time (the log has the why)
    BillingModel cpuBilling, gpuBilling;  // how each adapter's group runs are billed
};

struct SimResult {
    uint64_t completed = 0;
    double makespanSeconds = 0;       // first arrival to last completion
    double waitP50 = 0, waitP95 = 0;  // arrival to start on a worker
    double groupSeconds = 0;          // sum over groups of start command to stop
    double billedSeconds = 0;         // the same runs as the billing models round them up
    double cost = 0;                  // and at their prices
    uint32_t starts = 0, stops = 0;   // commands sent to adapters: thrash
};

SimResult simulate(const Workload& workload, const SimSettings& settings);

// Why `policyContent` would not start a scheduler (the same checks: an unknown policy or parameter, a bad
// value), or empty.
std::string policyContentError(const std::string& policyContent);

// Lower bounds no policy can beat with these adapters: makespan (every task needs a started worker, the
// work spread over all the room, gpu work over the gpu room, the last arrival still has to run) and
// group-seconds (the work on the cheapest groups that can run it, plus one start-up per adapter used).
struct SimIdeal {
    double makespanSeconds = 0;
    double groupSeconds = 0;
};
SimIdeal idealOf(const Workload& workload, const SimSettings& settings);

}  // namespace scaler::sim
