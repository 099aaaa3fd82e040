#include "scaler/scheduler/scaling/scaling_governor.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "scaling_supply.h"

namespace scaler::scheduler {

namespace {
std::string text(const char* format, double a, double b = 0) {
    char buffer[160];
    std::snprintf(buffer, sizeof buffer, format, a, b);
    return buffer;
}

// What the adapters' groups cost an hour now, at their billing models' prices; pending starts and draining
// groups included (each is billed until it stops).
double costPerHour(const ScalingSnapshot& snapshot) {
    double rate = 0;
    for (const AdapterView& adapter : snapshot.adapters) {
        rate += adapter.pricePerGroupHour * scaling::groupsInUse(adapter);
    }
    return rate;
}

// The rules of the starts enforceBounds adds for a floor: the operator's own order, which the budget does not
// hold.
constexpr std::string_view kFloorRule = "min_groups_per_adapter", kScheduledFloorRule = "schedule_floor";

bool startForAFloor(const ScalingCommand& command) {
    return command.rule == kFloorRule || command.rule == kScheduledFloorRule;
}
}  // namespace

ScalingGovernor::Limits ScalingGovernor::limitsFor(const AdapterView& adapter, std::time_t wallClock) const {
    Limits l{p_.minGroupsPerAdapter, p_.maxGroupsPerAdapter, "min_groups_per_adapter",
             "max_groups_per_adapter"};
    if (schedule_.empty()) return l;
    const ScheduledLimits scheduled = scheduledLimits(schedule_, adapter.id, wallClock);
    if (scheduled.minGroups > l.min) {
        l.min = scheduled.minGroups;
        l.minRule = "schedule '" + scheduled.minRule + "'";
    }
    if (scheduled.maxGroups && (l.max == 0 || *scheduled.maxGroups < l.max)) {
        l.max = *scheduled.maxGroups;
        l.maxRule = "schedule '" + scheduled.maxRule + "'";
    }
    return l;
}

std::string ScalingGovernor::startHold(const AdapterView& adapter, const Limits& limits, AdapterHistory& h,
                                       uint32_t startedNow, double now) const {
    const uint32_t groups = scaling::groupsInUse(adapter) + startedNow;
    if (limits.max > 0 && groups >= limits.max) {
        return limits.maxRule + text(" %.0f reached (%.0f groups)", limits.max, groups);
    }
    // Between evaluations only: the starts of one bulk decision share a moment.
    if (startedNow == 0 && now - h.lastStart < p_.scaleUpCooldownSeconds) {
        return text("scale_up_cooldown_seconds %.0f: last start %.1f s ago", p_.scaleUpCooldownSeconds,
                    now - h.lastStart);
    }
    while (!h.recentStarts.empty() && now - h.recentStarts.front() >= 60) h.recentStarts.pop_front();
    if (p_.maxStartsPerMinute > 0 && h.recentStarts.size() >= p_.maxStartsPerMinute) {
        return text("max_starts_per_minute %.0f reached", p_.maxStartsPerMinute);
    }
    return {};
}

std::string ScalingGovernor::stopHold(const AdapterView& adapter, const Limits& limits,
                                      const AdapterHistory& h, uint32_t stoppedNow, double now) const {
    const uint32_t inUse = scaling::groupsInUse(adapter);
    const bool overCeiling = limits.max > 0 && inUse - std::min(inUse, stoppedNow) > limits.max;
    if (overCeiling) return {};  // above a ceiling, nothing holds a stop
    if (now - h.lastStartWanted < p_.scaleDownStabilizationSeconds) {
        return text("scale_down_stabilization_seconds %.0f: more capacity was wanted %.1f s ago",
                    p_.scaleDownStabilizationSeconds, now - h.lastStartWanted);
    }
    const double lastChange = std::max(h.lastStart, h.lastStop);
    if (now - lastChange < p_.scaleDownCooldownSeconds) {
        return text("scale_down_cooldown_seconds %.0f: last change %.1f s ago", p_.scaleDownCooldownSeconds,
                    now - lastChange);
    }
    const uint32_t remaining = inUse - std::min(inUse, stoppedNow + 1);
    if (remaining < limits.min) {
        return limits.minRule + text(" %.0f (would leave %.0f)", limits.min, remaining);
    }
    return {};
}

std::string ScalingGovernor::breakerHold(const DemandView& demand, double now) {
    SetHistory& h = sets_[formatCapabilities(demand.capabilities)];
    h.samples.emplace_back(now, demand.ended, demand.endedBadly);
    while (h.samples.size() > 1 && now - std::get<0>(h.samples.front()) > kBreakerWindowSeconds) {
        h.samples.pop_front();
    }
    const auto& [since, endedBefore, badBefore] = h.samples.front();
    const uint64_t ended = demand.ended - std::min(demand.ended, endedBefore);
    const uint64_t bad = demand.endedBadly - std::min(demand.endedBadly, badBefore);
    if (now >= h.openUntil && ended >= kBreakerMinimumEnded &&
        static_cast<double>(bad) >= kBreakerFailureRatio * static_cast<double>(ended)) {
        h.openUntil = now + kBreakerOpenSeconds;
        char buffer[200];
        std::snprintf(buffer, sizeof buffer,
                      "circuit breaker: %llu of the %llu tasks of %s that ended in the last %.0f s failed",
                      static_cast<unsigned long long>(bad), static_cast<unsigned long long>(ended),
                      scaling::describe(demand.capabilities).c_str(), now - since);
        h.why = buffer;
    }
    if (now >= h.openUntil) return {};
    return h.why + text("; no start for it for %.0f s more", h.openUntil - now);
}

void ScalingGovernor::enforceBounds(std::vector<ScalingCommand>& commands, const ScalingSnapshot& snapshot,
                                    const std::vector<Limits>& limits) {
    for (size_t a = 0; a < snapshot.adapters.size(); ++a) {
        const AdapterView& adapter = snapshot.adapters[a];
        const Limits& l = limits[a];
        uint32_t starting = 0, stopping = 0;
        for (const auto& c : commands) {
            if (c.adapter != a) continue;
            starting += c.action == ScalingCommand::Action::start;
            stopping += c.action == ScalingCommand::Action::shutdown;
        }
        const uint32_t have = scaling::groupsInUse(adapter) + starting;
        // Floors: an adapter below its floor gets groups offering all it can, demand or not.
        if (l.min > 0 && adapter.startAllowed && have < l.min && have < adapter.maxGroups) {
            for (uint32_t n = have; n < std::min(l.min, adapter.maxGroups); ++n) {
                commands.push_back(
                    {ScalingCommand::Action::start,
                     a,
                     adapter.capabilities,
                     {},
                     l.minRule + text(" %.0f: adapter has %.0f", l.min, have),
                     std::string(l.minRule.rfind("schedule", 0) == 0 ? kScheduledFloorRule : kFloorRule)});
            }
        }
        // Ceilings: idle groups above it stop (busy ones are left to finish).
        const uint32_t inUse = scaling::groupsInUse(adapter);
        if (l.max > 0 && inUse > l.max + stopping) {
            uint32_t excess = inUse - l.max - stopping;
            for (const auto& c : scaling::idleGroups(snapshot, 0)) {
                if (excess == 0) break;
                if (c.adapter != a) continue;
                const std::string& id = adapter.groups[c.group].id;
                const bool already =
                    std::any_of(commands.begin(), commands.end(), [&](const ScalingCommand& x) {
                        return x.action == ScalingCommand::Action::shutdown && x.groupId == id;
                    });
                if (already) continue;
                commands.push_back(
                    {ScalingCommand::Action::shutdown,
                     a,
                     {},
                     id,
                     l.maxRule + text(" %.0f: adapter has %.0f", l.max, inUse),
                     l.maxRule.rfind("schedule", 0) == 0 ? "schedule_ceiling" : "max_groups_per_adapter"});
                --excess;
            }
        }
    }
}

GovernedDecision ScalingGovernor::govern(const ScalingDecision& proposed, const ScalingSnapshot& snapshot,
                                         double now, std::time_t wallClock) {
    GovernedDecision out;
    std::map<std::string, std::string> breakers;  // capability set -> why its starts are held
    for (const DemandView& demand : snapshot.demand) {
        if (auto why = breakerHold(demand, now); !why.empty())
            breakers[formatCapabilities(demand.capabilities)] = why;
    }
    out.decision.unschedulable = proposed.unschedulable;
    out.decision.assessments = proposed.assessments;
    std::vector<ScalingCommand> commands = proposed.commands;
    std::vector<Limits> limits;
    for (const AdapterView& adapter : snapshot.adapters) limits.push_back(limitsFor(adapter, wallClock));
    enforceBounds(commands, snapshot, limits);
    std::map<size_t, uint32_t> started, stopped;
    double rate = costPerHour(snapshot);  // with this evaluation's starts as they are let through
    for (const ScalingCommand& command : commands) {
        const AdapterView& adapter = snapshot.adapters[command.adapter];
        AdapterHistory& h = history_[adapter.id];
        std::string why;
        if (command.action == ScalingCommand::Action::start) {
            h.lastStartWanted = now;
            if (auto breaker = breakers.find(formatCapabilities(command.capabilities));
                breaker != breakers.end()) {
                why = breaker->second;
            } else {
                why = startHold(adapter, limits[command.adapter], h, started[command.adapter], now);
            }
            if (why.empty() && p_.maxCostPerHour > 0 && !startForAFloor(command) &&
                rate + adapter.pricePerGroupHour > p_.maxCostPerHour + 1e-12) {
                why = text("max_cost_per_hour %g: the groups cost %.4g an hour", p_.maxCostPerHour, rate) +
                      text(", one more on this adapter %.4g", adapter.pricePerGroupHour);
            }
            if (why.empty()) {
                rate += adapter.pricePerGroupHour;
                ++started[command.adapter];
                h.lastStart = now;
                h.recentStarts.push_back(now);
            }
        } else {
            why = stopHold(adapter, limits[command.adapter], h, stopped[command.adapter], now);
            if (why.empty()) {
                ++stopped[command.adapter];
                h.lastStop = now;
            }
        }
        if (why.empty()) {
            out.decision.commands.push_back(command);
        } else {
            out.held.push_back({command, why});
        }
    }
    return out;
}

}  // namespace scaler::scheduler
