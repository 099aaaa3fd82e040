#include "scaler/scheduler/config/policy_content.h"

#include <array>
#include <stdexcept>

namespace scaler::scheduler {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

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

std::vector<std::pair<std::string, std::string>> parseKeyValueItems(std::string_view text,
                                                                    std::string_view what) {
    std::vector<std::pair<std::string, std::string>> items;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(';', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view item = trim(text.substr(start, end - start));
        start = end + 1;
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            throw std::invalid_argument(std::string(what) + " item '" + std::string(item) +
                                        "' is not key=value");
        }
        std::string key(trim(item.substr(0, eq)));
        if (key.empty()) {
            throw std::invalid_argument(std::string(what) + " item '" + std::string(item) + "' has no key");
        }
        for (const auto& [seen, value] : items) {
            if (seen == key) {
                // last-one-wins would hide a typo in a long line
                throw std::invalid_argument(std::string(what) + " item '" + std::string(item) +
                                            "' repeats key '" + key + "'");
            }
        }
        items.emplace_back(std::move(key), std::string(trim(item.substr(eq + 1))));
    }
    return items;
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
