// EcsWorkerGroupLauncher against an in-memory ECS, with invented time: recovery after a restart from
// ListTasks/DescribeTasks and tags, following a task's status, ECS's eventual consistency after RunTask,
// stops, and API failures. The fake ECS endpoint tests (tests/ecs) run the same launcher over HTTP.
#include <gtest/gtest.h>

#include "scaler/adapters/ecs_worker_group_launcher.h"

using namespace scaler;
using namespace scaler::adapters;
using namespace std::chrono_literals;

namespace {

class FakeEcs : public EcsApi {
public:
    std::map<std::string, nlohmann::json> tasks;  // by ARN
    std::vector<std::string> operations;
    bool down = false;
    bool describeForgetsNewTasks = false;  // eventual consistency: RunTask's task not yet described
    int runs = 0;

    EcsResult call(const std::string& operation, const nlohmann::json& request) override {
        operations.push_back(operation);
        if (down) return {false, 0, "", "connection refused", {}};
        if (operation == "RunTask") {
            const std::string arn = "arn:aws:ecs:eu-west-1:1:task/c/" + std::to_string(++runs);
            nlohmann::json task = {{"taskArn", arn},
                                   {"lastStatus", "PROVISIONING"},
                                   {"desiredStatus", "RUNNING"},
                                   {"startedBy", request["startedBy"]},
                                   {"tags", request["tags"]},
                                   {"hidden", describeForgetsNewTasks}};
            tasks[arn] = task;
            return ok({{"tasks", {task}}, {"failures", nlohmann::json::array()}});
        }
        if (operation == "ListTasks") {
            nlohmann::json arns = nlohmann::json::array();
            for (const auto& [arn, t] : tasks) {
                if (t["startedBy"] == request["startedBy"] && t["lastStatus"] != "STOPPED")
                    arns.push_back(arn);
            }
            return ok({{"taskArns", arns}});
        }
        if (operation == "DescribeTasks") {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& arn : request["tasks"]) {
                const auto it = tasks.find(arn.get<std::string>());
                if (it != tasks.end() && !it->second.value("hidden", false)) out.push_back(it->second);
            }
            return ok({{"tasks", out}});
        }
        if (operation == "StopTask") {
            const auto it = tasks.find(request["task"].get<std::string>());
            if (it == tasks.end()) {
                EcsResult gone{
                    false, 400, "InvalidParameterException", "The referenced task was not found.", {}};
                return gone;
            }
            it->second["desiredStatus"] = "STOPPED";
            return ok({{"task", it->second}});
        }
        return {false, 400, "UnknownOperationException", operation, {}};
    }
    static EcsResult ok(nlohmann::json body) { return {true, 200, "", "", std::move(body)}; }
};

class EcsLauncherTest : public ::testing::Test {
protected:
    EcsLauncherTest() {
        settings.schedulerAddress = "tcp://10.0.0.5:8516";
        settings.adapterId = "ecs-a";
        settings.workersPerGroup = 3;
        options.reconcileInterval = 5000ms;
    }
    EcsWorkerGroupLauncher& launcher() {
        if (!launcher_) {
            auto owned = std::make_unique<FakeEcs>(std::move(seed));
            ecs = owned.get();
            launcher_ = std::make_unique<EcsWorkerGroupLauncher>(settings, WorkerOptions{}, options,
                                                                 std::move(owned));
        }
        return *launcher_;
    }
    nlohmann::json& taskOf(const std::string& groupId) {
        for (auto& [arn, t] : ecs->tasks) {
            for (const auto& tag : t["tags"])
                if (tag["key"] == ecs_tags::kGroupId && tag["value"] == groupId) return t;
        }
        throw std::runtime_error("no task for " + groupId);
    }

    WorkerAdapterSettings settings;
    EcsOptions options;
    FakeEcs seed;
    FakeEcs* ecs = nullptr;
    std::unique_ptr<EcsWorkerGroupLauncher> launcher_;
    AdapterTimePoint t0 = AdapterTimePoint{} + 1h;
};

}  // namespace

