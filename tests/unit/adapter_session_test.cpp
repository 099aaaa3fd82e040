// AdapterSession without a socket: commands in, recorded responses and heartbeats out, time injected. The
// provider is an in-memory table of groups (the real launchers have their own tests).
#include <gtest/gtest.h>

#include "recording_sink.h"
#include "scaler/adapters/adapter_session.h"
#include "scaler/adapters/start_request.h"
#include "scaler/adapters/worker_process.h"

using namespace scaler;
using namespace scaler::adapters;
using scaler::testing::IncomingMessage;
using scaler::testing::RecordingSink;
using namespace std::chrono_literals;
using W = wire::Message;

namespace {

class TableProvider : public WorkerGroupProvider {
public:
    std::vector<GroupInventoryEntry> groups;
    int polls = 0;
    bool stopAllBegun = false;
    bool forced = false;
    bool groupsExitWhenAsked = true;  // false: they outlive the grace and are ended by force

    std::string kind() const override { return "table"; }
    CommandResult startGroup(const CapabilityList& capabilities, AdapterTimePoint) override {
        const std::string id = "g" + std::to_string(groups.size() + 1);
        groups.push_back({id, wire::WorkerGroupState::RUNNING, capabilities, {id + "-w0"}, {}});
        return groupStarted(id, {id + "-w0"}, capabilities);
    }
    CommandResult stopGroup(const std::string& groupId, AdapterTimePoint) override {
        const auto before = groups.size();
        std::erase_if(groups, [&](const GroupInventoryEntry& g) { return g.id == groupId; });
        return groups.size() < before
                   ? CommandResult{wire::WorkerAdapterCommandStatus::SUCCESS, groupId, {}, {}, {}}
                   : groupNotFound(groupId);
    }
    std::vector<GroupInventoryEntry> inventory() const override { return groups; }
    void poll(AdapterTimePoint) override {
        ++polls;
        if (stopAllBegun && groupsExitWhenAsked) groups.clear();
    }
    void beginStopAll(AdapterTimePoint) override {
        stopAllBegun = true;
        for (auto& g : groups) g.state = wire::WorkerGroupState::STOPPING;
    }
    void forceStopAll() override {
        forced = true;
        groups.clear();
    }
};

class AdapterSessionTest : public ::testing::Test {
protected:
    AdapterSessionTest() {
        settings.schedulerAddress = "tcp://127.0.0.1:1";
        settings.adapterId = "A1";
        settings.maxWorkerGroups = 1;
        settings.capabilities = parseCapabilities("gpu=2");
        settings.heartbeatIntervalSeconds = 2;
        settings.exitGraceSeconds = 3;
        session.start(now);
    }
    void command(uint64_t requestId, wire::WorkerAdapterCommandType type, const std::string& caps,
                 const std::string& groupId = {}, uint64_t deadlineUnixMs = 0, uint64_t nowUnixMs = 0) {
        IncomingMessage message([&](W::Builder m) {
            auto c = m.initWorkerAdapterCommand();
            c.setRequestId(requestId);
            c.setCommand(type);
            c.setWorkerGroupId(groupId);
            c.setDeadlineUnixMs(deadlineUnixMs);
            const auto list = parseCapabilities(caps);
            capabilitiesToWire(list, c.initCapabilities(static_cast<unsigned>(list.size())));
        });
        session.onMessage(message.reader(), now, nowUnixMs);
    }
    struct Response {
        uint64_t requestId;
        wire::WorkerAdapterCommandStatus status;
        std::string groupId, capabilities, message;
    };
    std::vector<Response> responses() const {
        std::vector<Response> out;
        sink.each(W::WORKER_ADAPTER_COMMAND_RESPONSE, [&](W::Reader m) {
            const auto r = m.getWorkerAdapterCommandResponse();
            out.push_back({r.getRequestId(), r.getStatus(), r.getWorkerGroupId().cStr(),
                           formatCapabilities(capabilitiesFromWire(r.getCapabilities())),
                           r.getMessage().cStr()});
        });
        return out;
    }
    std::vector<size_t> inventorySizes() const {
        std::vector<size_t> sizes;
        sink.each(W::WORKER_ADAPTER_HEARTBEAT,
                  [&](W::Reader m) { sizes.push_back(m.getWorkerAdapterHeartbeat().getGroups().size()); });
        return sizes;
    }

    WorkerAdapterSettings settings;
    TableProvider provider;
    RecordingSink sink;
    AdapterSession::TimePoint now = AdapterSession::TimePoint{} + 100s;
    AdapterSession session{settings, provider, sink};
};

constexpr auto kStart = wire::WorkerAdapterCommandType::START_WORKER_GROUP;
constexpr auto kShutdown = wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP;

TEST_F(AdapterSessionTest, StartsWithinCapacityAndRefusesBeyondIt) {
    command(1, kStart, "gpu");
    command(2, kStart, "gpu");
    const auto answers = responses();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].requestId, 1u);
    EXPECT_EQ(answers[0].status, wire::WorkerAdapterCommandStatus::SUCCESS);
    EXPECT_EQ(answers[0].groupId, "g1");
    EXPECT_EQ(answers[0].capabilities, "gpu=2");  // the adapter's quantity of what was asked for
    EXPECT_EQ(answers[1].status, wire::WorkerAdapterCommandStatus::WORKER_GROUP_TOO_MUCH);
}

