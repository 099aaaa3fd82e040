#include <gtest/gtest.h>

#include "../support/error_message.h"

#include "scaler/scheduler/config/policy_content.h"

using scaler::scheduler::parsePolicyContent;

TEST(PolicyContent, ParsesBothKeys) {
    const auto p = parsePolicyContent(" allocate = capability ;scaling=no ");
    EXPECT_EQ(p.allocate, "capability");
    EXPECT_EQ(p.scaling, "no");
    EXPECT_EQ(parsePolicyContent("allocate=even_load; scaling=no").allocate, "even_load");
}

TEST(PolicyContent, OtherKeysArePolicyParameters) {
    const auto p = parsePolicyContent("allocate=capability; scaling=capability; upper_task_ratio=8");
    EXPECT_EQ(p.scaling, "capability");
    EXPECT_EQ(p.parameters.at("upper_task_ratio"), "8");
}

TEST(PolicyContent, RejectsUnknownKeysAndValuesNamingThem) {
    const auto message = [](const char* text) {
        return invalidArgumentMessage([&] { parsePolicyContent(text); });
    };
    EXPECT_NE(message("allocate=fastest; scaling=no").find("'fastest'"), std::string::npos);
    EXPECT_NE(message("allocate=capability; scaling=magic").find("'magic'"), std::string::npos);
    EXPECT_NE(message("allocate=capability").find("scaling"), std::string::npos);
    EXPECT_NE(message("allocate capability; scaling=no").find("key=value"), std::string::npos);
}
