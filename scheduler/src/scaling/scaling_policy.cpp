#include "scaler/scheduler/scaling/scaling_policy.h"

#include <stdexcept>

namespace scaler::scheduler {
namespace {

double parseNumber(const std::string& key, const std::string& value) {
    size_t used = 0;
    double parsed = 0;
    try {
        parsed = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != value.size() || parsed < 0) {
        throw std::invalid_argument("policy parameter " + key + "='" + value +
                                    "' is not a non-negative number");
    }
    return parsed;
}

uint32_t parseCount(const std::string& key, const std::string& value) {
    const double parsed = parseNumber(key, value);
    if (parsed > 1e6 || parsed != static_cast<double>(static_cast<uint32_t>(parsed))) {
        throw std::invalid_argument("policy parameter " + key + "='" + value + "' is not a whole number");
    }
    return static_cast<uint32_t>(parsed);
}

}  // namespace

void applyScalingProfile(std::string_view profile, ScalingParameters& p) {
    struct Preset {
        std::string_view name;
        double upCooldown, downCooldown, stabilization, minAge;
        uint32_t startsPerMinute;
    };
    // the seeds' three profiles: cooldowns of 60, 30 and 15 s; the rest scaled alike
    static constexpr Preset presets[] = {
        {"conservative", 60, 60, 300, 60, 2},
        {"balanced", 30, 30, 120, 30, 6},
        {"aggressive", 15, 15, 30, 10, 0},
    };
    for (const Preset& preset : presets) {
        if (preset.name != profile) continue;
        p.scaleUpCooldownSeconds = preset.upCooldown;
        p.scaleDownCooldownSeconds = preset.downCooldown;
        p.scaleDownStabilizationSeconds = preset.stabilization;
        p.minGroupAgeSeconds = preset.minAge;
        p.maxStartsPerMinute = preset.startsPerMinute;
        return;
    }
    throw std::invalid_argument("policy parameter profile='" + std::string(profile) +
                                "' is not conservative, balanced or aggressive");
}

std::unique_ptr<ScalingPolicy> makeScalingPolicy(std::string_view name,
                                                 const std::map<std::string, std::string>& parameters) {
    ScalingParameters p;
    if (name == "capability") {
        p.upperTaskRatio = 5;  // the reference's capability defaults
        p.lowerTaskRatio = 0.5;
    } else if (name == "predictive") {
        p.upperTaskRatio = 5;  // its capability-rule fallback's
        p.lowerTaskRatio = 0.5;
    } else if (name != "no" && name != "vanilla" && name != "fixed_elastic") {
        throw std::invalid_argument("unknown scaling policy '" + std::string(name) + "'");
    }
    // Every parameter is a number or a whole count; the table is the list of what policy content accepts.
    static const std::map<std::string_view, double ScalingParameters::*> numbers{
        {"upper_task_ratio", &ScalingParameters::upperTaskRatio},
        {"lower_task_ratio", &ScalingParameters::lowerTaskRatio},
        {"min_group_age_seconds", &ScalingParameters::minGroupAgeSeconds},
        {"drain_timeout_seconds", &ScalingParameters::drainTimeoutSeconds},
        {"scale_up_cooldown_seconds", &ScalingParameters::scaleUpCooldownSeconds},
        {"scale_down_cooldown_seconds", &ScalingParameters::scaleDownCooldownSeconds},
        {"scale_down_stabilization_seconds", &ScalingParameters::scaleDownStabilizationSeconds},
        {"target_backlog_seconds", &ScalingParameters::targetBacklogSeconds},
        {"rate_window_seconds", &ScalingParameters::rateWindowSeconds},
        {"target_utilization", &ScalingParameters::targetUtilization},
        {"max_cost_per_hour", &ScalingParameters::maxCostPerHour},
    };
    if (const auto profile = parameters.find("profile"); profile != parameters.end()) {
        applyScalingProfile(profile->second, p);  // first: explicit parameters override the preset
    }
    static const std::map<std::string_view, uint32_t ScalingParameters::*> counts{
        {"min_groups_per_adapter", &ScalingParameters::minGroupsPerAdapter},
        {"max_groups_per_adapter", &ScalingParameters::maxGroupsPerAdapter},
        {"max_starts_per_minute", &ScalingParameters::maxStartsPerMinute},
        {"min_observations", &ScalingParameters::minObservations},
    };
    for (const auto& [key, value] : parameters) {
        if (key == "profile") continue;
        if (key == "lend_special_adapters") {
            if (value != "0" && value != "1" && value != "true" && value != "false") {
                throw std::invalid_argument("policy parameter lend_special_adapters='" + value +
                                            "' is not 0, 1, true or false");
            }
            p.lendSpecialAdapters = value == "1" || value == "true";
        } else if (const auto number = numbers.find(key); number != numbers.end()) {
            p.*(number->second) = parseNumber(key, value);
        } else if (const auto count = counts.find(key); count != counts.end()) {
            p.*(count->second) = parseCount(key, value);
        } else {
            throw std::invalid_argument("unknown policy parameter '" + key + "'");
        }
    }
    if (p.upperTaskRatio <= 0 || p.lowerTaskRatio >= p.upperTaskRatio) {
        throw std::invalid_argument("policy parameters need 0 <= lower_task_ratio < upper_task_ratio (got " +
                                    std::to_string(p.lowerTaskRatio) + " and " +
                                    std::to_string(p.upperTaskRatio) + ")");
    }
    if (p.targetBacklogSeconds <= 0 || p.rateWindowSeconds <= 0 || p.targetUtilization <= 0 ||
        p.targetUtilization > 1) {
        throw std::invalid_argument(
            "policy parameters need target_backlog_seconds > 0, rate_window_seconds > 0 and 0 < "
            "target_utilization <= 1");
    }
    if (name == "predictive") return std::make_unique<PredictiveScalingPolicy>(p);
    if (name == "vanilla") return std::make_unique<VanillaScalingPolicy>(p);
    if (name == "capability") return std::make_unique<CapabilityScalingPolicy>(p);
    if (name == "fixed_elastic") return std::make_unique<FixedElasticScalingPolicy>(p);
    return std::make_unique<NoScalingPolicy>(p);
}

}  // namespace scaler::scheduler
