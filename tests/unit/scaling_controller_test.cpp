// ScalingController alone: a router of plain data behind TaskRouterPort, recorded adapter commands, the
// monotonic and the wall clock injected.
#include <gtest/gtest.h>

#include <ctime>
#include <map>

#include "adapter_messages.h"
#include "scaler/scheduler/scaling/scaling_controller.h"
#include "utc_time.h"

using namespace scaler;
using namespace scaler::scheduler;
using scaler::testing::InventoryGroup;
using namespace std::chrono_literals;

namespace {

class TableRouter : public TaskRouterPort {
public:
    struct Worker {
        std::string id;
        CapabilityList capabilities;
        uint32_t assigned = 0;
        std::string adapter, group;
        bool accepting = true;
    };
    struct Set {
        CapabilityList capabilities;
        uint64_t live = 0, queued = 0;
        DemandCounters counters;
    };
    std::vector<Worker> workerTable;
    std::vector<Set> sets;
    std::vector<std::pair<std::string, std::string>> drained;
    std::vector<std::string> dead, released;

    std::vector<RoutedDemand> demand() const override {
        std::vector<RoutedDemand> rows;
        for (CapabilitySetId i = 0; i < sets.size(); ++i) {
            rows.push_back({i, &sets[i].capabilities, sets[i].live, sets[i].queued, &sets[i].counters});
        }
        return rows;
    }
    std::vector<RoutedWorker> workers() const override {
        std::vector<RoutedWorker> rows;
        for (const Worker& w : workerTable) {
            rows.push_back({w.id, &w.capabilities, w.assigned, w.adapter, w.group, w.accepting});
        }
        return rows;
    }
    void drainGroup(std::string_view adapterId, std::string_view groupId) override {
        drained.emplace_back(adapterId, groupId);
    }
    void removeDeadWorker(std::string_view identity, const std::string&) override {
        dead.emplace_back(identity);
        std::erase_if(workerTable, [&](const Worker& w) { return w.id == identity; });
    }
    void releaseAdapterPeer(const std::string& identity) override { released.push_back(identity); }
    std::vector<std::string> rejections;
    size_t rejectQueuedWithoutWorker(CapabilitySetId set, const std::string& why) override {
        rejections.push_back(why);
        return std::exchange(sets[set].queued, 0);
    }
};

class RecordingAdapterOutbox : public AdapterOutbox {
public:
    struct Command {
        PeerId adapter;
        uint64_t requestId;
        wire::WorkerAdapterCommandType type;
        std::string groupId;
    };
    std::vector<Command> commands;
    int echoes = 0;
    void sendAdapterHeartbeatEcho(PeerId) override { ++echoes; }
    void sendAdapterCommand(PeerId adapter, uint64_t requestId, wire::WorkerAdapterCommandType type,
                            std::string_view groupId, const CapabilityList&) override {
        commands.push_back({adapter, requestId, type, std::string(groupId)});
    }
    size_t count(wire::WorkerAdapterCommandType type) const {
        return static_cast<size_t>(std::count_if(commands.begin(), commands.end(),
                                                 [&](const Command& c) { return c.type == type; }));
    }
};

constexpr auto kStart = wire::WorkerAdapterCommandType::START_WORKER_GROUP;
constexpr auto kShutdown = wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP;
constexpr PeerId kAdapterPeer = 7;

WallTime utc(int year, int month, int day, int hour, int minute) {
    return WallClock::from_time_t(scaler::testing::utc(year, month, day, hour, minute));
}

class ScalingControllerTest : public ::testing::Test {
protected:
    TableRouter router;
    RecordingAdapterOutbox outbox;
    TimePoint t0 = TimePoint{} + 1000s;
    TimePoint now = t0;
    WallTime wall = utc(2026, 11, 30, 12, 0);
    std::unique_ptr<ScalingController> controller;
    AdapterSlot slot = 0;

