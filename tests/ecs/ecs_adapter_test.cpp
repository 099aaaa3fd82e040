// scaler_worker_adapter_ecs against a local ECS-compatible endpoint (tests/ecs/fake_ecs/server.mjs) that
// verifies every SigV4 signature with AWS's own signer and runs each task's command override as a local
// process, so the workers it starts really connect to the scheduler. No static workers unless a test says so.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <set>

#include "scaler/adapters/ecs_adapter_options.h"
#include "scaler/adapters/ecs_api_client.h"
#include "scaler/adapters/http_client.h"
#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;
using scaler::adapters::EcsApiClient;
using scaler::adapters::EcsClientOptions;
using scaler::adapters::EcsResult;

namespace {

constexpr const char* kAccessKey = "AKIDSCALERTEST0001";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTSECRET";
constexpr const char* kRegion = "eu-west-1";

class EcsAdapterTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = tempDir();
        fake_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{"/usr/bin/env", "node", std::string(SCALER_FAKE_ECS_DIR) + "/server.mjs",
                                     "--port-file", dir_ + "/port", "--access-key", kAccessKey, "--secret",
                                     kSecret, "--region", kRegion, "--stop-timeout-ms", "5000", "--log-dir",
                                     dir_},
            dir_ + "/fake-ecs.log");
        ASSERT_TRUE(waitUntil([&] {
            std::ifstream in(dir_ + "/port");
            return static_cast<bool>(in >> port_);
        })) << fake_->log();  // execv: node through env
        endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
    }

    void TearDown() override {
        adapters_.clear();
        fake_->signal(SIGTERM);  // it kills the task processes it started
        fake_->waitExit(5s);
    }

    ChildProcess& startAdapter(const std::string& address, const std::string& adapterId,
                               std::vector<std::string> extra = {}) {
        std::vector<std::string> args{binary("scaler_worker_adapter_ecs"),
                                      address,
                                      "--adapter-id",
                                      adapterId,
                                      "--ecs-endpoint",
                                      endpoint_,
                                      "--aws-region",
                                      kRegion,
                                      "--aws-access-key-id",
                                      kAccessKey,
                                      "--ecs-subnets",
                                      "subnet-0abc,subnet-0def",
                                      "--ecs-security-groups",
                                      "sg-0123",
                                      "--worker-group-binary",
                                      binary("scaler_worker_group"),
                                      "--heartbeat-interval-seconds",
                                      "0.5",
                                      "--shutdown-grace-seconds",
                                      "1",
                                      "--death-timeout-seconds",
                                      "10",
                                      "--workers-per-group",
                                      "2",
                                      "--ecs-reconcile-interval-seconds",
                                      "0.5",
                                      "--load",
                                      pluginPath()};
        if (std::find(extra.begin(), extra.end(), "--aws-secret-access-key") == extra.end()) {
            args.insert(args.end(), {"--aws-secret-access-key", kSecret});
        }
        args.insert(args.end(), extra.begin(), extra.end());
        adapters_.push_back(std::make_unique<ChildProcess>(
            args, dir_ + "/ecs-adapter-" + adapterId + "-" + std::to_string(adapters_.size()) + ".log"));
        return *adapters_.back();
    }

    nlohmann::json control(const std::string& what, const nlohmann::json& body = nullptr) {
        adapters::HttpClient http({});
        adapters::HttpRequest request;
        request.method = body.is_null() ? "GET" : "POST";
        request.url = endpoint_ + "/_control/" + what;
        if (!body.is_null()) request.body = body.dump();
        const auto response = http.send(request);
        EXPECT_TRUE(response.answered()) << response.transportError;
        return nlohmann::json::parse(response.body, nullptr, false);
    }

    size_t tasksWith(const std::string& lastStatus, const std::string& stopCode = "") {
        size_t n = 0;
        const auto state = control("state");
        for (const auto& t : state["tasks"]) {
            n += t["lastStatus"] == lastStatus && (stopCode.empty() || t.value("stopCode", "") == stopCode);
        }
        return n;
    }

    std::string dir_;
    int port_ = 0;
    std::string endpoint_;
    std::unique_ptr<ChildProcess> fake_;
    std::vector<std::unique_ptr<ChildProcess>> adapters_;
};

}  // namespace

