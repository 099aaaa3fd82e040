#include <gtest/gtest.h>

#include "../support/error_message.h"

#include "scaler/protocol/capabilities.h"

using scaler::Capability;
using scaler::CapabilityList;
using scaler::parseCapabilities;

TEST(Capabilities, ParsesTheReferenceSyntaxSortedByName) {
    const CapabilityList caps = parseCapabilities(" linux , gpu=2 ");
    ASSERT_EQ(caps.size(), 2u);
    EXPECT_EQ(caps[0], (Capability{"gpu", 2}));
    EXPECT_EQ(caps[1], (Capability{"linux", -1}));
    EXPECT_EQ(scaler::formatCapabilities(caps), "gpu=2,linux");
}

TEST(Capabilities, EmptyTextIsNoCapabilities) {
    EXPECT_TRUE(parseCapabilities("  ").empty());
}

TEST(Capabilities, RejectsBadItemsNamingThem) {
    const auto message = [](const char* text) {
        return invalidArgumentMessage([&] { parseCapabilities(text); });
    };
    EXPECT_NE(message("gpu=x").find("'x'"), std::string::npos);
    EXPECT_NE(message("gpu=-3").find("'-3'"), std::string::npos);
    EXPECT_NE(message("=2").find("=2"), std::string::npos);
    EXPECT_NE(message("gpu,,linux").find("empty"), std::string::npos);
    EXPECT_NE(message("gpu,gpu=1").find("twice"), std::string::npos);
    EXPECT_NE(message("g pu").find("g pu"), std::string::npos);
}

TEST(Capabilities, SatisfyNeedsEveryNameAndAtLeastTheQuantityWhereBothGiveOne) {
    const auto worker = parseCapabilities("gpu=2,linux");
    EXPECT_TRUE(scaler::capabilitiesSatisfy(parseCapabilities(""), worker));
    EXPECT_TRUE(scaler::capabilitiesSatisfy(parseCapabilities("gpu=1"), worker));
    EXPECT_TRUE(scaler::capabilitiesSatisfy(parseCapabilities("gpu=2,linux"), worker));
    EXPECT_TRUE(scaler::capabilitiesSatisfy(parseCapabilities("gpu"), worker));
    EXPECT_FALSE(scaler::capabilitiesSatisfy(parseCapabilities("gpu=3"), worker));
    EXPECT_FALSE(scaler::capabilitiesSatisfy(parseCapabilities("linux=1,gpu=3"), worker));
    EXPECT_TRUE(scaler::capabilitiesSatisfy(parseCapabilities("linux=1"), worker))
        << "a bare name offers any";
    EXPECT_TRUE(scaler::capabilitiesSatisfy(parseCapabilities("gpu=100"), parseCapabilities("gpu")));
    EXPECT_FALSE(scaler::capabilitiesSatisfy(parseCapabilities("windows"), worker));
    EXPECT_FALSE(scaler::capabilitiesSatisfy(parseCapabilities("gpu=0"), parseCapabilities("linux")));
}

TEST(Capabilities, SubsetIsByNamesOnly) {
    const auto worker = parseCapabilities("gpu=1,linux");
    EXPECT_TRUE(scaler::capabilityNamesSubset(parseCapabilities(""), worker));
    EXPECT_TRUE(scaler::capabilityNamesSubset(parseCapabilities("gpu=4"), worker));
    EXPECT_TRUE(scaler::capabilityNamesSubset(parseCapabilities("linux,gpu"), worker));
    EXPECT_FALSE(scaler::capabilityNamesSubset(parseCapabilities("windows"), worker));
    EXPECT_FALSE(scaler::capabilityNamesSubset(parseCapabilities("gpu,windows"), worker));
    EXPECT_FALSE(scaler::capabilityNamesSubset(parseCapabilities("gpu"), parseCapabilities("")));
}