    void make(std::vector<ScheduleRule> schedule = {}, std::map<std::string, std::string> parameters = {}) {
        parameters.emplace("min_group_age_seconds", "0");
        ScalingControllerConfig config{"capability", std::move(parameters), std::move(schedule), 1, 10};
        controller = std::make_unique<ScalingController>(config, router, outbox, now, wall);
        slot = controller->addAdapter("cpu", kAdapterPeer);
    }
    void advance(std::chrono::milliseconds by) {
        now += by;
        wall += by;
        controller->setNow(now, wall);
    }
    void heartbeat(const std::vector<InventoryGroup>& groups = {}, uint32_t maxGroups = 4) {
        capnp::MallocMessageBuilder b;
        scaler::testing::buildAdapterHeartbeat(b, maxGroups, "", groups);
        controller->onAdapterHeartbeat(slot,
                                       b.getRoot<wire::Message>().asReader().getWorkerAdapterHeartbeat());
    }
    Status startAnswer(uint64_t requestId, const std::string& group, const std::string& worker,
                       wire::WorkerAdapterCommandStatus status = wire::WorkerAdapterCommandStatus::SUCCESS) {
        capnp::MallocMessageBuilder b;
        scaler::testing::buildStartResponse(b, requestId, group, worker, "", status);
        return controller->onAdapterResponse(
            slot, b.getRoot<wire::Message>().asReader().getWorkerAdapterCommandResponse());
    }
    void demand(uint64_t queued) { router.sets = {{{}, queued, queued, {}}}; }
    // An adapter that has been sent one start command for five queued tasks, unanswered so far.
    void startCommandSent() {
        make();
        heartbeat();
        demand(5);
        controller->noteUnservedDemand();
        controller->evaluateIfUrgent();
        ASSERT_EQ(outbox.count(kStart), 1u);
    }
    bool hasEvent(const std::string& action, const std::string& reasonPart = "") const {
        for (const auto& e : controller->events()) {
            if (e.action == action && e.reason.find(reasonPart) != std::string::npos) return true;
        }
        return false;
    }
};

TEST_F(ScalingControllerTest, DemandNoWorkerCanServeStartsAGroupWithoutWaitingForTheInterval) {
    make();
    heartbeat();
    EXPECT_EQ(outbox.echoes, 1);
    demand(5);
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    ASSERT_EQ(outbox.count(kStart), 1u);
    EXPECT_EQ(outbox.commands[0].adapter, kAdapterPeer);
    EXPECT_TRUE(hasEvent("start"));
    EXPECT_EQ(controller->metrics().decisions.at({"start", "no_capable_worker"}), 1u);
    controller->evaluateIfUrgent();  // asked once, evaluated once
    EXPECT_EQ(outbox.count(kStart), 1u);
    // the pending start counts as supply
    ASSERT_EQ(controller->snapshot().adapters.size(), 1u);
    EXPECT_EQ(controller->snapshot().adapters[0].groups.size(), 1u);
    EXPECT_EQ(controller->snapshot().adapters[0].groups[0].phase, GroupPhase::pending);
}

TEST_F(ScalingControllerTest, AnUnansweredCommandIsGivenUpAfterItsTimeout) {
    startCommandSent();
    if (HasFatalFailure()) return;
    for (auto waited = 0s; waited <= ScalingController::kCommandTimeout; waited += 2s) {
        advance(2000ms);
        heartbeat();
        controller->onTick();
    }
    EXPECT_TRUE(hasEvent("command lost", "no answer within 30 s"));
    EXPECT_EQ(controller->metrics().commandFailures.at({"cpu", "start", "unanswered"}), 1u);
    // a late answer to the abandoned command is refused, not taken for a new group
    EXPECT_FALSE(startAnswer(outbox.commands[0].requestId, "g-late", "W"));
}

TEST_F(ScalingControllerTest, AGroupWhoseWorkersNeverConnectIsShutDown) {
    make();
    heartbeat();
    demand(1);
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    ASSERT_TRUE(startAnswer(outbox.commands[0].requestId, "g1", "W1"));
    const auto running = wire::WorkerGroupState::RUNNING;
    for (auto waited = 0s; waited <= ScalingController::kGroupStartTimeout + 2s; waited += 2s) {
        advance(2000ms);
        heartbeat({{"g1", running, "", {"W1"}}});
        controller->onTick();
    }
    ASSERT_GE(outbox.count(kShutdown), 1u);
    EXPECT_TRUE(hasEvent("shutdown", "no worker of the group connected within 120 s"));
}

TEST_F(ScalingControllerTest, QueuedTasksFailOnceTheOnlyAdapterThatCouldServeThemFailedThreeStartsInARow) {
    make();
    heartbeat();
    demand(4);
    const auto failedStart = [&] {
        controller->noteUnservedDemand();
        controller->evaluateIfUrgent();
        ASSERT_FALSE(outbox.commands.empty());
        ASSERT_TRUE(startAnswer(outbox.commands.back().requestId, "", "",
                                wire::WorkerAdapterCommandStatus::LAUNCH_FAILED));
        advance(ScalingController::kStartBackoff + 1s);
        heartbeat();
    };
    failedStart();
    failedStart();
    EXPECT_TRUE(router.rejections.empty()) << "two failures may be bad luck";
    failedStart();
    ASSERT_EQ(router.rejections.size(), 1u);
    EXPECT_NE(
        router.rejections[0].find("no worker can be started for capabilities '': adapter 'cpu' failed its "
                                  "last 3 starts: launchFailed"),
        std::string::npos)
        << router.rejections[0];
    EXPECT_TRUE(hasEvent("tasks rejected", "4 tasks"));
    EXPECT_EQ(outbox.count(kStart), 3u) << "it backed off between the starts, one each time";
    // the circuit is open: no start on the adapter for a quiet minute, then one try
    EXPECT_TRUE(hasEvent("circuit open", "3 starts failed in a row; no start on it for 60 s"));
    demand(4);
    for (int i = 0; i < 50; ++i) {
        advance(1000ms);
        heartbeat();
        controller->noteUnservedDemand();
        controller->evaluateIfUrgent();
        controller->onTick();
    }
    EXPECT_EQ(outbox.count(kStart), 3u) << "the circuit stayed open";
    advance(15000ms);
    heartbeat();
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    controller->onTick();
    EXPECT_EQ(outbox.count(kStart), 4u) << "one try after the quiet period";
}

TEST_F(ScalingControllerTest, AGroupItsAdapterReportsFailedAfterTheStartCountsAsAFailedStartOnce) {
    make();
    heartbeat();
    demand(4);
    const auto startThatFailsLater = [&](const std::string& group) {
        controller->noteUnservedDemand();
        controller->evaluateIfUrgent();
        ASSERT_FALSE(outbox.commands.empty());
        ASSERT_TRUE(startAnswer(outbox.commands.back().requestId, group, "W-" + group));
        const InventoryGroup failed{
            group,
            wire::WorkerGroupState::FAILED,
            "",
            {"W-" + group},
            "Pod scaler-" + group + " cannot start: ImagePullBackOff: Back-off pulling image"};
        heartbeat({failed});
        heartbeat({failed});  // reported in every heartbeat until the adapter forgets it: counted once
        advance(ScalingController::kStartBackoff + 1s);
        heartbeat();
    };
    startThatFailsLater("g1");
    EXPECT_EQ(controller->findAdapter("cpu")->failedStartsInARow, 1u);
    EXPECT_TRUE(hasEvent("start failed", "ImagePullBackOff"));
    startThatFailsLater("g2");
    EXPECT_TRUE(router.rejections.empty());
    startThatFailsLater("g3");
    ASSERT_EQ(router.rejections.size(), 1u);  // the waiting clients are told why
    EXPECT_NE(router.rejections[0].find("cannot start: ImagePullBackOff"), std::string::npos)
        << router.rejections[0];
}

TEST_F(ScalingControllerTest, AStartThatWorksClearsTheFailureCount) {
    make();
    heartbeat();
    demand(4);
    for (int i = 0; i < 2; ++i) {
        controller->noteUnservedDemand();
        controller->evaluateIfUrgent();
        ASSERT_TRUE(startAnswer(outbox.commands.back().requestId, "", "",
                                wire::WorkerAdapterCommandStatus::LAUNCH_FAILED));
        advance(ScalingController::kStartBackoff + 1s);
        heartbeat();
    }
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    ASSERT_TRUE(startAnswer(outbox.commands.back().requestId, "g1", "W1"));
    EXPECT_EQ(controller->findAdapter("cpu")->failedStartsInARow, 2u) << "answered is not yet working";
    controller->noteGroupWorkerConnected("cpu", "g1");
    EXPECT_EQ(controller->findAdapter("cpu")->failedStartsInARow, 0u);
    EXPECT_TRUE(router.rejections.empty());
}

TEST_F(ScalingControllerTest, StartUpIsMeasuredFromTheCommandToTheFirstWorker) {
    make();
    heartbeat();
    demand(1);
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    advance(1000ms);
    ASSERT_TRUE(startAnswer(outbox.commands[0].requestId, "g1", "W1"));
    advance(2400ms);
    controller->noteGroupWorkerConnected("cpu", "g1");
    EXPECT_NEAR(controller->findAdapter("cpu")->startupSeconds, 3.4, 1e-6);
    EXPECT_NEAR(controller->snapshot().adapters[0].startupSeconds, 3.4, 1e-6);
}

// A fast adapter spawns its workers before it answers, so the first worker can connect before the scheduler
// knows the group: the start-up is then taken when the answer comes (seen in the scaling demo: a gpu adapter
// whose start-up was never measured).
TEST_F(ScalingControllerTest, StartUpIsMeasuredWhenTheWorkersConnectedBeforeTheAnswer) {
    make();
    heartbeat();
    demand(1);
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    advance(300ms);
    router.workerTable.push_back({"W1", {}, 0, "cpu", "g1"});
    controller->noteGroupWorkerConnected("cpu", "g1");  // the group is not known yet
    advance(100ms);
    ASSERT_TRUE(startAnswer(outbox.commands[0].requestId, "g1", "W1"));
    EXPECT_NEAR(controller->findAdapter("cpu")->startupSeconds, 0.4, 1e-6);
}

TEST_F(ScalingControllerTest, ASilentAdapterIsForgottenAndItsIdentityReleased) {
    make();
    heartbeat();
    advance(11000ms);
    controller->onTick();
    EXPECT_EQ(router.released, std::vector<std::string>{"cpu"});
    EXPECT_EQ(controller->findAdapter("cpu"), nullptr);
    EXPECT_EQ(controller->adapterCount(), 0u);
    EXPECT_TRUE(hasEvent("adapter lost", "no heartbeat for 10 s"));
}

TEST_F(ScalingControllerTest, AWorkerMissingFromTwoInventoriesIsDeadAtTheRouter) {
    make();
    const auto running = wire::WorkerGroupState::RUNNING;
    router.workerTable = {{"W1", {}, 0, "cpu", "g1"}, {"W2", {}, 0, "cpu", "g1"}, {"X", {}, 0, "", ""}};
    heartbeat({{"g1", running, "", {"W1", "W2"}}});
    heartbeat({{"g1", running, "", {"W1"}}});
    EXPECT_TRUE(router.dead.empty());  // once could be a race with a fresh registration
    heartbeat({{"g1", running, "", {"W1", "W2"}}});
    heartbeat({{"g1", running, "", {"W1"}}});
    EXPECT_TRUE(router.dead.empty());  // listed again in between: the count starts over
    heartbeat({{"g1", running, "", {"W1"}}});
    EXPECT_EQ(router.dead, std::vector<std::string>{"W2"});
}

TEST_F(ScalingControllerTest, AnIdleGroupDrainsThroughTheRouterThenShutsDown) {
    make();
    const auto running = wire::WorkerGroupState::RUNNING;
    router.workerTable = {{"W1", {}, 0, "cpu", "g1"}};
    heartbeat({{"g1", running, "", {"W1"}}});
    demand(0);
    advance(1000ms);
    controller->onTick();
    ASSERT_EQ(router.drained.size(), 1u);
    EXPECT_EQ(router.drained[0], std::make_pair(std::string("cpu"), std::string("g1")));
    EXPECT_TRUE(controller->groupDraining("cpu", "g1"));
    router.workerTable[0].assigned = 1;  // a task it had started when the drain began
    advance(1000ms);
    controller->onTick();
    EXPECT_EQ(outbox.count(kShutdown), 0u);
    router.workerTable[0].assigned = 0;
    advance(1000ms);
    controller->onTick();
    ASSERT_EQ(outbox.count(kShutdown), 1u);
    EXPECT_EQ(outbox.commands.back().groupId, "g1");
}

TEST_F(ScalingControllerTest, AScheduledFloorFollowsTheInjectedWallClock) {
    wall = utc(2026, 11, 30, 7, 58);
    make({parseScheduleRule("cron=* 8-17 * * *; adapter=cpu; min_groups=1; timezone=utc")});
    heartbeat();
    advance(1000ms);
    controller->onTick();
    EXPECT_EQ(outbox.count(kStart), 0u);  // 07:58: no floor in force, no demand
    advance(std::chrono::milliseconds(60'000));
    heartbeat();
    controller->onTick();
    EXPECT_EQ(outbox.count(kStart), 0u);  // 07:59
    advance(std::chrono::milliseconds(60'000));
    heartbeat();
    controller->onTick();
    ASSERT_EQ(outbox.count(kStart), 1u);  // 08:00: the floor starts a group
    EXPECT_GE(controller->metrics().decisions.at({"start", "schedule_floor"}), 1u);
}

}  // namespace

TEST_F(ScalingControllerTest, TheCommandsOfALostAdapterAreCountedAsUnanswered) {
    startCommandSent();
    if (HasFatalFailure()) return;
    // the adapter falls silent (a partition) before answering: it is dropped, and its command with it,
    // counted
    for (int i = 0; i < 20 && !controller->snapshot().adapters.empty(); ++i) {
        advance(1000ms);
        controller->onTick();
    }
    ASSERT_TRUE(controller->snapshot().adapters.empty()) << "the silent adapter was never dropped";
    EXPECT_TRUE(hasEvent("command lost", "the adapter was lost before answering"));
    EXPECT_EQ(controller->metrics().commandFailures.at({"cpu", "start", "unanswered"}), 1u);
}

// The budget sees each adapter at its billing model's price: a native adapter's default, 1 a group-hour.
TEST_F(ScalingControllerTest, MaxCostPerHourHoldsStartsAtTheAdaptersBillingPrice) {
    make({}, {{"max_cost_per_hour", "2.5"}});
    heartbeat();
    demand(50);  // 50 tasks / 5 a worker: 10 workers, the adapter's 4 groups of 1
    controller->noteUnservedDemand();
    controller->evaluateIfUrgent();
    EXPECT_EQ(outbox.count(kStart), 2u);
    ASSERT_EQ(controller->held().size(), 2u);
    EXPECT_EQ(controller->held()[0].heldBecause,
              "max_cost_per_hour 2.5: the groups cost 2 an hour, one more on this adapter 1");
}
