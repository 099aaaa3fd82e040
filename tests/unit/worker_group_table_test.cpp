// WorkerGroupTable: the bookkeeping the launchers share, with invented time.
#include <gtest/gtest.h>

#include "scaler/adapters/worker_group_table.h"

using namespace scaler;
using namespace scaler::adapters;
using namespace std::chrono_literals;

TEST(WorkerGroupTable, AStopIsDueForAKillOnceAfterItsGrace) {
    WorkerGroupTable table;
    const AdapterTimePoint t0 = AdapterTimePoint{} + 1h;
    table.add("g1", WorkerGroupRecord::started("c1", CapabilityList{}, std::vector<std::string>{"w0"}, t0));
    table.add("g2", WorkerGroupRecord::started("c2", CapabilityList{}, std::vector<std::string>{"w1"}, t0));
    EXPECT_EQ(table.active(), 2u);
    EXPECT_TRUE(table.markStopping("g1", t0, std::chrono::duration<double>(2.5)));
    EXPECT_FALSE(table.markStopping("g1", t0 + 1s, std::chrono::duration<double>(2.5)));  // asked already
    EXPECT_FALSE(table.markStopping("nope", t0, std::nullopt));
    EXPECT_EQ(table.active(), 1u);
    EXPECT_TRUE(table.dueForKill(t0 + 2s).empty());
    EXPECT_EQ(table.dueForKill(t0 + 2500ms), (std::vector<std::string>{"g1"}));
    EXPECT_TRUE(table.dueForKill(t0 + 10s).empty());
    const auto inventory = table.inventory();
    ASSERT_EQ(inventory.size(), 2u);
    EXPECT_EQ(inventory[0].state, wire::WorkerGroupState::STOPPING);
    EXPECT_EQ(inventory[1].state, wire::WorkerGroupState::RUNNING);
    EXPECT_EQ(*table.groupOfHandle("c2"), "g2");
    EXPECT_EQ(table.groupOfHandle("c3"), nullptr);
}

TEST(WorkerGroupTable, AFailedGroupIsReportedWithItsReasonUntilItIsForgotten) {
    WorkerGroupTable table;
    const AdapterTimePoint t0 = AdapterTimePoint{} + 1h;
    table.add("g1", WorkerGroupRecord::started("p1", CapabilityList{}, std::vector<std::string>{"w0"}, t0));
    table.markFailed("g1", "ImagePullBackOff", t0 + 60s);
    EXPECT_EQ(table.active(), 0u);  // a failed group holds no capacity
    table.forgetFailed(t0 + 59s);
    ASSERT_EQ(table.inventory().size(), 1u);
    EXPECT_EQ(table.inventory()[0].state, wire::WorkerGroupState::FAILED);
    EXPECT_EQ(table.inventory()[0].message, "ImagePullBackOff");
    table.forgetFailed(t0 + 60s);
    EXPECT_TRUE(table.empty());
}

TEST(WorkerGroupTable, WorkerIdsNameTheKindGroupAndIndex) {
    EXPECT_EQ(groupWorkerIds("K8S", "kubernetes-ab12", 2),
              (std::vector<std::string>{"Worker|K8S|kubernetes-ab12|0", "Worker|K8S|kubernetes-ab12|1"}));
}
