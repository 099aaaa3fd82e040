#pragma once
// Stability rules applied to every policy's decision before the scheduler carries it out: cooldowns, a
// scale-down stabilisation window, per-adapter floors and ceilings, and a launch-rate limit
// (docs/scaling.md#stability). The policy stays a pure function of the snapshot; the memory of what
// happened when lives here, and time comes in as an argument.

#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "scaler/scheduler/scaling/scaling_policy.h"
#include "scaler/scheduler/scaling/scaling_schedule.h"

namespace scaler::scheduler {

struct HeldCommand {
    ScalingCommand command;
    std::string why;  // the rule that held it, with its numbers
};

struct GovernedDecision {
    ScalingDecision decision;       // what to carry out
    std::vector<HeldCommand> held;  // what the policy wanted and a rule held back this time
};

class ScalingGovernor {
public:
    explicit ScalingGovernor(ScalingParameters parameters, std::vector<ScheduleRule> schedule = {})
        : p_(parameters), schedule_(std::move(schedule)) {}

    // `nowSeconds`: any monotonic clock in seconds (the scheduler's, or a test's); `wallClock`: unix time,
    // for the scheduled floors and ceilings.
    GovernedDecision govern(const ScalingDecision& proposed, const ScalingSnapshot& snapshot,
                            double nowSeconds, std::time_t wallClock = 0);

private:
    struct AdapterHistory {
        double lastStart = -1e18, lastStop = -1e18, lastStartWanted = -1e18;
        std::deque<double> recentStarts;  // within the last minute
    };
    // The floor and ceiling on one adapter now: the parameters' and the schedule's, with the rule behind
    // each.
    struct Limits {
        uint32_t min = 0, max = 0;  // max 0: none
        std::string minRule, maxRule;
    };
    Limits limitsFor(const AdapterView& adapter, std::time_t wallClock) const;
    // Floors and ceilings: starts for an adapter below its floor (demand or not), shutdowns of idle groups
    // above its ceiling (busy ones are left to finish), added to `commands`.
    static void enforceBounds(std::vector<ScalingCommand>& commands, const ScalingSnapshot& snapshot,
                              const std::vector<Limits>& limits);
    std::string startHold(const AdapterView& adapter, const Limits& limits, AdapterHistory& history,
                          uint32_t startedNow, double now) const;
    std::string stopHold(const AdapterView& adapter, const Limits& limits, const AdapterHistory& history,
                         uint32_t stoppedNow, double now) const;

    // Circuit breaker per capability set: its tasks' ends sampled at each evaluation, and until when starts
    // for it are held.
    struct SetHistory {
        std::deque<std::tuple<double, uint64_t, uint64_t>> samples;  // time, ended, ended badly
        double openUntil = -1e18;
        std::string why;
    };
    // Why starts for `demand` are held now (the breaker is open), or empty.
    std::string breakerHold(const DemandView& demand, double now);

    ScalingParameters p_;
    std::vector<ScheduleRule> schedule_;
    std::map<std::string, AdapterHistory> history_;  // by adapter id
    std::map<std::string, SetHistory> sets_;         // by capability set

public:
    // When at least kBreakerMinimumEnded of a set's tasks ended within kBreakerWindowSeconds and at least
    // kBreakerFailureRatio of them did not succeed, no start is made for the set for kBreakerOpenSeconds:
    // more machines would not help tasks that fail.
    static constexpr double kBreakerWindowSeconds = 30;
    static constexpr uint64_t kBreakerMinimumEnded = 10;
    static constexpr double kBreakerFailureRatio = 0.5;
    static constexpr double kBreakerOpenSeconds = 60;
};

}  // namespace scaler::scheduler
