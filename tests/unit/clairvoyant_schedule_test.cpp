// The clairvoyant schedules (tools/scaling_sim/clairvoyant_schedule.h): exact on small cases worked by hand,
// and no scaling policy, which does not know the future, beats them at the same makespan.
#include <gtest/gtest.h>

#include "clairvoyant_schedule.h"

using namespace scaler::sim;

namespace {

Workload of(std::vector<SimTask> tasks) {
    return Workload{"hand", std::move(tasks)};
}

SimSettings startUp(double seconds) {
    SimSettings settings;
    settings.startupSeconds = seconds;
    return settings;
}

}  // namespace

TEST(ClairvoyantSchedule, ABurstThatFillsOneGroupPaysOneStartUpAndItsWork) {
    const auto points = clairvoyantSchedules(of({{0, 1}, {0, 1}, {0, 1}, {0, 1}}), startUp(0.2));
    const ClairvoyantPoint& fastest = points.front();
    EXPECT_DOUBLE_EQ(fastest.makespanSeconds, 1.2);
    const auto cheapest = cheapestWithin(points, fastest.makespanSeconds);
    ASSERT_TRUE(cheapest);
    EXPECT_DOUBLE_EQ(cheapest->groupSeconds, 1.2);  // 4 workers in one group: 0.2 s start-up, then 1 s
    EXPECT_EQ(cheapest->cpuGroups, 1u);
    EXPECT_FALSE(cheapestWithin(points, 1.1)) << "nothing ends before its start-up and work";
}

TEST(ClairvoyantSchedule, AGroupIdleLongerThanAStartUpIsStoppedAndStartedAgainJustInTime) {
    // 9 s idle between the tasks: stopping costs a 0.2 s start-up, staying up 9 s
    auto cheapest = cheapestWithin(clairvoyantSchedules(of({{0, 1}, {10, 1}}), startUp(0.2)), 100);
    ASSERT_TRUE(cheapest);
    EXPECT_NEAR(cheapest->groupSeconds, 2 * (0.2 + 1), 1e-9);
    // a 5 s start-up: the second task comes 4 s after the first ends, so the group stays up
    cheapest = cheapestWithin(clairvoyantSchedules(of({{0, 1}, {10, 1}}), startUp(5)), 100);
    ASSERT_TRUE(cheapest);
    EXPECT_NEAR(cheapest->groupSeconds, 5 + (11 - 5), 1e-9);
}

TEST(ClairvoyantSchedule, GpuTasksRunOnlyOnGpuGroups) {
    const auto points = clairvoyantSchedules(of({{0, 2, true}, {0, 2, true}}), startUp(1));
    for (const ClairvoyantPoint& p : points) EXPECT_GE(p.gpuGroups, 1u);
    const auto cheapest = cheapestWithin(points, 5);  // one gpu worker: one after the other
    ASSERT_TRUE(cheapest);
    EXPECT_DOUBLE_EQ(cheapest->groupSeconds, 5);
    EXPECT_DOUBLE_EQ(points.front().makespanSeconds, 3);  // two gpu groups at once
}

// The scaling policies run by the simulator against the clairvoyant schedules: none is cheaper at the same
// makespan (kSameMakespan), on every standard workload, on the fastest and the slowest start-up.
TEST(ClairvoyantSchedule, NoPolicyBeatsItAtTheSameMakespan) {
    for (const Workload& workload : standardWorkloads(1)) {
        for (const double startup : {0.2, 60.0}) {
            const auto points = clairvoyantSchedules(workload, startUp(startup));
            for (const char* policy : {"capability", "predictive"}) {
                SimSettings settings = startUp(startup);
                settings.policyContent = std::string("allocate=capability; scaling=") + policy;
                const SimResult r = simulate(workload, settings);
                SCOPED_TRACE(workload.name + ", start-up " + std::to_string(startup) + " s, " + policy);
                ASSERT_EQ(r.completed, workload.tasks.size());
                const auto match = cheapestWithin(points, r.makespanSeconds * kSameMakespan);
                ASSERT_TRUE(match) << "the policy finished in " << r.makespanSeconds
                                   << " s, faster than every clairvoyant schedule";
                EXPECT_GE(r.cost, match->cost) << "makespan " << r.makespanSeconds;
            }
        }
    }
}

TEST(ClairvoyantSchedule, BilledByTheHourAGroupStaysUpThroughTheGapsItHasPaidFor) {
    SimSettings hourly = startUp(0.2);
    hourly.cpuBilling = hourly.gpuBilling = scaler::parseBillingModel("per-hour:price=1");
    const auto cheapest = cheapestWithin(clairvoyantSchedules(of({{0, 1}, {10, 1}, {600, 1}}), hourly), 1000);
    ASSERT_TRUE(cheapest);
    EXPECT_DOUBLE_EQ(cheapest->billedSeconds, 3600) << "one run, not three hours";
    EXPECT_DOUBLE_EQ(cheapest->cost, 1);
    // by the second the same group stops in each gap: three runs of a start-up and a task
    const auto perSecond =
        cheapestWithin(clairvoyantSchedules(of({{0, 1}, {10, 1}, {600, 1}}), startUp(0.2)), 1000);
    ASSERT_TRUE(perSecond);
    EXPECT_NEAR(perSecond->groupSeconds, 3 * 1.2, 1e-9);
}
