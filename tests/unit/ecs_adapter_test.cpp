// The ECS adapter's pure parts: error parsing, retry classification, the RunTask body, startedBy rules.
#include <gtest/gtest.h>

#include "scaler/adapters/ecs_adapter_options.h"
#include "scaler/adapters/ecs_api_client.h"
#include "scaler/adapters/ecs_worker_group_launcher.h"

using namespace scaler;
using namespace scaler::adapters;

TEST(EcsApiClient, ErrorsAreParsedAndOnlyTransientOnesRetried) {
    const auto throttled = parseEcsAnswer(
        400, R"({"__type":"com.amazonaws.ecs#ThrottlingException","message":"Rate exceeded"})");
    EXPECT_FALSE(throttled.ok);
    EXPECT_EQ(throttled.errorType, "ThrottlingException");
    EXPECT_EQ(throttled.describe("RunTask"), "RunTask: ThrottlingException: Rate exceeded");
    EXPECT_TRUE(isRetryable(throttled));
    const auto denied = parseEcsAnswer(400, R"({"__type":"AccessDeniedException","Message":"not allowed"})");
    EXPECT_EQ(denied.errorType, "AccessDeniedException");
    EXPECT_EQ(denied.message, "not allowed");
    EXPECT_FALSE(isRetryable(denied));
    EXPECT_FALSE(isRetryable(parseEcsAnswer(400, R"({"__type":"InvalidParameterException","message":"x"})")));
    EXPECT_TRUE(isRetryable(parseEcsAnswer(500, R"({"__type":"ServerException","message":"x"})")));
    EXPECT_TRUE(isRetryable(parseEcsAnswer(503, "<html>busy</html>")));
    EcsResult noAnswer;
    noAnswer.message = "Connection refused";
    EXPECT_TRUE(isRetryable(noAnswer));
    EXPECT_NE(noAnswer.describe("ListTasks").find("no answer from the ECS endpoint"), std::string::npos);
    const auto fine = parseEcsAnswer(200, R"({"taskArns":[]})");
    EXPECT_TRUE(fine.ok);
    EXPECT_FALSE(isRetryable(fine));
}

TEST(EcsWorkerGroupLauncher, TheRunTaskBodyCarriesTheCommandTagsAndNetwork) {
    WorkerAdapterSettings settings;
    settings.schedulerAddress = "tcp://10.0.0.5:8516";
    settings.adapterId = "ecs-prod";
    EcsOptions ecs;
    ecs.client.endpoint = "http://127.0.0.1:1";
    ecs.client.region = "eu-west-1";
    ecs.subnets = {"subnet-1", "subnet-2"};
    ecs.securityGroups = {"sg-1"};
    EcsWorkerGroupLauncher launcher(settings, WorkerOptions{}, ecs);
    const auto body = launcher.runTaskRequest("ecs-abc", 4, parseCapabilities("gpu=1,linux"));
    EXPECT_EQ(body["count"], 1);
    EXPECT_EQ(body["launchType"], "FARGATE");
    EXPECT_EQ(body["startedBy"], "ecs-prod");
    EXPECT_EQ(body["clientToken"], "ecs-abc");
    EXPECT_EQ(body["networkConfiguration"]["awsvpcConfiguration"]["subnets"].size(), 2u);
    EXPECT_EQ(body["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"][0], "sg-1");
    const auto& override = body["overrides"]["containerOverrides"][0];
    EXPECT_EQ(override["name"], "scaler-container");
    const auto command = override["command"].get<std::vector<std::string>>();
    EXPECT_EQ(command[0], "/usr/local/bin/scaler_worker_group");
    EXPECT_EQ(command[2], "4");
    EXPECT_EQ(command[4], "Worker|ECS|ecs-abc|");
    EXPECT_EQ(command[6], "tcp://10.0.0.5:8516");
    bool capabilitiesTag = false;
    for (const auto& tag : body["tags"]) {
        const std::string value = tag["value"];
        EXPECT_EQ(value.find_first_of(",|"), std::string::npos) << "ECS tags forbid ',' and '|': " << value;
        capabilitiesTag |= tag["key"] == "scaler:capabilities" && value == "gpu=1 linux";
    }
    EXPECT_TRUE(capabilitiesTag);
    EXPECT_EQ(workerIdsOf("ecs-abc", 2),
              (std::vector<std::string>{"Worker|ECS|ecs-abc|0", "Worker|ECS|ecs-abc|1"}));
}

TEST(EcsWorkerGroupLauncher, StartedByFollowsEcsRules) {
    EXPECT_NO_THROW(checkStartedBy("ecs-0123456789ab"));
    EXPECT_NO_THROW(checkStartedBy("team/a_b-c"));
    EXPECT_THROW(checkStartedBy(""), std::invalid_argument);
    EXPECT_NO_THROW(checkStartedBy(std::string(128, 'a')));  // the model allows 128
    EXPECT_THROW(checkStartedBy(std::string(129, 'a')), std::invalid_argument);
    EXPECT_THROW(checkStartedBy("has space"), std::invalid_argument);
    EXPECT_THROW(checkStartedBy("a|b"), std::invalid_argument);
}

namespace {
nlohmann::json runTaskBodyFor(const std::string& launchType, std::vector<std::string> subnets) {
    WorkerAdapterSettings settings;
    settings.schedulerAddress = "tcp://10.0.0.5:8516";
    settings.adapterId = "ecs-prod";
    EcsOptions ecs;
    ecs.client.endpoint = "http://127.0.0.1:1";
    ecs.launchType = launchType;
    ecs.subnets = std::move(subnets);
    EcsWorkerGroupLauncher launcher(settings, WorkerOptions{}, ecs);
    return launcher.runTaskRequest("ecs-abc", 1, {});
}
}  // namespace

TEST(EcsWorkerGroupLauncher, PublicIpOnlyForFargateAndNoNetworkForExternal) {
    const auto fargate = runTaskBodyFor("FARGATE", {"subnet-1"});
    EXPECT_EQ(fargate["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"], "ENABLED");
    // AWS: "Assign public IP is not supported for this launch type"
    const auto ec2 = runTaskBodyFor("EC2", {"subnet-1"});
    EXPECT_TRUE(ec2["networkConfiguration"]["awsvpcConfiguration"].contains("subnets"));
    EXPECT_FALSE(ec2["networkConfiguration"]["awsvpcConfiguration"].contains("assignPublicIp"));
    EXPECT_FALSE(runTaskBodyFor("EC2", {}).contains("networkConfiguration"));
    EXPECT_FALSE(runTaskBodyFor("EXTERNAL", {"subnet-1"}).contains("networkConfiguration"));
}

TEST(EcsWorkerGroupLauncher, RequestsOverEcsLimitsAreRefusedWithTheNumbers) {
    nlohmann::json body = runTaskBodyFor("FARGATE", {"subnet-1"});
    EXPECT_TRUE(checkRunTaskRequest(body));
    body["overrides"]["containerOverrides"][0]["command"].push_back(std::string(9000, 'p'));
    const auto tooLong = checkRunTaskRequest(body);
    ASSERT_FALSE(tooLong);
    EXPECT_NE(tooLong.why().find("8192"), std::string::npos) << tooLong.why();
    nlohmann::json tagged = runTaskBodyFor("FARGATE", {"subnet-1"});
    tagged["tags"].push_back({{"key", "scaler:capabilities"}, {"value", std::string(300, 'c')}});
    const auto tag = checkRunTaskRequest(tagged);
    ASSERT_FALSE(tag);
    EXPECT_NE(tag.why().find("scaler:capabilities"), std::string::npos) << tag.why();
    EXPECT_NE(tag.why().find("256"), std::string::npos) << tag.why();
}

TEST(EcsWorkerGroupLauncher, OnlyATaskNotFoundCountsAsAlreadyStopped) {
    EXPECT_TRUE(taskAlreadyGone(parseEcsAnswer(
        400, R"({"__type":"InvalidParameterException","message":"The referenced task was not found."})")));
    EXPECT_FALSE(taskAlreadyGone(
        parseEcsAnswer(400, R"({"__type":"InvalidParameterException","message":"reason: too long"})")));
    EXPECT_FALSE(
        taskAlreadyGone(parseEcsAnswer(400, R"({"__type":"AccessDeniedException","message":"not found"})")));
}

TEST(EcsAdapterOptions, EachPartitionHasItsOwnEndpointDomain) {
    EXPECT_EQ(awsDnsSuffix("eu-west-1"), "amazonaws.com");
    EXPECT_EQ(awsDnsSuffix("cn-north-1"), "amazonaws.com.cn");
    EXPECT_EQ(awsDnsSuffix("cn-northwest-1"), "amazonaws.com.cn");
    EXPECT_EQ(awsDnsSuffix("us-iso-east-1"), "c2s.ic.gov");
    EXPECT_EQ(awsDnsSuffix("us-isob-east-1"), "sc2s.sgov.gov");
    EXPECT_EQ(awsDnsSuffix("us-gov-west-1"), "amazonaws.com");
    EXPECT_EQ(awsDnsSuffix("eusc-de-east-1"), "amazonaws.eu");  // the European sovereign cloud
    EXPECT_EQ(awsDnsSuffix("eu-isoe-west-1"), "cloud.adc-e.uk");
    EXPECT_EQ(awsDnsSuffix("us-isof-south-1"), "csp.hci.ic.gov");
}
