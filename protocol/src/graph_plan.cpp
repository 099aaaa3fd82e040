#include "scaler/protocol/graph_plan.h"

#include <algorithm>

namespace scaler {

GraphPlan planGraph(const std::vector<std::vector<uint32_t>>& dependencies,
                    const std::vector<uint32_t>& outputs,
                    const std::function<std::string(uint32_t)>& nameOf) {
    GraphPlan plan;
    const auto n = static_cast<uint32_t>(dependencies.size());
    // Kahn's algorithm over the whole graph: a cycle anywhere is refused, needed or not.
    std::vector<uint32_t> waiting(n, 0);
    std::vector<std::vector<uint32_t>> dependents(n);
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t d : dependencies[i]) {
            ++waiting[i];
            dependents[d].push_back(i);
        }
    }
    std::vector<uint32_t> topological;
    topological.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        if (waiting[i] == 0) topological.push_back(i);
    }
    for (size_t next = 0; next < topological.size(); ++next) {
        for (uint32_t d : dependents[topological[next]]) {
            if (--waiting[d] == 0) topological.push_back(d);
        }
    }
    if (topological.size() != n) {
        // walk dependencies among the nodes left until one repeats: that loop is the cycle
        uint32_t at = 0;
        while (waiting[at] == 0) ++at;
        std::vector<int64_t> seenAt(n, -1);
        std::vector<uint32_t> path;
        while (seenAt[at] < 0) {
            seenAt[at] = static_cast<int64_t>(path.size());
            path.push_back(at);
            for (uint32_t d : dependencies[at]) {
                if (waiting[d] != 0) {
                    at = d;
                    break;
                }
            }
        }
        // at most kShown nodes of it: a peer's million-node cycle must not become a megabyte in every answer
        constexpr size_t kShown = 8;
        const auto first = static_cast<size_t>(seenAt[at]);
        const size_t length = path.size() - first;
        std::string text;
        for (size_t i = first; i < path.size() && i < first + kShown; ++i) text += nameOf(path[i]) + " -> ";
        if (length > kShown) text += "... (" + std::to_string(length) + " nodes) -> ";
        plan.error = "the graph has a cycle: " + text + nameOf(at) + " (each depends on the next)";
        return plan;
    }
    // what the outputs need, walking dependencies back from them
    std::vector<uint8_t> needed(n, 0);
    std::vector<uint32_t> stack(outputs.begin(), outputs.end());
    while (!stack.empty()) {
        const uint32_t at = stack.back();
        stack.pop_back();
        if (needed[at]) continue;
        needed[at] = 1;
        for (uint32_t d : dependencies[at]) {
            if (!needed[d]) stack.push_back(d);
        }
    }
    for (uint32_t i : topological) {
        if (needed[i]) plan.order.push_back(i);
    }
    return plan;
}

}  // namespace scaler
