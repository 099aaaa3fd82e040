// ContainerWorkerGroupLauncher against an in-memory engine, with invented time: adoption of what an earlier
// run left, reconcile (exits, removal from outside), stop with its escalation, exit. The Podman tests
// (tests/container) run the same launcher against a real engine.
#include <gtest/gtest.h>

#include "scaler/adapters/container_worker_group_launcher.h"

using namespace scaler;
using namespace scaler::adapters;
using namespace std::chrono_literals;
namespace labels = container_labels;

namespace {

struct FakeContainer {
    std::string state = "running";
    std::map<std::string, std::string> labels;
    int exitCode = 0;
    bool oomKilled = false;
};

class FakeEngine : public ContainerEngine {
public:
    std::map<std::string, FakeContainer> containers;
    std::vector<std::string> calls;  // "kill <id> SIGTERM", "remove <id>", ...
    bool reachable = true;
    std::string host_ = "unix:///fake.sock";
    int created = 0;

    DockerResult createContainer(const std::string& name, const nlohmann::json& spec) override {
        if (!reachable) return down();
        const std::string id = "c" + std::to_string(++created) + std::string(20, '0');
        FakeContainer c;
        c.state = "created";
        for (auto& [k, v] : spec["Labels"].items()) c.labels[k] = v.get<std::string>();
        containers[id] = c;
        calls.push_back("create " + name);
        return {true, 201, {}, {{"Id", id}}};
    }
    DockerResult startContainer(const std::string& id) override {
        containers.at(id).state = "running";
        return {true, 204, {}, {}};
    }
    DockerResult killContainer(const std::string& id, const std::string& signal) override {
        if (!reachable) return down();
        calls.push_back("kill " + id.substr(0, 2) + " " + signal);
        if (!containers.count(id)) return {false, 404, "no such container", {}};
        return {true, 204, {}, {}};
    }
    DockerResult removeContainer(const std::string& id) override {
        if (!reachable) return down();
        calls.push_back("remove " + id.substr(0, 2));
        return containers.erase(id) ? DockerResult{true, 204, {}, {}}
                                    : DockerResult{false, 404, "no such container", {}};
    }
    DockerResult inspectContainer(const std::string& id) override {
        const auto& c = containers.at(id);
        return {true, 200, {}, {{"State", {{"ExitCode", c.exitCode}, {"OOMKilled", c.oomKilled}}}}};
    }
    DockerResult listContainers(const std::string& key, const std::string& value,
                                std::vector<ContainerSummary>& out) override {
        if (!reachable) return down();
        for (const auto& [id, c] : containers) {
            const auto l = c.labels.find(key);
            if (l != c.labels.end() && l->second == value) out.push_back({id, c.state, c.labels});
        }
        return {true, 200, {}, {}};
    }
    const std::string& host() const override { return host_; }

    static DockerResult down() { return {false, 0, "GET /containers/json: connection refused", {}}; }
};

class ContainerLauncherTest : public ::testing::Test {
protected:
    ContainerLauncherTest() {
        settings.schedulerAddress = "tcp://127.0.0.1:1";
        settings.adapterId = "ctr-a";
        settings.workersPerGroup = 2;
        worker.shutdownGraceSeconds = 10;  // a stop is escalated 15 s after it was asked
        options.reconcileInterval = 1000ms;
    }
    ContainerWorkerGroupLauncher& launcher() {
        if (!launcher_) {
            auto owned = std::make_unique<FakeEngine>(std::move(seed));
            engine = owned.get();
            launcher_ =
                std::make_unique<ContainerWorkerGroupLauncher>(settings, worker, options, std::move(owned));
        }
        return *launcher_;
    }
    std::string idOf(const std::string& groupId) {
        for (const auto& [id, c] : engine->containers) {
            if (c.labels.at(labels::kGroupId) == groupId) return id;
        }
        return {};
    }

    WorkerAdapterSettings settings;
    WorkerOptions worker;
    ContainerOptions options;
    FakeEngine seed;  // what the engine holds before the launcher starts
    FakeEngine* engine = nullptr;
    std::unique_ptr<ContainerWorkerGroupLauncher> launcher_;
    AdapterTimePoint t0 = AdapterTimePoint{} + 1h;
};

FakeContainer leftover(const std::string& adapterId, const std::string& groupId, const std::string& state) {
    FakeContainer c;
    c.state = state;
    c.labels = {{labels::kAdapterId, adapterId},
                {labels::kGroupId, groupId},
                {labels::kWorkerIds, "Worker|CTR|" + groupId + "|0,Worker|CTR|" + groupId + "|1"},
                {labels::kCapabilities, "gpu=1"}};
    return c;
}

}  // namespace

TEST_F(ContainerLauncherTest, RunningLeftoversAreAdoptedWithTheirWorkersAndTheRestRemoved) {
    seed.containers["old-running"] = leftover("ctr-a", "container-1", "running");
    seed.containers["old-exited"] = leftover("ctr-a", "container-2", "exited");
    seed.containers["someone-else"] = leftover("ctr-b", "container-3", "running");
    launcher().poll(t0);
    const auto inventory = launcher().inventory();
    ASSERT_EQ(inventory.size(), 1u);
    EXPECT_EQ(inventory[0].id, "container-1");
    EXPECT_EQ(inventory[0].workerIds,
              (std::vector<std::string>{"Worker|CTR|container-1|0", "Worker|CTR|container-1|1"}));
    EXPECT_EQ(formatCapabilities(inventory[0].capabilities), "gpu=1");
    EXPECT_FALSE(engine->containers.count("old-exited"));
    EXPECT_TRUE(engine->containers.count("someone-else"));  // another adapter's
}

