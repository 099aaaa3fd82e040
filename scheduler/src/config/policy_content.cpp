#include "scaler/scheduler/config/policy_content.h"

#include <array>
#include <stdexcept>

#include "scaler/common/key_value_items.h"

namespace scaler::scheduler {
namespace {

constexpr std::array kAllocatePolicies = {"even_load", "capability"};
constexpr std::array kScalingPolicies = {"no", "vanilla", "capability", "fixed_elastic", "predictive"};

template <typename Array>
bool contains(const Array& values, std::string_view v) {
    for (std::string_view candidate : values)
        if (candidate == v) return true;
    return false;
}

template <typename Array>
std::string join(const Array& values) {
    std::string out;
    for (std::string_view v : values) out += (out.empty() ? "" : ", ") + std::string(v);
    return out;
}

}  // namespace

std::string PolicyContent::toString() const {
    std::string out = "allocate=" + allocate + "; scaling=" + scaling;
    for (const auto& [k, v] : parameters) out += "; " + k + "=" + v;
    return out;
}

PolicyContent parsePolicyContent(std::string_view text) {
    PolicyContent content;
    bool sawAllocate = false, sawScaling = false;
    for (auto& [key, value] : parseKeyValueItems(text, "policy content")) {
        if (key == "allocate") {
            if (!contains(kAllocatePolicies, value)) {
                throw std::invalid_argument("unknown allocate policy '" + value + "' (expected one of " +
                                            join(kAllocatePolicies) + ")");
            }
            content.allocate = value;
            sawAllocate = true;
        } else if (key == "scaling") {
            if (!contains(kScalingPolicies, value)) {
                throw std::invalid_argument("unknown scaling policy '" + value + "' (expected one of " +
                                            join(kScalingPolicies) + ")");
            }
            content.scaling = value;
            sawScaling = true;
        } else {
            content.parameters[key] = value;  // a scaling policy parameter; makeScalingPolicy checks it
        }
    }
    if (!sawAllocate) throw std::invalid_argument("policy content lacks allocate=...");
    if (!sawScaling) throw std::invalid_argument("policy content lacks scaling=...");
    return content;
}

}  // namespace scaler::scheduler
