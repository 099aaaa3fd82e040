// SchedulerRegistration: what client, worker and adapter sessions share of registering with the scheduler.
#include "scaler/protocol/scheduler_registration.h"

#include <gtest/gtest.h>

#include <capnp/message.h>

using scaler::SchedulerRegistration;
using namespace std::chrono_literals;

namespace {

bool lost(const SchedulerRegistration& registration, uint64_t claimed) {
    capnp::MallocMessageBuilder b;
    auto error = b.initRoot<scaler::wire::ProtocolError>();
    error.setCode(scaler::wire::ProtocolErrorCode::STATE_LOST);
    error.setClaimedIncarnation(claimed);
    return registration.lostUs(error.asReader());
}

}  // namespace

TEST(SchedulerRegistration, AnEchoRegistersAndStartingAfreshMakesTheSessionFreshAgain) {
    SchedulerRegistration r;
    EXPECT_EQ(r.incarnation(), 0u);
    EXPECT_TRUE(r.fresh());
    r.echoed(7);
    EXPECT_EQ(r.incarnation(), 7u);
    EXPECT_FALSE(r.fresh());
    EXPECT_TRUE(lost(r, 7));
    EXPECT_FALSE(lost(r, 6));  // an answer to a heartbeat from before says nothing new
    r.startAfresh(9);
    EXPECT_EQ(r.incarnation(), 9u);
    EXPECT_TRUE(r.fresh());
    EXPECT_FALSE(lost(r, 7));
    EXPECT_FALSE(lost(r, 9));  // answers a heartbeat from before: fresh ones register
    r.echoed(9);
    EXPECT_TRUE(lost(r, 9));
    r.startAfresh(9);  // the same scheduler timed us out
    EXPECT_FALSE(lost(r, 9));
    capnp::MallocMessageBuilder b;
    auto heartbeat = b.initRoot<scaler::wire::ClientHeartbeat>();
    r.stamp(heartbeat);
    EXPECT_EQ(heartbeat.getSchedulerIncarnation(), 9u);
    EXPECT_TRUE(heartbeat.getFreshSession());
}

TEST(SchedulerRegistration, NotRegisteredAnswersBringAHeartbeatAtMostEveryHundredMilliseconds) {
    SchedulerRegistration r;
    const auto t0 = std::chrono::steady_clock::time_point{};  // even at the clock's zero
    EXPECT_TRUE(r.heartbeatForNotRegistered(t0));
    EXPECT_FALSE(r.heartbeatForNotRegistered(t0 + 10ms));
    EXPECT_FALSE(r.heartbeatForNotRegistered(t0 + 99ms));
    EXPECT_TRUE(r.heartbeatForNotRegistered(t0 + 100ms));
    EXPECT_FALSE(r.heartbeatForNotRegistered(t0 + 150ms));
    EXPECT_TRUE(r.heartbeatForNotRegistered(t0 + 250ms));
}
