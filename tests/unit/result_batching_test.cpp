// ResultBatching: when a worker holds finished tasks' results to send them together. Time is injected.
#include "scaler/worker/result_batching.h"

#include <gtest/gtest.h>

using namespace scaler::worker;
using namespace std::chrono_literals;

namespace {

struct Case {
    const char* name;
    std::chrono::microseconds window;
    std::vector<uint64_t> finishedUs;  // run times of the tasks finished so far
    std::chrono::microseconds sinceLastBatch;
    size_t tasksInHand;
    bool hold;
};

}  // namespace

TEST(ResultBatching, HoldsOnlyWithinTheWindowWhileTheWorkInHandOutlastsIt) {
    const std::vector<Case> cases{
        {"no window", 0us, {100}, 10us, 1000, false},
        {"nothing finished yet: nothing to judge by", 1000us, {}, 10us, 1000, false},
        {"Python no-ops, a full queue", 1000us, {40, 30, 35}, 10us, 1000, true},
        {"the window has passed", 1000us, {40}, 1000us, 1000, false},
        {"just inside the window", 1000us, {40}, 999us, 1000, true},
        {"nothing in hand: the last result goes at once", 1000us, {40}, 10us, 0, false},
        {"too little in hand to stay busy for twice the window", 1000us, {40}, 10us, 49, false},
        {"just enough in hand", 1000us, {40}, 10us, 50, true},
        {"C++ no-ops batch by themselves", 1000us, {2, 1, 3}, 10us, 100000, false},
        {"one long task in hand", 1000us, {5000}, 10us, 1, true},
    };
    for (const Case& c : cases) {
        ResultBatching batching(c.window);
        const auto sentAt = ResultBatching::TimePoint{} + 100s;
        for (uint64_t us : c.finishedUs) batching.finished(us);
        batching.sent(sentAt);
        EXPECT_EQ(batching.hold(sentAt + c.sinceLastBatch, c.tasksInHand), c.hold) << c.name;
        EXPECT_EQ(batching.releaseAt(), sentAt + c.window) << c.name;
    }
}

TEST(ResultBatching, TheMeanFollowsRecentTasks) {
    ResultBatching batching(1000us);
    const auto t = ResultBatching::TimePoint{} + 1s;
    batching.sent(t);
    batching.finished(5000);  // one slow task, then many fast ones: the mean comes down to them
    EXPECT_TRUE(batching.hold(t + 1us, 1));
    for (int i = 0; i < 100; ++i) batching.finished(10);
    EXPECT_FALSE(batching.hold(t + 1us, 1000)) << "10 us tasks batch by themselves";
}