TEST_F(EcsLauncherTest, AGroupIsStartingUntilEcsSaysRunningAndGoneWhenItsTaskStops) {
    const auto started = launcher().startGroup(parseCapabilities("gpu=1"), t0);
    ASSERT_EQ(started.status, wire::WorkerAdapterCommandStatus::SUCCESS) << started.message;
    EXPECT_EQ(started.workerIds.size(), 3u);
    EXPECT_EQ(launcher().inventory()[0].state, wire::WorkerGroupState::STARTING);
    taskOf(started.groupId)["lastStatus"] = "RUNNING";
    launcher().poll(t0 + 5s);
    EXPECT_EQ(launcher().inventory()[0].state, wire::WorkerGroupState::RUNNING);
    taskOf(started.groupId)["lastStatus"] = "STOPPED";
    taskOf(started.groupId)["stopCode"] = "EssentialContainerExited";
    launcher().poll(t0 + 10s);
    EXPECT_TRUE(launcher().inventory().empty());
}

TEST_F(EcsLauncherTest, ATaskEcsDoesNotDescribeYetIsKeptForAMinuteThenDropped) {
    seed.describeForgetsNewTasks = true;
    const auto started = launcher().startGroup({}, t0);
    launcher().poll(t0 + 5s);
    launcher().poll(t0 + 55s);
    EXPECT_EQ(launcher().inventory().size(), 1u);
    launcher().poll(t0 + 61s);
    EXPECT_TRUE(launcher().inventory().empty()) << started.groupId;
}

TEST_F(EcsLauncherTest, ARestartedAdapterRecoversItsRunningTasksFromTheirTags) {
    {
        auto first = std::make_unique<FakeEcs>();
        FakeEcs* shared = first.get();
        EcsWorkerGroupLauncher before(settings, WorkerOptions{}, options, std::move(first));
        before.startGroup(parseCapabilities("gpu=2"), t0);
        seed = *shared;  // the cluster outlives the adapter
    }
    for (auto& [arn, t] : seed.tasks) t["lastStatus"] = "RUNNING";
    launcher().poll(t0 + 1min);
    const auto inventory = launcher().inventory();
    ASSERT_EQ(inventory.size(), 1u);
    EXPECT_EQ(inventory[0].state, wire::WorkerGroupState::RUNNING);
    EXPECT_EQ(formatCapabilities(inventory[0].capabilities), "gpu=2");
    EXPECT_EQ(inventory[0].workerIds.size(), 3u);
    EXPECT_EQ(inventory[0].workerIds[0], "Worker|ECS|" + inventory[0].id + "|0");
}

TEST_F(EcsLauncherTest, AStopAsksEcsOnceAndATaskAlreadyGoneCountsAsStopped) {
    const auto started = launcher().startGroup({}, t0);
    EXPECT_EQ(launcher().stopGroup(started.groupId, t0 + 1s).status,
              wire::WorkerAdapterCommandStatus::SUCCESS);
    EXPECT_EQ(launcher().stopGroup(started.groupId, t0 + 2s).status,
              wire::WorkerAdapterCommandStatus::SUCCESS);
    EXPECT_EQ(std::count(ecs->operations.begin(), ecs->operations.end(), "StopTask"), 1);
    EXPECT_EQ(launcher().inventory()[0].state, wire::WorkerGroupState::STOPPING);

    const auto other = launcher().startGroup({}, t0);
    ecs->tasks.erase(taskOf(other.groupId)["taskArn"].get<std::string>());
    EXPECT_EQ(launcher().stopGroup(other.groupId, t0 + 1s).status, wire::WorkerAdapterCommandStatus::SUCCESS);
}

TEST_F(EcsLauncherTest, AnUnreachableEndpointFailsTheFirstStartWithTheCause) {
    seed.down = true;
    const auto result = launcher().startGroup({}, t0);
    EXPECT_EQ(result.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(result.message.find("connection refused"), std::string::npos) << result.message;
    EXPECT_EQ(std::count(ecs->operations.begin(), ecs->operations.end(), "RunTask"), 0);
}

TEST_F(EcsLauncherTest, ExitingAsksEcsToStopEveryTaskAndLeavesNothingToWaitFor) {
    launcher().startGroup({}, t0);
    launcher().startGroup({}, t0);
    launcher().beginStopAll(t0 + 1s);
    EXPECT_EQ(std::count(ecs->operations.begin(), ecs->operations.end(), "StopTask"), 2);
    EXPECT_TRUE(launcher().inventory().empty());
    for (const auto& [arn, t] : ecs->tasks) EXPECT_EQ(t["desiredStatus"], "STOPPED");
}
