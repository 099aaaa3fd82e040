#pragma once
// Checks a task graph and picks what to run: the client checks before sending (with the user's names) and
// the scheduler checks again (it trusts no peer). Pure; table-tested.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace scaler {

struct GraphPlan {
    std::vector<uint32_t> order;  // the nodes the outputs need, each after the nodes it depends on
    std::string error;            // non-empty: the graph is refused (a cycle), naming the nodes
};

// dependencies[i]: the nodes node i takes results from (indices < dependencies.size()). nameOf(i) names a
// node in the error.
GraphPlan planGraph(const std::vector<std::vector<uint32_t>>& dependencies,
                    const std::vector<uint32_t>& outputs, const std::function<std::string(uint32_t)>& nameOf);

}  // namespace scaler
