// The client's share of the scheduler's queue: what it admits, how a full share waits and what ends a wait.
// Waiting needs a second thread; each wait is ended by an event (a release, new shares, a close), and the
// test waits for the waiter to be blocked by polling its state with a deadline, not by sleeping.

#include "submission_window.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "scaler/client/errors.h"
#include "scaler/client/wait_listener.h"
#include "scaler/tools/child_process.h"

using namespace scaler;
using namespace scaler::detail;
using namespace std::chrono_literals;

namespace {

std::vector<uint64_t> sizes(size_t n, uint64_t each) {
    return std::vector<uint64_t>(n, each);
}

}  // namespace

TEST(SubmissionWindow, AdmitsUpToTheTaskShareAndTheByteShare) {
    SubmissionWindow window;
    window.setShares(5, 100);
    const auto ten = sizes(10, 10);
    EXPECT_EQ(window.reserve(ten, std::nullopt), 5u);  // the task share
    EXPECT_EQ(window.pending(), 5u);
    EXPECT_EQ(window.pendingBytes(), 50u);
    window.release(5, 50);
    window.setShares(100, 35);
    EXPECT_EQ(window.reserve(ten, std::nullopt), 3u);  // the byte share
    EXPECT_TRUE(window.full(1, 10));
    EXPECT_FALSE(window.full(1, 5));
}

TEST(SubmissionWindow, WithoutSharesEverythingGoes) {
    SubmissionWindow window;
    const auto many = sizes(100000, 1000);
    EXPECT_EQ(window.reserve(many, std::nullopt), many.size());
    EXPECT_FALSE(window.full(1000000, 1u << 30));
}

TEST(SubmissionWindow, OneTaskAlwaysGoesWhenNothingIsOutHoweverLarge) {
    SubmissionWindow window;
    window.setShares(1, 10);
    const std::vector<uint64_t> big{1000, 1000};
    EXPECT_EQ(window.reserve(big, std::nullopt), 1u);
    EXPECT_TRUE(window.full(1, 1));
}

TEST(SubmissionWindow, AFullShareWaitsUntilATaskEnds) {
    SubmissionWindow window;
    window.setShares(2, 0);
    const auto two = sizes(2, 1);
    ASSERT_EQ(window.reserve(two, std::nullopt), 2u);
    auto waiter = std::async(std::launch::async, [&] { return window.reserve(sizes(3, 1), std::nullopt); });
    EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout) << "a full share admitted more";
    window.release(1, 1);
    EXPECT_EQ(waiter.get(), 1u);  // the room one ended task made
    EXPECT_EQ(window.pending(), 2u);
}

TEST(SubmissionWindow, AWholeReservationWaitsForRoomForAllOrForNothingElseUnfinished) {
    SubmissionWindow window;
    window.setShares(3, 0);
    ASSERT_EQ(window.reserve(sizes(2, 1), std::nullopt), 2u);
    auto graph = std::async(std::launch::async, [&] { window.reserveWhole(2, std::nullopt); });
    EXPECT_EQ(graph.wait_for(50ms), std::future_status::timeout) << "2 more fitted beside 2 in a share of 3";
    window.release(1, 1);
    graph.get();  // 1 + 2 fit: all at once, never split
    EXPECT_EQ(window.pending(), 3u);
    auto large = std::async(std::launch::async, [&] { window.reserveWhole(5, std::nullopt); });
    EXPECT_EQ(large.wait_for(50ms), std::future_status::timeout);
    window.release(3, 1);
    large.get();  // larger than the share: it goes once nothing else is unfinished
    EXPECT_EQ(window.pending(), 5u);
    EXPECT_THROW(window.reserveWhole(1, std::chrono::steady_clock::now() + 20ms), SubmitTimeoutError);
    EXPECT_EQ(window.pending(), 5u) << "a timed-out reservation took room";
}

namespace {
// A window whose share of one task is taken.
class FullSubmissionWindow : public ::testing::Test {
protected:
    void SetUp() override {
        window.setShares(1, 0);
        ASSERT_EQ(window.reserve(sizes(1, 1), std::nullopt), 1u);
    }
    // A thread reserving `n` tasks, seen to wait.
    std::future<size_t> blockedReserve(size_t n) {
        auto waiter =
            std::async(std::launch::async, [this, n] { return window.reserve(sizes(n, 1), std::nullopt); });
        EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout) << "a full share admitted more";
        return waiter;
    }
    SubmissionWindow window;
};
}  // namespace

TEST_F(FullSubmissionWindow, ALargerShareWakesAWaiter) {
    auto waiter = blockedReserve(4);
    window.setShares(3, 0);  // a client left: this one's share grew
    EXPECT_EQ(waiter.get(), 2u);
}

TEST_F(FullSubmissionWindow, AWaitEndsWithSubmitTimeoutErrorNamingTheShare) {
    try {
        (void)window.reserve(sizes(1, 1), std::chrono::steady_clock::now() + 20ms);
        FAIL() << "no timeout";
    } catch (const SubmitTimeoutError& e) {
        EXPECT_NE(std::string(e.what()).find("1 unfinished tasks of 1"), std::string::npos) << e.what();
    }
    EXPECT_EQ(window.pending(), 1u) << "a timed-out reserve took room";
}

TEST_F(FullSubmissionWindow, ClosingWakesWaitersWithSchedulerUnreachable) {
    auto waiter = blockedReserve(1);
    window.close("client is disconnected");
    EXPECT_THROW(waiter.get(), SchedulerUnreachableError);
    EXPECT_THROW((void)window.reserve(sizes(1, 1), std::nullopt), SchedulerUnreachableError);
}

namespace {
class RecordingListener : public WaitListener {
public:
    void waiting(bool now) override {
        if (now)
            ++began;
        else
            ++ended;
    }
    std::atomic<int> began{0}, ended{0};
};
}  // namespace

TEST_F(FullSubmissionWindow, ABlockedSubmitTellsTheThreadsWaitListener) {
    RecordingListener listener;
    auto waiter = std::async(std::launch::async, [&] {
        setThreadWaitListener(&listener);  // a nested task lends its worker slot while it waits
        const size_t n = window.reserve(sizes(1, 1), std::nullopt);
        setThreadWaitListener(nullptr);
        return n;
    });
    ASSERT_TRUE(scaler::tools::waitUntil([&] { return listener.began.load() == 1; }));
    EXPECT_EQ(listener.ended.load(), 0);
    window.release(1, 1);
    EXPECT_EQ(waiter.get(), 1u);
    EXPECT_EQ(listener.ended.load(), 1);
}
