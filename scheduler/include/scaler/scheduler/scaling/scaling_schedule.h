#pragma once
// Scheduled floors and ceilings: "between 08:00 and 18:00 on weekdays keep at least 4 groups on adapter
// cpu". Each rule is a cron expression (minute hour day-of-month month day-of-week) naming the minutes it
// is in force, the adapter it applies to (every adapter if none) and min_groups and/or max_groups.
// ScalingGovernor applies the rules in force with the policy's own limits (docs/scaling.md#schedules).

#include <bitset>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace scaler::scheduler {

class CronExpression {
public:
    // Five fields: numbers, '*', ranges a-b, steps */n and a-b/n, lists a,b; month names jan..dec and day
    // names sun..sat; day-of-week 0 and 7 are Sunday. Throws std::invalid_argument naming the bad field.
    static CronExpression parse(const std::string& text);
    // Whether the minute containing `time` (broken down, local or UTC as the rule says) matches. As in cron,
    // when both day fields are restricted either may match.
    bool matches(const std::tm& time) const;

private:
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> daysOfMonth_;  // 1..31
    std::bitset<13> months_;       // 1..12
    std::bitset<7> daysOfWeek_;    // 0 = Sunday
    bool anyDayOfMonth_ = true, anyDayOfWeek_ = true;
};

struct ScheduleRule {
    CronExpression when;
    std::string adapter;  // empty: every adapter
    std::optional<uint32_t> minGroups, maxGroups;
    bool utc = false;  // the cron fields are UTC; otherwise the scheduler's local time (TZ)
    std::string text;  // as written, for logs and held reasons
};

// "cron=* 8-17 * * mon-fri; adapter=cpu; min_groups=4; max_groups=10; timezone=utc" (timezone: local or
// utc, default local). Throws std::invalid_argument naming the bad item.
ScheduleRule parseScheduleRule(const std::string& text);

// The limits in force for one adapter at `now` (unix seconds): the highest floor and the lowest ceiling of
// the matching rules, each with the rule that set it.
struct ScheduledLimits {
    uint32_t minGroups = 0;
    std::optional<uint32_t> maxGroups;
    std::string minRule, maxRule;
};
ScheduledLimits scheduledLimits(const std::vector<ScheduleRule>& rules, const std::string& adapterId,
                                std::time_t now);

}  // namespace scaler::scheduler
