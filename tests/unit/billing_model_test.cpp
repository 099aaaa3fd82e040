// How group runs are billed (common/billing_model.h).
#include <gtest/gtest.h>

#include <stdexcept>

#include "scaler/common/billing_model.h"

using namespace scaler;

TEST(BillingModel, PerSecondRoundsUpToTheSecondAndChargesTheMinimum) {
    const BillingModel ecs = parseBillingModel("per-second:minimum=60:price=0.36");
    EXPECT_DOUBLE_EQ(ecs.billedSeconds(12.2), 60);  // under a minute: the minute
    EXPECT_DOUBLE_EQ(ecs.billedSeconds(90.2), 91);  // whole seconds, rounded up
    EXPECT_DOUBLE_EQ(ecs.billedSeconds(90.0), 90);  // not past a whole second
    EXPECT_DOUBLE_EQ(ecs.cost(3600), 0.36);
    EXPECT_DOUBLE_EQ(ecs.cost(10), 0.006);  // a minute at 0.36 an hour
    EXPECT_EQ(parseBillingModel(ecs.describe()).describe(), ecs.describe());
}

TEST(BillingModel, PerHourChargesEveryStartedHourWhole) {
    const BillingModel hourly = parseBillingModel("per-hour:price=2");
    EXPECT_DOUBLE_EQ(hourly.billedSeconds(1), 3600);
    EXPECT_DOUBLE_EQ(hourly.billedSeconds(3600), 3600);
    EXPECT_DOUBLE_EQ(hourly.billedSeconds(3601), 7200);
    EXPECT_DOUBLE_EQ(hourly.cost(5000), 4);
    EXPECT_DOUBLE_EQ(hourly.billedSeconds(0), 0);  // never started
}

TEST(BillingModel, DefaultsFollowTheAdapterKind) {
    EXPECT_DOUBLE_EQ(defaultBillingModel("ecs").minimumSeconds, 60);  // Fargate and EC2 on ECS
    EXPECT_DOUBLE_EQ(defaultBillingModel("native").minimumSeconds, 0);
    EXPECT_DOUBLE_EQ(defaultBillingModel("native").billedSeconds(1.5), 2);
}

TEST(BillingModel, ABadSpecIsRefusedNamingThePart) {
    const auto refusal = [](const char* spec) {
        try {
            (void)parseBillingModel(spec);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(refusal("per-minute").find("'per-minute' is not a billing unit"), std::string::npos);
    EXPECT_NE(refusal("per-second:minimum=-5").find("minimum '-5'"), std::string::npos);
    EXPECT_NE(refusal("per-second:price=cheap").find("price 'cheap'"), std::string::npos);
    EXPECT_NE(refusal("per-hour:discount=5").find("'discount=5'"), std::string::npos);
    EXPECT_EQ(refusal("per-hour:price=0.5:minimum=0"), "accepted");
}
