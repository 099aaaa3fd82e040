#include "scaler/adapters/ecs_adapter_options.h"

#include <cstdlib>
#include <regex>
#include <stdexcept>

#include "scaler/common/command_line.h"

namespace scaler::adapters {
namespace {

std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

}  // namespace

void addEcsAdapterOptions(CLI::App& app, EcsAdapterCommandLine& o) {
    addAdapterOptions(app, o.adapter, "ecs_worker_adapter", false);
    auto& c = o.ecs.client;
    c.region = "us-east-1";
    for (const char* name : {"AWS_DEFAULT_REGION", "AWS_REGION"}) {
        if (const char* env = std::getenv(name); env && *env) c.region = env;
    }
    app.add_option("--aws-access-key-id", c.credentials.accessKeyId,
                   "AWS access key id (default: $AWS_ACCESS_KEY_ID)")
        ->envname("AWS_ACCESS_KEY_ID");
    app.add_option("--aws-secret-access-key", c.credentials.secretAccessKey,
                   "AWS secret access key (default: $AWS_SECRET_ACCESS_KEY); never logged")
        ->envname("AWS_SECRET_ACCESS_KEY");
    app.add_option("--aws-session-token", c.credentials.sessionToken,
                   "Session token of temporary credentials (default: $AWS_SESSION_TOKEN)")
        ->envname("AWS_SESSION_TOKEN");
    app.add_option("--aws-region", c.region,
                   "AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)")
        ->capture_default_str();
    app.add_option(
        "--ecs-endpoint", c.endpoint,
        "ECS API endpoint URL (default: https://ecs.REGION.amazonaws.com); for VPC endpoints and tests");
    app.add_option("--ecs-cluster", o.ecs.cluster, "ECS cluster")->capture_default_str();
    app.add_option("--ecs-task-definition", o.ecs.taskDefinition, "Task definition family[:revision] or ARN")
        ->capture_default_str();
    app.add_option("--ecs-container-name", o.ecs.containerName,
                   "The container in the task definition whose command runs the workers")
        ->capture_default_str();
    app.add_option("--ecs-subnets", o.subnetsText, "Comma-separated subnet ids (required for FARGATE)");
    app.add_option("--ecs-security-groups", o.securityGroupsText, "Comma-separated security group ids");
    app.add_option("--ecs-launch-type", o.ecs.launchType, "FARGATE, EC2 or EXTERNAL")
        ->check(CLI::IsMember({"FARGATE", "EC2", "EXTERNAL"}))
        ->capture_default_str();
    app.add_option("--ecs-assign-public-ip", o.ecs.assignPublicIp, "ENABLED or DISABLED (awsvpc networking)")
        ->check(CLI::IsMember({"ENABLED", "DISABLED"}))
        ->capture_default_str();
    app.add_option("--ecs-reconcile-interval-seconds", o.reconcileIntervalSeconds,
                   "How often ListTasks/DescribeTasks check the groups")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--ecs-run-task-calls-per-second", o.ecs.client.runTaskCallsPerSecond,
                   "Client-side RunTask rate limit")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--worker-group-binary", o.ecs.groupBinary,
                   "scaler_worker_group's path inside the task's image")
        ->capture_default_str();
    app.add_option("--worker-scheduler-address", o.ecs.workerSchedulerAddress,
                   "The scheduler's address as seen from the ECS tasks (default: scheduler_address)");
}

std::string awsDnsSuffix(const std::string& region) {
    // AWS's partitions as its SDKs' partitions.json states them (each region pattern and DNS suffix, in its
    // order); a region no pattern matches is in the commercial partition, as the SDKs resolve it.
    // EcsAdapterTest.EndpointDomainsFollowAwsPartitionData checks this table against AWS's current data.
    static const std::pair<std::regex, const char*> kPartitions[] = {
        {std::regex(R"(^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$)"), "amazonaws.com"},
        {std::regex(R"(^cn\-\w+\-\d+$)"), "amazonaws.com.cn"},
        {std::regex(R"(^eusc\-(de)\-\w+\-\d+$)"), "amazonaws.eu"},
        {std::regex(R"(^us\-iso\-\w+\-\d+$)"), "c2s.ic.gov"},
        {std::regex(R"(^us\-isob\-\w+\-\d+$)"), "sc2s.sgov.gov"},
        {std::regex(R"(^eu\-isoe\-\w+\-\d+$)"), "cloud.adc-e.uk"},
        {std::regex(R"(^us\-isof\-\w+\-\d+$)"), "csp.hci.ic.gov"},
        {std::regex(R"(^us\-gov\-\w+\-\d+$)"), "amazonaws.com"},
    };
    for (const auto& [pattern, suffix] : kPartitions) {
        if (std::regex_match(region, pattern)) return suffix;
    }
    return "amazonaws.com";
}

void finishEcsAdapterOptions(EcsAdapterCommandLine& o) {
    auto& c = o.ecs.client;
    if (c.credentials.accessKeyId.empty() || c.credentials.secretAccessKey.empty()) {
        throw std::invalid_argument(
            "no AWS credentials: give --aws-access-key-id and --aws-secret-access-key or set "
            "AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY");
    }
    if (c.endpoint.empty()) c.endpoint = "https://ecs." + c.region + "." + awsDnsSuffix(c.region);
    while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
    if (c.endpoint.rfind("https://", 0) != 0 && c.endpoint.rfind("http://", 0) != 0) {
        throw std::invalid_argument("--ecs-endpoint: expected an http:// or https:// URL, got '" +
                                    c.endpoint + "'");
    }
    o.ecs.subnets = splitList(o.subnetsText);
    o.ecs.securityGroups = splitList(o.securityGroupsText);
    if (o.ecs.launchType == "EXTERNAL" && (!o.ecs.subnets.empty() || !o.ecs.securityGroups.empty())) {
        throw std::invalid_argument(
            "--ecs-subnets/--ecs-security-groups: EXTERNAL tasks take no network configuration; drop them");
    }
    if (o.ecs.launchType == "FARGATE" && o.ecs.subnets.empty()) {
        throw std::invalid_argument("--ecs-subnets: FARGATE tasks need at least one subnet");
    }
    // awsvpcConfiguration's limits (the ECS API reference): RunTask would refuse every start
    if (o.ecs.subnets.size() > 16) {
        throw std::invalid_argument("--ecs-subnets: " + std::to_string(o.ecs.subnets.size()) +
                                    " subnets given, ECS takes at most 16");
    }
    if (o.ecs.securityGroups.size() > 5) {
        throw std::invalid_argument("--ecs-security-groups: " + std::to_string(o.ecs.securityGroups.size()) +
                                    " security groups given, ECS takes at most 5");
    }
    if (o.adapter.settings.adapterId.empty())
        o.adapter.settings.adapterId = stableAdapterId(
            "ecs", {c.region, o.ecs.cluster, o.ecs.taskDefinition, o.adapter.capabilitiesText});
    checkStartedBy(o.adapter.settings.adapterId);
    finishAdapterOptions(o.adapter, "ecs");
    o.ecs.reconcileInterval =
        std::chrono::milliseconds(static_cast<int64_t>(o.reconcileIntervalSeconds * 1000));
}

}  // namespace scaler::adapters