TEST_F(AdapterSessionTest, RefusesCapabilitiesItDoesNotOffer) {
    command(1, kStart, "fpga");
    command(2, kStart, "gpu=3");  // it offers gpu=2
    ASSERT_EQ(responses().size(), 2u);
    EXPECT_EQ(responses()[0].status, wire::WorkerAdapterCommandStatus::CAPABILITIES_NOT_SUPPORTED);
    EXPECT_EQ(responses()[1].status, wire::WorkerAdapterCommandStatus::CAPABILITIES_NOT_SUPPORTED);
    EXPECT_TRUE(provider.groups.empty());
}

TEST_F(AdapterSessionTest, AStopOfAnUnknownGroupNamesIt) {
    command(1, kShutdown, "", "g9");
    ASSERT_EQ(responses().size(), 1u);
    EXPECT_EQ(responses()[0].status, wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND);
    EXPECT_EQ(responses()[0].groupId, "g9");
}

TEST_F(AdapterSessionTest, ACommandReceivedAfterItsDeadlineIsRefusedNotCarriedOut) {
    const uint64_t deadline = 1'700'000'030'000;
    command(1, kStart, "", {}, deadline, deadline + 24'000);  // a partition held it 24 s past the deadline
    ASSERT_EQ(responses().size(), 1u);
    EXPECT_EQ(responses()[0].status, wire::WorkerAdapterCommandStatus::EXPIRED);
    EXPECT_NE(responses()[0].message.find("24 s after its deadline"), std::string::npos)
        << responses()[0].message;
    EXPECT_EQ(provider.groups.size(), 0u) << "a late start made a group nobody waits for";
    command(2, kStart, "", {}, deadline, deadline - 1000);  // in time
    ASSERT_EQ(responses().size(), 2u);
    EXPECT_EQ(responses()[1].status, wire::WorkerAdapterCommandStatus::SUCCESS);
}

TEST_F(AdapterSessionTest, HeartbeatsCarryTheInventoryEveryIntervalAndOnRegisteringAgain) {
    command(1, kStart, "");
    session.onTick(now + 1900ms);
    EXPECT_EQ(inventorySizes(), (std::vector<size_t>{0}));
    session.onTick(now + 2000ms);
    EXPECT_EQ(inventorySizes(), (std::vector<size_t>{0, 1}));
    EXPECT_EQ(provider.polls, 2);
    IncomingMessage notRegistered(
        [](W::Builder m) { m.initProtocolError().setCode(wire::ProtocolErrorCode::NOT_REGISTERED); });
    session.onMessage(notRegistered.reader(), now);
    EXPECT_EQ(inventorySizes(), (std::vector<size_t>{0, 1, 1}));  // a restarted scheduler adopts the group
    EXPECT_FALSE(session.stopRequested());
}

TEST_F(AdapterSessionTest, ABurstOfNotRegisteredAnswersBringsOneHeartbeatPerHundredMilliseconds) {
    // a restarted scheduler answers each of the old one's late command responses with notRegistered
    IncomingMessage notRegistered(
        [](W::Builder m) { m.initProtocolError().setCode(wire::ProtocolErrorCode::NOT_REGISTERED); });
    for (int i = 0; i < 50; ++i)
        session.onMessage(notRegistered.reader(), now + std::chrono::milliseconds(i));
    session.onMessage(notRegistered.reader(), now + 150ms);
    EXPECT_EQ(sink.each(W::WORKER_ADAPTER_HEARTBEAT), 3u);  // the registration, then one per 100 ms
}

TEST_F(AdapterSessionTest, ARefusalStopsWithExitCodeOne) {
    IncomingMessage refused([](W::Builder m) {
        auto e = m.initProtocolError();
        e.setCode(wire::ProtocolErrorCode::NOT_AUTHORIZED);
        e.setMessage("this connection's key is not allowed to act as a adapter");
    });
    session.onMessage(refused.reader(), now);
    EXPECT_TRUE(session.stopRequested());
    EXPECT_EQ(session.exitCode(), 1);
}

TEST_F(AdapterSessionTest, StoppingAsksEveryGroupToStopAndReportsAnEmptyInventoryOnceTheyHaveGone) {
    command(1, kStart, "");
    session.beginStop(now);
    EXPECT_TRUE(provider.stopAllBegun);
    EXPECT_TRUE(session.stopFinished(now + 10ms));  // they exited when asked
    EXPECT_FALSE(provider.forced);
    EXPECT_EQ(inventorySizes().back(), 0u);
}

TEST_F(AdapterSessionTest, GroupsThatOutliveTheExitGraceAreEndedByForceThen) {
    provider.groupsExitWhenAsked = false;
    command(1, kStart, "");
    session.beginStop(now);
    EXPECT_FALSE(session.stopFinished(now + 2999ms));  // the exit grace is 3 s
    EXPECT_FALSE(provider.forced);
    EXPECT_EQ(provider.groups.size(), 1u);
    EXPECT_TRUE(session.stopFinished(now + 3s));
    EXPECT_TRUE(provider.forced);
    EXPECT_EQ(inventorySizes().back(), 0u);
}

TEST_F(AdapterSessionTest, AnExitingAdapterRefusesToStartGroups) {
    provider.groupsExitWhenAsked = false;
    session.beginStop(now);
    command(1, kStart, "");
    ASSERT_EQ(responses().size(), 1u);
    EXPECT_EQ(responses()[0].status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(responses()[0].message.find("exiting"), std::string::npos);
    EXPECT_TRUE(provider.groups.empty());
}

TEST_F(AdapterSessionTest, AnAnswerThatTheSchedulerLostOurStateRegistersAfreshOnce) {
    IncomingMessage echo([](W::Builder m) { m.initWorkerAdapterHeartbeatEcho().setSchedulerIncarnation(7); });
    session.onMessage(echo.reader(), now);
    const auto stateLost = [](uint64_t claimed) {
        return IncomingMessage([=](W::Builder m) {
            auto e = m.initProtocolError();
            e.setCode(wire::ProtocolErrorCode::STATE_LOST);
            e.setClaimedIncarnation(claimed);
            e.setSchedulerIncarnation(9);
        });
    };
    auto lost = stateLost(7);
    session.onMessage(lost.reader(), now);
    auto stale = stateLost(7);  // an answer to an earlier heartbeat
    session.onMessage(stale.reader(), now);
    auto another = stateLost(7);
    session.onMessage(another.reader(), now);
    std::vector<std::pair<uint64_t, bool>> heartbeats;
    sink.each(W::WORKER_ADAPTER_HEARTBEAT, [&](W::Reader m) {
        heartbeats.emplace_back(m.getWorkerAdapterHeartbeat().getSchedulerIncarnation(),
                                m.getWorkerAdapterHeartbeat().getFreshSession());
    });
    ASSERT_EQ(heartbeats.size(), 2u);
    EXPECT_EQ(heartbeats[0], (std::pair<uint64_t, bool>{0, true}));  // the first registration
    EXPECT_EQ(heartbeats[1], (std::pair<uint64_t, bool>{9, true}));
    EXPECT_FALSE(session.stopRequested());
}

// The pipe closes as the child exits, before its status can be collected: a healthy check that ends at
// once must never be taken for one that did not finish.
TEST(WorkerCommandCheck, AQuickHealthyCheckIsNeverTakenForATimeout) {
    for (int i = 0; i < 200; ++i) {
        const auto check = checkWorkerCommand({"/bin/true"}, std::chrono::seconds(10));
        ASSERT_TRUE(check) << "run " << i << ": " << check.why();
    }
    const auto failed = checkWorkerCommand({"/bin/false"}, std::chrono::seconds(10));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.why(), "the worker exited with code 1");
}

}  // namespace

