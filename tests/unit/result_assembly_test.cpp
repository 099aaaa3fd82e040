#include <gtest/gtest.h>

#include <string>

#include "scaler/scheduler/routing/result_assembly.h"

namespace scaler::scheduler {
namespace {

constexpr uint64_t kLimit = 1000;

TEST(ResultAssembly, PartsInOrderMakeTheWholeAndFreeTheirBuffer) {
    ResultAssembly parts;
    std::string out;
    EXPECT_EQ(parts.add({7, 6, 0, "abc", true}, 0, kLimit, out), ResultAssembly::Step::incomplete);
    EXPECT_GE(parts.bytes(), 6u) << "reserved whole on the first part";
    EXPECT_EQ(parts.add({7, 6, 3, "def", true}, 0, kLimit, out), ResultAssembly::Step::whole);
    EXPECT_EQ(out, "abcdef");
    EXPECT_EQ(parts.bytes(), 0u);
}

TEST(ResultAssembly, APartOutOfOrderOrFailedRefusesTheResultAndDropsWhatCame) {
    ResultAssembly parts;
    std::string out;
    ASSERT_EQ(parts.add({7, 6, 0, "abc", true}, 0, kLimit, out), ResultAssembly::Step::incomplete);
    EXPECT_EQ(parts.add({7, 6, 4, "ef", true}, 0, kLimit, out), ResultAssembly::Step::refused);
    EXPECT_NE(out.find("out of order (offset 4, expected 3)"), std::string::npos) << out;
    EXPECT_EQ(parts.bytes(), 0u);
    EXPECT_EQ(parts.add({8, 6, 0, "abc", false}, 0, kLimit, out), ResultAssembly::Step::refused);
    EXPECT_NE(out.find("failed result"), std::string::npos) << out;
    EXPECT_EQ(parts.add({9, 4, 0, "abcdef", true}, 0, kLimit, out), ResultAssembly::Step::refused)
        << "more than the total";
}

TEST(ResultAssembly, AResultThatCannotFitBesideTheStoreIsRefused) {
    ResultAssembly parts;
    std::string out;
    EXPECT_EQ(parts.add({1, 600, 0, "a", true}, 500, kLimit, out), ResultAssembly::Step::refused);
    EXPECT_NE(out.find("does not fit"), std::string::npos) << out;
    EXPECT_EQ(parts.add({1, 2000, 0, "a", true}, 0, kLimit, out), ResultAssembly::Step::refused);
    ASSERT_EQ(parts.add({2, 600, 0, "a", true}, 0, kLimit, out), ResultAssembly::Step::incomplete);
    EXPECT_EQ(parts.add({3, 600, 0, "a", true}, 0, kLimit, out), ResultAssembly::Step::refused)
        << "the first result's buffer counts";
    parts.drop(2);
    EXPECT_EQ(parts.bytes(), 0u);
    EXPECT_EQ(parts.add({3, 600, 0, "a", true}, 0, kLimit, out), ResultAssembly::Step::incomplete);
}

}  // namespace
}  // namespace scaler::scheduler