// The endpoint checks every request against AWS's own ECS service model, so a member the adapter misspells or
// gives the wrong type fails here as it would on AWS, instead of being taken at face value.
TEST_F(EcsAdapterTest, TheEndpointChecksRequestsAgainstTheEcsServiceModel) {
    EcsClientOptions options;
    options.endpoint = endpoint_;
    options.region = kRegion;
    options.credentials = {kAccessKey, kSecret, ""};
    options.maxAttempts = 1;
    EcsApiClient api(options);
    EXPECT_TRUE(api.call("ListTasks", {{"cluster", "scaler-cluster"}, {"maxResults", 5}}).ok);
    const EcsResult miscased = api.call("ListTasks", {{"cluster", "scaler-cluster"}, {"maxresults", 5}});
    EXPECT_FALSE(miscased.ok);
    EXPECT_EQ(miscased.errorType, "SerializationException");
    EXPECT_NE(miscased.message.find("unknown member 'maxresults'"), std::string::npos) << miscased.message;
    const EcsResult mistyped = api.call("ListTasks", {{"cluster", "scaler-cluster"}, {"maxResults", "5"}});
    EXPECT_NE(mistyped.message.find("ListTasks.maxResults: expected an integer"), std::string::npos)
        << mistyped.message;
    const EcsResult missing = api.call("RunTask", {{"cluster", "scaler-cluster"}});
    EXPECT_NE(missing.message.find("missing required member 'taskDefinition'"), std::string::npos)
        << missing.message;
    const EcsResult nested =
        api.call("RunTask", {{"taskDefinition", "scaler-worker"},
                             {"networkConfiguration", {{"awsvpcConfiguration", {{"subnet", {"s-1"}}}}}}});
    EXPECT_NE(
        nested.message.find("RunTask.networkConfiguration.awsvpcConfiguration: unknown member 'subnet'"),
        std::string::npos)
        << nested.message;
    // the rules the model states in words (its JSON carries no enums or patterns), checked by hand
    const EcsResult badEnum =
        api.call("ListTasks", {{"cluster", "scaler-cluster"}, {"desiredStatus", "RUNING"}});
    EXPECT_EQ(badEnum.errorType, "InvalidParameterException");
    EXPECT_NE(badEnum.message.find("RUNING"), std::string::npos) << badEnum.message;
    const EcsResult twoFilters = api.call(
        "ListTasks", {{"cluster", "scaler-cluster"}, {"startedBy", "scaler"}, {"desiredStatus", "RUNNING"}});
    EXPECT_NE(twoFilters.message.find("startedBy must be the only filter"), std::string::npos)
        << twoFilters.message;
    const nlohmann::json run = {{"cluster", "scaler-cluster"}, {"taskDefinition", "scaler-task-definition"}};
    auto duplicateTags = run;
    duplicateTags["tags"] = {{{"key", "team"}, {"value", "a"}}, {{"key", "team"}, {"value", "b"}}};
    const EcsResult duplicated = api.call("RunTask", duplicateTags);
    EXPECT_NE(duplicated.message.find("'team' is given twice"), std::string::npos) << duplicated.message;
    auto serviceTags = run;
    serviceTags["propagateTags"] = "SERVICE";
    const EcsResult service = api.call("RunTask", serviceTags);
    EXPECT_NE(service.message.find("SERVICE is not valid when running a task"), std::string::npos)
        << service.message;
    auto longStartedBy = run;
    longStartedBy["startedBy"] = std::string(128, 'a');  // the model allows 128
    longStartedBy["overrides"] = {
        {"containerOverrides", {{{"name", "scaler-container"}, {"command", {"/bin/true"}}}}}};
    const EcsResult longOne = api.call("RunTask", longStartedBy);
    EXPECT_TRUE(longOne.ok) << longOne.message;
    longStartedBy["startedBy"] = std::string(129, 'a');
    EXPECT_EQ(api.call("RunTask", longStartedBy).errorType, "InvalidParameterException");
    const EcsResult badInclude =
        api.call("DescribeTasks", {{"cluster", "scaler-cluster"}, {"tasks", {"t-1"}}, {"include", {"tags"}}});
    EXPECT_NE(badInclude.message.find("include: 'tags' is not TAGS"), std::string::npos)
        << badInclude.message;
}

