#pragma once
// --policy-content "allocate=capability; scaling=no": which allocation and scaling policies to run.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scaler::scheduler {

struct PolicyContent {
    std::string allocate = "even_load";
    std::string scaling = "no";
    std::map<std::string, std::string> parameters;  // policy parameters (key=value) beyond the two choices

    std::string toString() const;
};

// Throws std::invalid_argument naming the unknown key or value.
PolicyContent parsePolicyContent(std::string_view text);

// The "key=value; key=value" grammar policy content and scaling schedules share: the items in order, keys and
// values trimmed, empty items skipped. Throws std::invalid_argument "<what> item '...' is not key=value" (or
// "has no key", or "repeats key 'k'").
std::vector<std::pair<std::string, std::string>> parseKeyValueItems(std::string_view text,
                                                                    std::string_view what);

}  // namespace scaler::scheduler
