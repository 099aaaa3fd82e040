// PeerTable alone: admission, the incarnation a heartbeat claims, silence, and memory hysteresis.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scaler/scheduler/routing/peer_table.h"
#include "scaler/scheduler/routing/scheduler_outbox.h"

namespace scaler::scheduler {
namespace {

using namespace std::chrono_literals;

class Refusals : public DiscardingOutbox {
public:
    void sendProtocolError(std::string_view identity, wire::ProtocolErrorCode code,
                           std::string_view) override {
        errors.push_back({std::string(identity), code});
    }
    struct Error {
        std::string identity;
        wire::ProtocolErrorCode code;
    };
    std::vector<Error> errors;
};

constexpr uint64_t kIncarnation = 0x1234;

class PeerTableTest : public ::testing::Test {
protected:
    std::optional<PeerTable::Admission> admit(const std::string& identity, PeerRole role,
                                              uint64_t claimed = 0, bool fresh = false,
                                              uint32_t version = wire::PROTOCOL_VERSION) {
        return table.admit(identity, role, version, claimed, fresh, now);
    }

    Refusals outbox;
    PeerRefusalLog refusals;
    PeerTable table{outbox, refusals, kIncarnation};
    PeerTime now = PeerTime{} + 1000s;
};

TEST_F(PeerTableTest, ANewPeerGetsASlotAndIsKnownAfterwards) {
    const auto first = admit("C1", PeerRole::client);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->isNew);
    ASSERT_NE(first->entry, nullptr);
    EXPECT_TRUE(table.clients()[first->slot].live);
    EXPECT_EQ(table.clients()[first->slot].identity, "C1");
    const auto again = admit("C1", PeerRole::client);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->isNew);
    EXPECT_EQ(again->slot, first->slot);
    EXPECT_EQ(table.clientCount(), 1u);
}

TEST_F(PeerTableTest, ARemovedWorkersSlotIsReusedAndItsIdentityForgotten) {
    const auto w1 = admit("W1", PeerRole::worker);
    ASSERT_TRUE(w1);
    table.removeWorker(w1->slot);
    EXPECT_EQ(table.workerCount(), 0u);
    EXPECT_EQ(table.find("W1"), nullptr);
    const auto w2 = admit("W2", PeerRole::worker);
    ASSERT_TRUE(w2);
    EXPECT_EQ(w2->slot, w1->slot);
}

TEST_F(PeerTableTest, AWrongVersionOrAnotherRoleIsRefusedAndCounted) {
    EXPECT_FALSE(admit("X", PeerRole::client, 0, false, wire::PROTOCOL_VERSION + 1));
    ASSERT_TRUE(admit("W1", PeerRole::worker));
    EXPECT_FALSE(admit("W1", PeerRole::client));
    ASSERT_EQ(outbox.errors.size(), 2u);
    EXPECT_EQ(outbox.errors[0].code, wire::ProtocolErrorCode::VERSION_MISMATCH);
    EXPECT_EQ(outbox.errors[1].code, wire::ProtocolErrorCode::ROLE_MISMATCH);
    EXPECT_EQ(refusals.dropped(), 2u);
}

TEST_F(PeerTableTest, APeerThatKnewAnotherStateRegistersOnlyWithAFreshSessionOfThisOne) {
    EXPECT_FALSE(admit("C1", PeerRole::client, 0x9999, true)) << "an earlier scheduler's";
    EXPECT_FALSE(admit("C1", PeerRole::client, kIncarnation, false)) << "timed out here, not fresh";
    ASSERT_EQ(outbox.errors.size(), 2u);
    EXPECT_EQ(outbox.errors[0].code, wire::ProtocolErrorCode::STATE_LOST);
    EXPECT_EQ(table.stateLostAnswers(), 2u);
    EXPECT_TRUE(admit("C1", PeerRole::client, kIncarnation, true));
    EXPECT_TRUE(admit("C2", PeerRole::client, 0, false)) << "a first heartbeat claims nothing";
}

TEST_F(PeerTableTest, OnlyPeersSilentLongerThanTheTimeoutAreListed) {
    const auto c = admit("C1", PeerRole::client);
    const auto w = admit("W1", PeerRole::worker);
    table.clients()[c->slot].lastSeen = now - 11s;
    table.workers()[w->slot].lastSeen = now - 9s;
    EXPECT_EQ(table.silentClients(now, 10s), std::vector<ClientSlot>{c->slot});
    EXPECT_TRUE(table.silentWorkers(now, 10s).empty());
}

TEST_F(PeerTableTest, MemoryFullAtNinetyPercentAndBackUnderEighty) {
    WorkerRecord w;
    w.resource.rssBytes = 85;
    EXPECT_FALSE(PeerTable::noteWorkerMemory(w, 100));
    EXPECT_FALSE(w.memoryFull);
    w.resource.rssBytes = 90;
    EXPECT_FALSE(PeerTable::noteWorkerMemory(w, 100));
    EXPECT_TRUE(w.memoryFull);
    EXPECT_FALSE(w.takesNewTasks());
    w.resource.rssBytes = 85;
    EXPECT_FALSE(PeerTable::noteWorkerMemory(w, 100)) << "hysteresis: still full above 80%";
    EXPECT_TRUE(w.memoryFull);
    w.resource.rssBytes = 79;
    EXPECT_TRUE(PeerTable::noteWorkerMemory(w, 100)) << "takes tasks again";
    EXPECT_TRUE(w.takesNewTasks());
    EXPECT_FALSE(PeerTable::noteWorkerMemory(w, 0)) << "no limit known";
}

}  // namespace
}  // namespace scaler::scheduler
