// Scheduled floors and ceilings: cron matching, rule parsing, and the governor applying them at an injected
// wall-clock time.
#include <gtest/gtest.h>

#include "../support/error_message.h"
#include "scaler/scheduler/scaling/scaling_governor.h"
#include "scaler/scheduler/scaling/scaling_schedule.h"
#include "utc_time.h"

using namespace scaler;
using namespace scaler::scheduler;

namespace {
using scaler::testing::utc;
std::tm brokenDown(std::time_t when) {
    std::tm t{};
    gmtime_r(&when, &t);
    return t;
}
bool matches(const std::string& cron, std::time_t when) {
    return CronExpression::parse(cron).matches(brokenDown(when));
}

AdapterView adapter(const std::string& id, uint32_t maxGroups, uint32_t runningIdleGroups) {
    AdapterView a;
    a.id = id;
    a.maxGroups = maxGroups;
    for (uint32_t g = 0; g < runningIdleGroups; ++g) {
        GroupView group;
        group.id = id + "-g" + std::to_string(g);
        group.phase = GroupPhase::running;
        group.expectedWorkers = group.connectedWorkers = 1;
        group.ageSeconds = 600;
        a.groups.push_back(group);
    }
    return a;
}
}  // namespace

TEST(CronExpression, MatchesFieldsRangesStepsListsAndNames) {
    const std::time_t mondayMorning = utc(2026, 11, 23, 9, 30);  // a Monday
    const std::time_t saturdayNight = utc(2026, 11, 28, 23, 5);
    EXPECT_TRUE(matches("* * * * *", mondayMorning));
    EXPECT_TRUE(matches("* 8-17 * * mon-fri", mondayMorning));
    EXPECT_FALSE(matches("* 8-17 * * mon-fri", saturdayNight));
    EXPECT_TRUE(matches("*/15 9 * nov 1", mondayMorning));
    EXPECT_FALSE(matches("*/20 9 * * *", mondayMorning));
    EXPECT_TRUE(matches("0-5 23 * * 6,7", saturdayNight));
    EXPECT_FALSE(matches("0-4 23 * * 6,7", saturdayNight));
    EXPECT_TRUE(matches("* * * * 0", utc(2026, 11, 29, 12, 0)));  // Sunday is 0 and 7
    EXPECT_TRUE(matches("* * * * 7", utc(2026, 11, 29, 12, 0)));
    // both day fields restricted: either matches, as in cron
    EXPECT_TRUE(matches("* * 1 * mon", mondayMorning));
    EXPECT_TRUE(matches("* * 23 * sun", mondayMorning));
    EXPECT_FALSE(matches("* * 1 * sun", mondayMorning));
}

TEST(CronExpression, BadFieldsAreNamed) {
    EXPECT_EQ(invalidArgumentMessage([] { CronExpression::parse("* * * *"); }),
              "cron expression '* * * *' needs 5 fields: minute hour day-of-month month day-of-week");
    EXPECT_EQ(invalidArgumentMessage([] { CronExpression::parse("* 25 * * *"); }),
              "cron hour field '25': '25' is not in 0..23");
    EXPECT_EQ(invalidArgumentMessage([] { CronExpression::parse("* * * * fri-mon"); }),
              "cron day-of-week field 'fri-mon': range runs backwards");
    EXPECT_EQ(invalidArgumentMessage([] { CronExpression::parse("* * * smarch *"); }),
              "cron month field 'smarch': 'smarch' is not in 1..12");
}

TEST(ScheduleRule, ParsesAndRefusesNamingTheBadItem) {
    const ScheduleRule r =
        parseScheduleRule("cron=* 8-17 * * mon-fri; adapter=cpu; min_groups=4; timezone=utc");
    EXPECT_EQ(r.adapter, "cpu");
    EXPECT_EQ(r.minGroups, 4u);
    EXPECT_FALSE(r.maxGroups);
    EXPECT_TRUE(r.utc);
    EXPECT_EQ(invalidArgumentMessage([] { parseScheduleRule("adapter=cpu; min_groups=4"); }),
              "scaling schedule 'adapter=cpu; min_groups=4' has no cron=");
    EXPECT_EQ(invalidArgumentMessage([] { parseScheduleRule("cron=* * * * *"); }),
              "scaling schedule 'cron=* * * * *' sets neither min_groups nor max_groups");
    EXPECT_EQ(invalidArgumentMessage([] { parseScheduleRule("cron=* * * * *; min_groups=four"); }),
              "scaling schedule min_groups='four' is not a whole number");
    EXPECT_EQ(invalidArgumentMessage([] { parseScheduleRule("cron=* * * * *; max_groups=1; colour=red"); }),
              "unknown scaling schedule key 'colour'");
    EXPECT_EQ(
        invalidArgumentMessage([] { parseScheduleRule("cron=* * * * *; min_groups=3; max_groups=2"); }),
        "scaling schedule 'cron=* * * * *; min_groups=3; max_groups=2' has min_groups above max_groups");
}