TEST_F(ContainerLauncherTest, WithAdoptionOffEveryLeftoverIsRemoved) {
    options.adoptLeftovers = false;
    seed.containers["old-running"] = leftover("ctr-a", "container-1", "running");
    launcher().poll(t0);
    EXPECT_TRUE(launcher().inventory().empty());
    EXPECT_TRUE(engine->containers.empty());
}

TEST_F(ContainerLauncherTest, AStartedGroupIsListedUntilItsContainerExitsThenRemoved) {
    const auto started = launcher().startGroup(parseCapabilities("gpu=1"), t0);
    ASSERT_EQ(started.status, wire::WorkerAdapterCommandStatus::SUCCESS) << started.message;
    EXPECT_EQ(started.workerIds.size(), 2u);
    launcher().poll(t0);
    ASSERT_EQ(launcher().inventory().size(), 1u);
    const std::string id = idOf(started.groupId);
    engine->containers.at(id).state = "exited";
    engine->containers.at(id).oomKilled = true;
    launcher().poll(t0 + 500ms);  // before the reconcile interval: not looked at
    EXPECT_EQ(launcher().inventory().size(), 1u);
    launcher().poll(t0 + 1s);
    EXPECT_TRUE(launcher().inventory().empty());
    EXPECT_FALSE(engine->containers.count(id));  // removed after its exit was read
}

TEST_F(ContainerLauncherTest, AContainerRemovedFromOutsideEndsItsGroup) {
    const auto started = launcher().startGroup({}, t0);
    engine->containers.erase(idOf(started.groupId));
    launcher().poll(t0 + 1s);
    EXPECT_TRUE(launcher().inventory().empty());
}

TEST_F(ContainerLauncherTest, AStopSendsSigtermAndASigkillOnlyAfterTheGracePeriod) {
    const auto started = launcher().startGroup({}, t0);
    const std::string id = idOf(started.groupId);
    EXPECT_EQ(launcher().stopGroup(started.groupId, t0).status, wire::WorkerAdapterCommandStatus::SUCCESS);
    EXPECT_EQ(launcher().inventory()[0].state, wire::WorkerGroupState::STOPPING);
    EXPECT_EQ(launcher().stopGroup(started.groupId, t0 + 1s).status,
              wire::WorkerAdapterCommandStatus::SUCCESS);
    launcher().poll(t0 + 14s);
    const auto kills = [&] {
        return std::count(engine->calls.begin(), engine->calls.end(), "kill c1 SIGKILL");
    };
    EXPECT_EQ(std::count(engine->calls.begin(), engine->calls.end(), "kill c1 SIGTERM"), 1);  // asked once
    EXPECT_EQ(kills(), 0);
    launcher().poll(t0 + 15s);
    EXPECT_EQ(kills(), 1);
    launcher().poll(t0 + 30s);
    EXPECT_EQ(kills(), 1);  // once
    engine->containers.at(id).state = "exited";
    launcher().poll(t0 + 31s);
    EXPECT_TRUE(launcher().inventory().empty());
}

TEST_F(ContainerLauncherTest, StoppingAGroupItDoesNotHaveIsNotFound) {
    EXPECT_EQ(launcher().stopGroup("container-x", t0).status,
              wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND);
}

TEST_F(ContainerLauncherTest, AnUnreachableEngineFailsTheStartWithTheEnginesOwnError) {
    seed.reachable = false;
    const auto result = launcher().startGroup({}, t0);
    EXPECT_EQ(result.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(result.message.find("unix:///fake.sock"), std::string::npos) << result.message;
    EXPECT_NE(result.message.find("connection refused"), std::string::npos) << result.message;
}

TEST_F(ContainerLauncherTest, ExitingStopsEveryGroupAndRemovesWhatOutlivesTheGrace) {
    const auto a = launcher().startGroup({}, t0);
    const auto b = launcher().startGroup({}, t0);
    launcher().beginStopAll(t0);
    for (const auto& g : launcher().inventory()) EXPECT_EQ(g.state, wire::WorkerGroupState::STOPPING);
    engine->containers.at(idOf(a.groupId)).state = "exited";
    launcher().poll(t0 + 200ms);  // exiting: looked at every 200 ms
    ASSERT_EQ(launcher().inventory().size(), 1u);
    EXPECT_EQ(launcher().inventory()[0].id, b.groupId);
    launcher().forceStopAll();
    EXPECT_TRUE(launcher().inventory().empty());
    EXPECT_TRUE(engine->containers.empty());
}

TEST_F(ContainerLauncherTest, ExitingWithoutAnEngineDoesNotWaitOutTheGrace) {
    launcher().startGroup({}, t0);
    launcher().beginStopAll(t0);
    engine->reachable = false;
    launcher().poll(t0 + 200ms);
    EXPECT_TRUE(launcher().inventory().empty());
}
