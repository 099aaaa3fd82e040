#include <gtest/gtest.h>

#include <string>

#include "scaler/scheduler/routing/result_assembly.h"

namespace scaler::scheduler {
namespace {

constexpr uint64_t kLimit = 1000;

// "incomplete", the whole result, or "refused: why"
std::string step(ResultAssembly& parts, const ResultAssembly::Part& part, uint64_t charged = 0) {
    auto added = parts.add(part, charged, kLimit);
    if (!added) return "refused: " + added.why();
    return added.value() ? *added.value() : "incomplete";
}

TEST(ResultAssembly, PartsInOrderMakeTheWholeAndFreeTheirBuffer) {
    ResultAssembly parts;
    EXPECT_EQ(step(parts, {7, 6, 0, "abc", true}), "incomplete");
    EXPECT_GE(parts.bytes(), 6u) << "reserved whole on the first part";
    EXPECT_EQ(step(parts, {7, 6, 3, "def", true}), "abcdef");
    EXPECT_EQ(parts.bytes(), 0u);
}

TEST(ResultAssembly, APartOutOfOrderOrFailedRefusesTheResultAndDropsWhatCame) {
    ResultAssembly parts;
    ASSERT_EQ(step(parts, {7, 6, 0, "abc", true}), "incomplete");
    EXPECT_EQ(step(parts, {7, 6, 4, "ef", true}),
              "refused: a result part out of order (offset 4, expected 3)");
    EXPECT_EQ(parts.bytes(), 0u);
    EXPECT_EQ(step(parts, {8, 6, 0, "abc", false}), "refused: a failed result sent in parts");
    EXPECT_NE(step(parts, {9, 4, 0, "abcdef", true}).find("refused"), std::string::npos)
        << "more than the total";
}

TEST(ResultAssembly, AResultThatCannotFitBesideTheStoreIsRefused) {
    ResultAssembly parts;
    EXPECT_NE(step(parts, {1, 600, 0, "a", true}, 500).find("does not fit"), std::string::npos);
    EXPECT_NE(step(parts, {1, 2000, 0, "a", true}).find("refused"), std::string::npos);
    ASSERT_EQ(step(parts, {2, 600, 0, "a", true}), "incomplete");
    EXPECT_NE(step(parts, {3, 600, 0, "a", true}).find("refused"), std::string::npos)
        << "the first result's buffer counts";
    parts.drop(2);
    EXPECT_EQ(parts.bytes(), 0u);
    EXPECT_EQ(step(parts, {3, 600, 0, "a", true}), "incomplete");
}

}  // namespace
}  // namespace scaler::scheduler