// The endpoint domain of every region AWS lists (and of a region each partition's pattern admits but AWS does
// not list yet) is the one AWS's own partition data gives, read through the AWS SDK
// (@aws-sdk/util-endpoints).
TEST_F(EcsAdapterTest, EndpointDomainsFollowAwsPartitionData) {
    ChildProcess dump({"/usr/bin/env", "node", std::string(SCALER_FAKE_ECS_DIR) + "/aws_partitions.mjs"},
                      dir_ + "/partitions.json");
    ASSERT_NE(dump.waitExit(30s), -1);
    const auto regions = nlohmann::json::parse(dump.log());
    std::set<std::string> partitions;
    for (const auto& r : regions) {
        EXPECT_EQ(adapters::awsDnsSuffix(r["region"]), r["dnsSuffix"]) << r.dump();
        partitions.insert(r["partition"]);
    }
    EXPECT_GE(regions.size(), 30u);
    EXPECT_TRUE(partitions.count("aws-eusc")) << "AWS's data has no European sovereign partition";
}

TEST_F(EcsAdapterTest, TasksCompleteOnEcsWorkersAndTheIdleGroupIsStoppedWithStopTask) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto& adapter = startAdapter(cluster.address(), "ecs-basic", {"--max-worker-groups", "2"});
    Client client(cluster.address());
    const std::vector<std::string> payloads(30, "50");
    auto futures = client.map("sleep_ms", payloads);
    ASSERT_TRUE(waitUntil([&] { return !cluster.snapshot()["workers"].empty(); }))
        << adapter.log() << fake_->log();
    const auto during = cluster.snapshot();
    for (const auto& w : during["workers"]) {
        EXPECT_EQ(w["id"].get<std::string>().rfind("Worker|ECS|ecs-", 0), 0u) << w.dump();
    }
    EXPECT_EQ(Client::gather(futures), payloads);
    EXPECT_EQ(client.submit("word_count", "a b").get(), "2");

    EXPECT_TRUE(waitUntil(
        [&] { return tasksWith("STOPPED", "UserInitiated") >= 1 && tasksWith("RUNNING") == 0; }, 30s))
        << adapter.log();
    const auto state = control("state");
    EXPECT_GE(state["runTaskCalls"], 1);
    EXPECT_GE(state["stopTaskCalls"], 1);
    EXPECT_EQ(state["rejectedSignatures"], 0);
    for (const auto& t : state["tasks"]) {
        EXPECT_EQ(t["startedBy"], "ecs-basic");
        EXPECT_EQ(t["stoppedReason"], "Shutdown requested by scaler adapter ecs-basic");
    }
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["worker_groups"].empty(); }));
    EXPECT_EQ(cluster.snapshot()["tasks"]["worker_died"], 0);
    EXPECT_EQ(adapter.log().find(kSecret), std::string::npos) << "the secret was logged";
}

TEST_F(EcsAdapterTest, AWrongSecretIsRejectedByTheEndpointAndReportedClearly) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    auto& adapter =
        startAdapter(cluster.address(), "ecs-badkey", {"--aws-secret-access-key", "not-the-secret"});
    Client client(cluster.address());
    auto future = client.submit("echo", "served anyway");
    EXPECT_TRUE(waitUntil([&] {
        return adapter.log().find("InvalidSignatureException") != std::string::npos;
    })) << adapter.log();
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "ecs-badkey", "start failed", "InvalidSignatureException");
    }));
    EXPECT_GT(control("state")["rejectedSignatures"], 0);
    EXPECT_EQ(control("state")["runTaskCalls"], 0);  // nothing got past the signature check
    EXPECT_TRUE(adapter.running());
    EXPECT_EQ(adapter.log().find("not-the-secret"), std::string::npos) << "the secret was logged";
    cluster.addWorker();
    EXPECT_EQ(future.get(), "served anyway");
}

TEST_F(EcsAdapterTest, ThrottlingIsRetriedWithBackoff) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    control("throttle", {{"count", 3}});
    auto& adapter = startAdapter(cluster.address(), "ecs-throttle", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    EXPECT_EQ(client.submit("echo", "after throttling").get(), "after throttling");
    EXPECT_EQ(control("state")["throttled"], 3);
    EXPECT_NE(adapter.log().find("ThrottlingException: Rate exceeded; retrying in"), std::string::npos)
        << adapter.log();
}

