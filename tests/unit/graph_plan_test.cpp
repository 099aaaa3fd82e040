// planGraph: what runs, in which order, and which graphs are refused.
#include <gtest/gtest.h>

#include "scaler/protocol/graph_plan.h"

using scaler::GraphPlan;
using scaler::planGraph;

namespace {

std::string nameOf(uint32_t i) {
    return std::string(1, static_cast<char>('a' + i));
}

struct Case {
    const char* what;
    std::vector<std::vector<uint32_t>> dependencies;
    std::vector<uint32_t> outputs;
    std::vector<uint32_t> order;  // expected, when accepted
    const char* error;            // expected part of the refusal; nullptr: accepted
};

}  // namespace

TEST(GraphPlan, Table) {
    const std::vector<Case> cases = {
        {"a chain runs dependencies first", {{}, {0}, {1}}, {2}, {0, 1, 2}, nullptr},
        {"a diamond runs its base once, before both sides",
         {{}, {0}, {0}, {1, 2}},
         {3},
         {0, 1, 2, 3},
         nullptr},
        {"nodes no output needs are left out", {{}, {0}, {}, {2}}, {1}, {0, 1}, nullptr},
        {"an intermediate node asked for is kept", {{}, {0}, {1}}, {1}, {0, 1}, nullptr},
        {"no outputs: nothing runs", {{}, {}}, {}, {}, nullptr},
        {"a node used twice counts once", {{}, {0, 0}}, {1}, {0, 1}, nullptr},
        {"a two-node cycle is refused, named", {{1}, {0}}, {0}, {}, "cycle: "},
        {"a self-dependency is refused", {{}, {1}}, {1}, {}, "b -> b"},
        {"a cycle no output needs is still refused", {{}, {2}, {1}}, {0}, {}, "cycle"},
    };
    for (const Case& c : cases) {
        const GraphPlan plan = planGraph(c.dependencies, c.outputs, nameOf);
        if (c.error == nullptr) {
            EXPECT_EQ(plan.error, "") << c.what;
            EXPECT_EQ(plan.order, c.order) << c.what;
        } else {
            EXPECT_NE(plan.error.find(c.error), std::string::npos) << c.what << ": " << plan.error;
        }
    }
}

TEST(GraphPlan, TheCycleMessageWalksTheLoop) {
    // a -> b -> c -> a, with d hanging off it
    const GraphPlan plan = planGraph({{2}, {0}, {1}, {0}}, {3}, nameOf);
    EXPECT_NE(plan.error.find("a -> c -> b -> a"), std::string::npos) << plan.error;
}

TEST(GraphPlan, AHugeCycleIsDescribedInABoundedMessage) {
    std::vector<std::vector<uint32_t>> dependencies(100000);
    for (uint32_t i = 0; i < dependencies.size(); ++i) dependencies[i] = {(i + 1) % 100000};
    const GraphPlan plan = planGraph(dependencies, {0}, nameOf);
    EXPECT_LT(plan.error.size(), 300u) << plan.error;
    EXPECT_NE(plan.error.find("(100000 nodes)"), std::string::npos) << plan.error;
}

TEST(GraphPlan, AHundredThousandNodeChainIsPlannedWithoutRecursion) {
    std::vector<std::vector<uint32_t>> dependencies(100000);
    for (uint32_t i = 1; i < dependencies.size(); ++i) dependencies[i] = {i - 1};
    const GraphPlan plan = planGraph(dependencies, {99999}, nameOf);
    ASSERT_EQ(plan.order.size(), 100000u);
    EXPECT_EQ(plan.order.front(), 0u);
    EXPECT_EQ(plan.order.back(), 99999u);
}
