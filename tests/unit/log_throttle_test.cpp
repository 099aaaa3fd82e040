// LogThrottle and the escaping formatter: what a hostile peer can make the log hold.
#include <gtest/gtest.h>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "scaler/common/log.h"
#include "scaler/common/log_throttle.h"

using namespace scaler;
using namespace std::chrono_literals;

namespace {

TEST(LogThrottle, AFewLinesAWindowThenACountOfThoseHeldBack) {
    LogThrottle throttle(10s, 3);
    const auto t0 = LogThrottle::Clock::time_point{} + 1h;
    struct Step {
        const char* key;
        LogThrottle::Clock::duration at;
        std::optional<uint64_t> expected;
    };
    const Step steps[] = {
        {"a/task", 0s, 0},
        {"a/task", 1s, 0},
        {"a/task", 2s, 0},
        {"a/task", 3s, std::nullopt},
        {"a/task", 4s, std::nullopt},  // held back
        {"b/task", 4s, 0},
        {"a/object", 4s, 0},  // other peers and kinds are counted apart
        {"a/task", 10s, 2},   // a new window: written, saying two were not
        {"a/task", 11s, 0},
    };
    for (const Step& step : steps) {
        EXPECT_EQ(throttle.admit(step.key, t0 + step.at), step.expected)
            << step.key << " at " << step.at.count();
    }
}

TEST(LogThrottle, ManyPeersShareOneEntryBeyondTheBound) {
    LogThrottle throttle(10s, 1, 100);
    const auto t0 = LogThrottle::Clock::time_point{} + 1h;
    size_t written = 0;
    for (int i = 0; i < 100000; ++i) written += throttle.admit("peer-" + std::to_string(i), t0).has_value();
    EXPECT_LE(throttle.keys(), 101u);
    EXPECT_EQ(written, 101u) << "100 peers each once, then the shared entry once";
    // quiet keys are forgotten once their window is over, making room for new peers
    EXPECT_TRUE(throttle.admit("late", t0 + 20s).has_value());
    EXPECT_LE(throttle.keys(), 101u);
}

TEST(LogFormatter, PeerTextCannotForgeALineOrFillTheLog) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("test", sink);
    logger.set_formatter(log::makeFormatter("[%l] %v"));
    logger.warn("client '{}' refused", "x'\n[critical] [scheduler/security] forged\x1b[31m");
    logger.warn("{}", std::string(1'000'000, 'n'));
    const std::string text = out.str();
    std::istringstream lines(text);
    std::string first, second, extra;
    ASSERT_TRUE(std::getline(lines, first));
    ASSERT_TRUE(std::getline(lines, second));
    EXPECT_FALSE(std::getline(lines, extra)) << "a newline in a message made a line of its own";
    EXPECT_NE(first.find("x'\\x0a[critical]"), std::string::npos) << first;
    EXPECT_NE(first.find("\\x1b[31m"), std::string::npos) << first;
    EXPECT_LT(second.size(), log::kMaxMessageBytes + 100);
    EXPECT_NE(second.find("...(1000000 bytes)"), std::string::npos);
}

}  // namespace
