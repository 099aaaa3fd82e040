// The scaling simulator drives the real SchedulerCore; these keep it honest (every task served, every group
// stopped at the end, the same answer twice).
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster_simulation.h"

using namespace scaler::sim;

TEST(ScalingSimulation, CapabilityPolicyServesEveryWorkloadAndStopsEveryGroup) {
    for (const auto& workload : standardWorkloads(1)) {
        SimSettings settings;
        settings.startupSeconds = 2;
        const SimResult r = simulate(workload, settings);
        SCOPED_TRACE(workload.name);
        EXPECT_EQ(r.completed, workload.tasks.size());
        EXPECT_GE(r.starts, 1u);
        EXPECT_EQ(r.stops, r.starts);  // idle groups are stopped once the work is done
        EXPECT_GT(r.makespanSeconds, 0);
        EXPECT_LE(r.waitP50, r.waitP95);
    }
}

TEST(ScalingSimulation, ALongerStartUpMakesTasksWaitLonger) {
    const Workload burst = standardWorkloads(1).front();
    SimSettings fast, slow;
    fast.startupSeconds = 0.2;
    slow.startupSeconds = 60;
    const SimResult a = simulate(burst, fast), b = simulate(burst, fast), c = simulate(burst, slow);
    EXPECT_EQ(a.waitP95, b.waitP95);  // deterministic
    EXPECT_EQ(a.groupSeconds, b.groupSeconds);
    EXPECT_GT(c.waitP50, a.waitP50 + 50);
}

TEST(ScalingSimulation, PredictivePolicyServesEveryWorkloadAndStopsEveryGroup) {
    for (const auto& workload : standardWorkloads(1)) {
        SimSettings settings;
        settings.policyContent = "allocate=capability; scaling=predictive";
        settings.startupSeconds = 2;
        const SimResult r = simulate(workload, settings);
        SCOPED_TRACE(workload.name);
        EXPECT_EQ(r.completed, workload.tasks.size());
        EXPECT_EQ(r.stops, r.starts);
    }
}

TEST(ScalingSimulation, PredictiveKeepsOneGroupThroughATrickleWhereRatiosFlap) {
    const auto workloads = standardWorkloads(1);
    const auto found = std::find_if(workloads.begin(), workloads.end(),
                                    [](const Workload& w) { return w.name == "trickle"; });
    ASSERT_NE(found, workloads.end());
    const Workload& trickle = *found;
    SimSettings capability, predictive;
    predictive.policyContent = "allocate=capability; scaling=predictive";
    const SimResult c = simulate(trickle, capability), p = simulate(trickle, predictive);
    EXPECT_GE(c.starts, 20u);  // the ratio rules stop the group between tasks and start it again
    EXPECT_LE(p.starts, 3u);
    EXPECT_LE(p.waitP95, c.waitP95);
    EXPECT_LE(p.groupSeconds, c.groupSeconds * 1.1);
}

TEST(ScalingSimulation, TheIdealIsALowerBoundEveryPolicyMeetsOrExceeds) {
    Workload four{"four", {{0, 10, false}, {0, 10, false}, {0, 10, false}, {0, 10, true}}};
    SimSettings settings;
    settings.startupSeconds = 2;
    const SimIdeal ideal = idealOf(four, settings);
    EXPECT_DOUBLE_EQ(ideal.makespanSeconds, 12);  // a started worker, then the longest task
    EXPECT_DOUBLE_EQ(ideal.groupSeconds,
                     30.0 / 4 + 10 + 2 * 2);  // cpu work on 4-worker groups, gpu on its own
    for (const char* policy : {"capability", "predictive"}) {
        for (const auto& workload : standardWorkloads(1)) {
            settings.policyContent = std::string("allocate=capability; scaling=") + policy;
            const SimIdeal bound = idealOf(workload, settings);
            const SimResult r = simulate(workload, settings);
            SCOPED_TRACE(workload.name + " " + policy);
            EXPECT_GE(r.makespanSeconds, bound.makespanSeconds - 1e-6);
            EXPECT_GE(r.groupSeconds, bound.groupSeconds - 1e-6);
        }
    }
}

// Issue 21's slow case in the simulator: a few long tasks that meet the task ratio at once.
TEST(ScalingSimulation, LongTasksRaiseSupplyButNotWithGroupsThatWouldArriveTooLate) {
    const auto workloads = standardWorkloads(1);
    const Workload& slow = *std::find_if(workloads.begin(), workloads.end(),
                                         [](const Workload& w) { return w.name == "slow15"; });
    SimSettings capability, predictive;
    predictive.policyContent = "allocate=capability; scaling=predictive";
    const SimResult c = simulate(slow, capability), p = simulate(slow, predictive);
    // by the task ratio alone (15 tasks / 5) one group of 4 runs them in 4 rounds of 6 s
    const double oneGroup = 4 * 6;
    EXPECT_LT(p.makespanSeconds, 0.6 * oneGroup) << p.makespanSeconds;
    EXPECT_LT(c.makespanSeconds, 0.7 * oneGroup) << c.makespanSeconds;
    EXPECT_LE(p.makespanSeconds, c.makespanSeconds) << "predictive also counts runs seen and ages below 5 s";
    capability.startupSeconds = predictive.startupSeconds = 60;  // ECS: a new group would come after the work
    const SimResult ce = simulate(slow, capability), pe = simulate(slow, predictive);
    EXPECT_EQ(pe.starts, ce.starts);
    EXPECT_LE(pe.groupSeconds, ce.groupSeconds * 1.05);
}