TEST_F(EcsAdapterTest, ATaskThatStopsOnItsOwnIsNoticedAndItsWorkIsRequeued) {
    TestCluster cluster({"--policy-content",
                         "allocate=capability; scaling=capability; min_group_age_seconds=1",
                         "--worker-timeout-seconds", "2"});
    auto& adapter = startAdapter(cluster.address(), "ecs-crash", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(4, "3000"));
    std::string groupId;
    ASSERT_TRUE(waitUntil([&] {
        const auto snapshot = cluster.snapshot();
        for (const auto& w : snapshot["workers"]) groupId = w["worker_group_id"].get<std::string>();
        return !groupId.empty() && snapshot["tasks"]["running"] >= 1;
    })) << adapter.log();
    EXPECT_FALSE(control("crash", {{"group", groupId}}).contains("message"));
    EXPECT_TRUE(waitUntil([&] {
        return adapter.log().find("stopped on its own (EssentialContainerExited") != std::string::npos;
    })) << adapter.log();
    // The scheduler re-queues the lost tasks and the adapter starts a new group for them.
    EXPECT_EQ(Client::gather(futures).size(), 4u);
    EXPECT_GE(control("state")["runTaskCalls"], 2);
    EXPECT_TRUE(
        waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 4; }));  // published each second
}

TEST_F(EcsAdapterTest, ARestartedAdapterRecoversItsGroupsFromTheTaskTags) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto& first = startAdapter(cluster.address(), "ecs-restart", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(4, "2000"));
    std::string groupId;
    ASSERT_TRUE(waitUntil([&] {
        const auto snapshot = cluster.snapshot();
        for (const auto& w : snapshot["workers"]) groupId = w["worker_group_id"].get<std::string>();
        return !groupId.empty();
    })) << first.log();
    first.signal(SIGKILL);
    ASSERT_NE(first.waitExit(5s), -1);
    auto& second = startAdapter(cluster.address(), "ecs-restart", {"--max-worker-groups", "1"});
    EXPECT_TRUE(waitUntil([&] {
        return second.log().find("recovered worker group '" + groupId + "'") != std::string::npos;
    })) << second.log();
    EXPECT_EQ(Client::gather(futures).size(), 4u);
    EXPECT_TRUE(waitUntil([&] { return tasksWith("STOPPED", "UserInitiated") == 1; }, 30s)) << second.log();
    EXPECT_EQ(control("state")["runTaskCalls"], 1);  // the recovered group served; no second task was needed
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 4; }));
    EXPECT_EQ(cluster.snapshot()["tasks"]["worker_died"], 0);
}

TEST_F(EcsAdapterTest, ARunTaskFailureIsReportedWithAwsReasonAndTheNextStartServes) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    control("capacity_failures", {{"count", 1}});
    startAdapter(cluster.address(), "ecs-capacity", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    auto future = client.submit("echo", "after a capacity failure");
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "ecs-capacity", "start failed", "RESOURCE:MEMORY");
    })) << cluster.snapshot()["scaling_events"].dump();
    EXPECT_EQ(future.get(), "after a capacity failure");
    EXPECT_EQ(control("state")["runTaskCalls"], 2);
}

TEST_F(EcsAdapterTest, ServerErrorsAreRetriedAndShortPagesAndLateTasksAreWalkedPatiently) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    control("server_errors", {{"count", 2}});
    control("page_size", {{"size", 1}});
    control("missing_ms", {{"ms", 3000}});  // DescribeTasks does not know new tasks for 3 s
    auto& adapter = startAdapter(cluster.address(), "ecs-stress", {"--max-worker-groups", "2"});
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(8, "500"));
    EXPECT_EQ(Client::gather(futures).size(), 8u);
    EXPECT_EQ(control("state")["serverErrors"], 2);
    EXPECT_NE(adapter.log().find("ServerException"), std::string::npos) << adapter.log();
    // a task missing from DescribeTasks for a while is not taken for a dead one: no group was replaced
    EXPECT_LE(control("state")["runTaskCalls"], 2) << adapter.log();
    EXPECT_EQ(adapter.log().find("stopped on its own"), std::string::npos) << adapter.log();
}
