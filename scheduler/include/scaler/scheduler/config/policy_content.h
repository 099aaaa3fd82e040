#pragma once
// --policy-content "allocate=capability; scaling=no": which allocation and scaling policies to run.

#include <map>
#include <string>
#include <string_view>

namespace scaler::scheduler {

struct PolicyContent {
    std::string allocate = "even_load";
    std::string scaling = "no";
    std::map<std::string, std::string> parameters;  // policy parameters (key=value) beyond the two choices

    std::string toString() const;
};

// Throws std::invalid_argument naming the unknown key or value.
PolicyContent parsePolicyContent(std::string_view text);

}  // namespace scaler::scheduler
