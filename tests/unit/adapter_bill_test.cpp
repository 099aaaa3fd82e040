// An adapter's bill (scheduler/scaling/adapter_bill.h): runs billed by its model from when they began, ended
// runs kept, the rate of the running ones, with injected time.
#include "scaler/scheduler/scaling/adapter_bill.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

using namespace scaler::scheduler;
using namespace std::chrono_literals;

namespace {

struct Group {
    AdapterBill::TimePoint began;
    AdapterBill::TimePoint billedFrom() const { return began; }
};

const AdapterBill::TimePoint t0{};

TEST(AdapterBill, ARunIsBilledFromItsBeginningAtLeastItsMinimumAndWholeOnceItEnds) {
    AdapterBill bill;
    ASSERT_TRUE(bill.setModel("", "ecs"));  // ECS: per second, 60 s minimum, price 1 a group-hour
    bill.observe(std::map<std::string, Group>{{"a", {t0}}}, t0 + 10s);
    EXPECT_DOUBLE_EQ(bill.costSoFar(t0 + 10s), 60.0 / 3600);  // the minimum, at once
    EXPECT_DOUBLE_EQ(bill.costPerHour(), 1);
    bill.observe(std::map<std::string, Group>{{"a", {t0}}, {"b", {t0 + 100s}}}, t0 + 100s);
    EXPECT_DOUBLE_EQ(bill.costPerHour(), 2);
    EXPECT_DOUBLE_EQ(bill.costSoFar(t0 + 130s), (130.0 + 60) / 3600);
    // a ends at 200 s: its 200 s stay on the bill and it no longer costs by the hour
    bill.observe(std::map<std::string, Group>{{"b", {t0 + 100s}}}, t0 + 200s);
    EXPECT_DOUBLE_EQ(bill.costPerHour(), 1);
    EXPECT_DOUBLE_EQ(bill.costSoFar(t0 + 200s), (200.0 + 100) / 3600);
    EXPECT_DOUBLE_EQ(bill.costSoFar(t0 + 1000s), (200.0 + 900) / 3600);
}

TEST(AdapterBill, PerHourBillingChargesEveryStartedHourOfEveryRun) {
    AdapterBill bill;
    ASSERT_TRUE(bill.setModel("per-hour:price=2", "native"));
    bill.observe(std::map<std::string, Group>{{"a", {t0}}}, t0);
    bill.observe(std::map<std::string, Group>{}, t0 + 60s);  // stopped after a minute: a whole hour
    bill.observe(std::map<std::string, Group>{{"a2", {t0 + 120s}}}, t0 + 120s);
    EXPECT_DOUBLE_EQ(bill.costSoFar(t0 + 120s + 3601s), 2 + 2 * 2);  // the second run is into its second hour
}

TEST(AdapterBill, TheModelFollowsTheSpecAndAnUnreadableOneFallsBackToTheKind) {
    AdapterBill bill;
    EXPECT_TRUE(bill.setModel("per-second:minimum=60:price=0.36", "native"));
    EXPECT_EQ(bill.model().describe(), "per-second:minimum=60:price=0.36");
    EXPECT_EQ(bill.startCostClause(), "a start is billed at least 60 s, 0.006");
    EXPECT_FALSE(bill.setModel("per-fortnight", "ecs"));
    EXPECT_EQ(bill.model().describe(), "per-second:minimum=60:price=1");
    EXPECT_TRUE(bill.setModel("per-fortnight", "ecs"));  // unchanged: nothing to say again
    EXPECT_TRUE(bill.setModel("", "native"));
    EXPECT_EQ(bill.startCostClause(), "a start is billed at least 1 s, 0.0002778");
}

}  // namespace
