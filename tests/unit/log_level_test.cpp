#include <gtest/gtest.h>

#include "scaler/common/log.h"

using namespace scaler;

namespace {

std::string errorOf(const std::string& text) {
    try {
        (void)log::parseLevelSpec(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

TEST(LogLevelSpec, OneLevelForEveryComponent) {
    const auto spec = log::parseLevelSpec("WARNING");
    EXPECT_EQ(spec.all, spdlog::level::warn);
    EXPECT_TRUE(spec.perComponent.empty());
}

TEST(LogLevelSpec, PerComponentLevelsOverTheDefault) {
    const auto spec = log::parseLevelSpec("error, scaling=debug,tasks=Info");
    EXPECT_EQ(spec.all, spdlog::level::err);
    ASSERT_EQ(spec.perComponent.size(), 2u);
    EXPECT_EQ(spec.perComponent[0], std::make_pair(log::Component::scaling, spdlog::level::debug));
    EXPECT_EQ(spec.perComponent[1], std::make_pair(log::Component::tasks, spdlog::level::info));
    EXPECT_EQ(log::parseLevelSpec("scaling=trace").all, spdlog::level::info);  // the rest keep the default
}

TEST(LogLevelSpec, BadItemsAreNamed) {
    EXPECT_NE(errorOf("scaling=loud").find("'scaling=loud'"), std::string::npos);
    EXPECT_NE(errorOf("schedling=debug").find("unknown component 'schedling'"), std::string::npos);
    EXPECT_NE(errorOf("tasks=debug,tasks=info").find("names component 'tasks' twice"), std::string::npos);
    EXPECT_NE(errorOf("info,debug").find("two levels"), std::string::npos);
    EXPECT_NE(errorOf("info,,scaling=debug").find("empty item"), std::string::npos);
}

TEST(LogLevelSpec, ConfigureSetsEachComponentsLevel) {
    log::configure("test", log::parseLevelSpec("warning,scaling=debug"));
    EXPECT_EQ(log::scaling().level(), spdlog::level::debug);
    EXPECT_EQ(log::tasks().level(), spdlog::level::warn);
    EXPECT_EQ(log::scaling().name(), "test/scaling");
    log::configure("test", log::parseLevelSpec("info"));
}

}  // namespace