TEST(ScheduleRule, TheHighestFloorAndLowestCeilingInForceApply) {
    const std::vector<ScheduleRule> rules{
        parseScheduleRule("cron=* 8-17 * * mon-fri; adapter=cpu; min_groups=4; timezone=utc"),
        parseScheduleRule("cron=* 9 * * *; min_groups=2; max_groups=6; timezone=utc"),
        parseScheduleRule("cron=* 9 * * *; adapter=cpu; max_groups=5; timezone=utc")};
    const auto monday = scheduledLimits(rules, "cpu", utc(2026, 11, 23, 9, 30));
    EXPECT_EQ(monday.minGroups, 4u);
    EXPECT_EQ(monday.maxGroups, 5u);
    EXPECT_EQ(monday.minRule, rules[0].text);
    EXPECT_EQ(scheduledLimits(rules, "gpu", utc(2026, 11, 23, 9, 30)).minGroups, 2u);  // not its rule
    const auto saturday = scheduledLimits(rules, "cpu", utc(2026, 11, 28, 12, 0));
    EXPECT_EQ(saturday.minGroups, 0u);
    EXPECT_FALSE(saturday.maxGroups);
}

TEST(ScheduleRule, TheGovernorStartsUpToAScheduledFloorAndDrainsToAScheduledCeiling) {
    ScalingGovernor g(ScalingParameters{},
                      {parseScheduleRule("cron=* 8-17 * * mon-fri; adapter=cpu; min_groups=3; timezone=utc"),
                       parseScheduleRule("cron=* 0-5 * * *; adapter=cpu; max_groups=1; timezone=utc")});
    ScalingSnapshot snapshot;
    snapshot.adapters.push_back(adapter("cpu", 10, 1));
    snapshot.adapters.push_back(adapter("gpu", 10, 0));
    // Monday 09:30: two more groups on cpu, none on gpu; no demand needed
    const auto morning = g.govern({}, snapshot, 0, utc(2026, 11, 23, 9, 30));
    ASSERT_EQ(morning.decision.commands.size(), 2u);
    EXPECT_EQ(morning.decision.commands[0].adapter, 0u);
    EXPECT_EQ(morning.decision.commands[0].rule, "schedule_floor");
    EXPECT_NE(morning.decision.commands[0].reason.find("min_groups=3"), std::string::npos);
    // the floor holds a stop the policy wants
    ScalingDecision stop;
    stop.commands.push_back({ScalingCommand::Action::shutdown, 0, {}, "cpu-g0", "idle", "test"});
    const auto held = g.govern(stop, snapshot, 10, utc(2026, 11, 23, 9, 31));
    ASSERT_EQ(held.held.size(), 1u);
    EXPECT_NE(held.held[0].why.find("schedule 'cron=* 8-17"), std::string::npos) << held.held[0].why;
    // Saturday 03:00 with three idle groups: two stop for the ceiling of one
    snapshot.adapters[0] = adapter("cpu", 10, 3);
    const auto night = g.govern({}, snapshot, 20, utc(2026, 11, 28, 3, 0));
    ASSERT_EQ(night.decision.commands.size(), 2u);
    EXPECT_EQ(night.decision.commands[0].action, ScalingCommand::Action::shutdown);
    EXPECT_EQ(night.decision.commands[0].rule, "schedule_ceiling");
    // and holds a start the policy wants there
    ScalingDecision start;
    start.commands.push_back({ScalingCommand::Action::start, 0, {}, {}, "busy", "test"});
    snapshot.adapters[0] = adapter("cpu", 10, 1);
    EXPECT_TRUE(g.govern(start, snapshot, 30, utc(2026, 11, 28, 3, 1)).decision.commands.empty());
}