TEST_F(AdapterSessionTest, TheSameSchedulerTimingUsOutIsAnsweredOnceForEveryBufferedHeartbeat) {
    // after a cut, each heartbeat sent meanwhile is answered stateLost, all claiming the incarnation of the
    // scheduler that timed us out and is still the same: one registration afresh, one log line
    IncomingMessage echo([](W::Builder m) { m.initWorkerAdapterHeartbeatEcho().setSchedulerIncarnation(7); });
    session.onMessage(echo.reader(), now);
    for (int i = 0; i < 5; ++i) {
        IncomingMessage lost([](W::Builder m) {
            auto e = m.initProtocolError();
            e.setCode(wire::ProtocolErrorCode::STATE_LOST);
            e.setClaimedIncarnation(7);
            e.setSchedulerIncarnation(7);
        });
        session.onMessage(lost.reader(), now);
    }
    EXPECT_EQ(sink.each(W::WORKER_ADAPTER_HEARTBEAT), 2u);  // the first registration, then once afresh
}

TEST_F(AdapterSessionTest, ClosedHandshakesAloneDoNotStopTheAdapterButARefusedKeyDoes) {
    session.onHandshakeFailure({"closed 3 connections in a row before the handshake completed", false}, now);
    EXPECT_FALSE(session.stopRequested());
    session.onHandshakeFailure({"refused this process's CURVE key", true}, now + 1s);
    EXPECT_TRUE(session.stopRequested());
    EXPECT_EQ(session.exitCode(), 1);
}
