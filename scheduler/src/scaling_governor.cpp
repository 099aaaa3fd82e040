#include "scaler/scheduler/scaling_governor.h"

#include <cstdio>

#include "scaling_supply.h"

namespace scaler::scheduler {

namespace {
std::string text(const char* format, double a, double b = 0) {
    char buffer[160];
    std::snprintf(buffer, sizeof buffer, format, a, b);
    return buffer;
}
}  // namespace

std::string ScalingGovernor::startHold(const AdapterView& adapter, AdapterHistory& h, uint32_t startedNow,
                                       double now) const {
    const uint32_t groups = scaling::groupsInUse(adapter) + startedNow;
    if (p_.maxGroupsPerAdapter > 0 && groups >= p_.maxGroupsPerAdapter) {
        return text("max_groups_per_adapter %.0f reached (%.0f groups)", p_.maxGroupsPerAdapter, groups);
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

std::string ScalingGovernor::stopHold(const AdapterView& adapter, const AdapterHistory& h,
                                      uint32_t stoppedNow, double now) const {
    if (now - h.lastStartWanted < p_.scaleDownStabilizationSeconds) {
        return text("scale_down_stabilization_seconds %.0f: more capacity was wanted %.1f s ago",
                    p_.scaleDownStabilizationSeconds, now - h.lastStartWanted);
    }
    const double lastChange = std::max(h.lastStart, h.lastStop);
    if (now - lastChange < p_.scaleDownCooldownSeconds) {
        return text("scale_down_cooldown_seconds %.0f: last change %.1f s ago", p_.scaleDownCooldownSeconds,
                    now - lastChange);
    }
    const uint32_t remaining =
        scaling::groupsInUse(adapter) - std::min(scaling::groupsInUse(adapter), stoppedNow + 1);
    if (remaining < p_.minGroupsPerAdapter) {
        return text("min_groups_per_adapter %.0f (would leave %.0f)", p_.minGroupsPerAdapter, remaining);
    }
    return {};
}

GovernedDecision ScalingGovernor::govern(const ScalingDecision& proposed, const ScalingSnapshot& snapshot,
                                         double now) {
    GovernedDecision out;
    out.decision.unschedulable = proposed.unschedulable;
    std::vector<ScalingCommand> commands = proposed.commands;
    // Floors: an adapter below min_groups_per_adapter gets a group offering all it can, demand or not.
    if (p_.minGroupsPerAdapter > 0) {
        for (size_t a = 0; a < snapshot.adapters.size(); ++a) {
            const AdapterView& adapter = snapshot.adapters[a];
            uint32_t starting = 0;
            for (const auto& c : commands)
                starting += c.action == ScalingCommand::Action::start && c.adapter == a;
            const uint32_t have = scaling::groupsInUse(adapter) + starting;
            if (!adapter.startAllowed || have >= p_.minGroupsPerAdapter || have >= adapter.maxGroups)
                continue;
            for (uint32_t n = have; n < std::min(p_.minGroupsPerAdapter, adapter.maxGroups); ++n) {
                commands.push_back(
                    {ScalingCommand::Action::start,
                     a,
                     adapter.capabilities,
                     {},
                     text("min_groups_per_adapter %.0f: adapter has %.0f", p_.minGroupsPerAdapter, have),
                     "min_groups_per_adapter"});
            }
        }
    }
    std::map<size_t, uint32_t> started, stopped;
    for (const ScalingCommand& command : commands) {
        const AdapterView& adapter = snapshot.adapters[command.adapter];
        AdapterHistory& h = history_[adapter.id];
        std::string why;
        if (command.action == ScalingCommand::Action::start) {
            h.lastStartWanted = now;
            why = startHold(adapter, h, started[command.adapter], now);
            if (why.empty()) {
                ++started[command.adapter];
                h.lastStart = now;
                h.recentStarts.push_back(now);
            }
        } else {
            why = stopHold(adapter, h, stopped[command.adapter], now);
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
