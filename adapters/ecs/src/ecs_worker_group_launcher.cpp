#include "scaler/adapters/ecs_worker_group_launcher.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "scaler/common/log.h"

#include "scaler/adapters/start_request.h"
#include "scaler/protocol/identity.h"

namespace scaler::adapters {
namespace {

namespace tags = ecs_tags;

std::string tagValue(const nlohmann::json& task, const char* key) {
    if (!task.contains("tags") || !task["tags"].is_array()) return "";
    for (const auto& tag : task["tags"]) {
        if (tag.is_object() && tag.value("key", "") == key) return tag.value("value", "");
    }
    return "";
}

std::string spacesToCommas(std::string text) {
    std::replace(text.begin(), text.end(), ' ', ',');
    return text;
}

std::string commasToSpaces(std::string text) {
    std::replace(text.begin(), text.end(), ',', ' ');
    return text;
}

// Why a task stopped, from DescribeTasks' fields.
std::string stopDescription(const nlohmann::json& task) {
    std::string out = task.value("stopCode", "");
    const std::string reason = task.value("stoppedReason", "");
    if (!reason.empty()) out += (out.empty() ? "" : ": ") + reason;
    if (task.contains("containers") && task["containers"].is_array()) {
        for (const auto& c : task["containers"]) {
            if (c.is_object() && c.contains("exitCode") && c["exitCode"].is_number()) {
                out += ", exit code " + std::to_string(c["exitCode"].get<int>());
            }
        }
    }
    return out.empty() ? "no reason given" : out;
}

}  // namespace

void checkStartedBy(const std::string& adapterId) {
    const bool valid = !adapterId.empty() && adapterId.size() <= 128 &&
                       std::all_of(adapterId.begin(), adapterId.end(), [](unsigned char c) {
                           return std::isalnum(c) || c == '-' || c == '_' || c == '/';
                       });
    if (!valid) {
        throw std::invalid_argument(
            "--adapter-id: ECS startedBy takes up to 128 letters, digits, '-', '_' or '/', got '" +
            adapterId + "'");
    }
}

bool taskAlreadyGone(const EcsResult& answer) {
    // ECS answers an unknown task with InvalidParameterException "The referenced task was not found."; the
    // same exception type also reports real request errors, which must not pass for a stopped task
    if (answer.errorType != "InvalidParameterException") return false;
    std::string message = answer.message;
    std::transform(message.begin(), message.end(), message.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return message.find("not found") != std::string::npos;
}

std::vector<std::string> workerIdsOf(const std::string& groupId, uint32_t workers) {
    return groupWorkerIds("ECS", groupId, workers);
}

EcsWorkerGroupLauncher::EcsWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker,
                                               EcsOptions ecs)
    : EcsWorkerGroupLauncher(std::move(settings), std::move(worker), ecs, [&] {
          auto client = std::make_unique<EcsApiClient>(ecs.client);
          client->onRetry = [](const std::string& operation, const EcsResult& failed,
                               std::chrono::milliseconds wait) {
              log::adapter().warn("{}; retrying in {} ms", failed.describe(operation), wait.count());
          };
          return client;
      }()) {}

EcsWorkerGroupLauncher::EcsWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker,
                                               EcsOptions ecs, std::unique_ptr<EcsApi> api)
    : settings_(std::move(settings)), worker_(std::move(worker)), ecs_(std::move(ecs)), api_(std::move(api)) {
    if (ecs_.workerSchedulerAddress.empty()) ecs_.workerSchedulerAddress = settings_.schedulerAddress;
}

nlohmann::json EcsWorkerGroupLauncher::runTaskRequest(const std::string& groupId, uint32_t workers,
                                                      const CapabilityList& capabilities) const {
    std::vector<std::string> command{ecs_.groupBinary,
                                     "--count",
                                     std::to_string(workers),
                                     "--worker-id-prefix",
                                     "Worker|ECS|" + groupId + "|",
                                     "--"};
    for (auto& a :
         worker_.workerArguments(ecs_.workerSchedulerAddress, settings_.adapterId, groupId, capabilities)) {
        command.push_back(std::move(a));
    }
    nlohmann::json request = {
        {"cluster", ecs_.cluster},
        {"taskDefinition", ecs_.taskDefinition},
        {"count", 1},
        {"launchType", ecs_.launchType},
        {"startedBy", settings_.adapterId},
        {"clientToken", groupId},  // a retried RunTask does not start a second task
        {"overrides", {{"containerOverrides", {{{"name", ecs_.containerName}, {"command", command}}}}}},
        {"tags",
         {{{"key", tags::kAdapterId}, {"value", settings_.adapterId}},
          {{"key", tags::kGroupId}, {"value", groupId}},
          {{"key", tags::kWorkers}, {"value", std::to_string(workers)}},
          {{"key", tags::kCapabilities}, {"value", commasToSpaces(formatCapabilities(capabilities))}}}},
    };
    if (!ecs_.subnets.empty() && ecs_.launchType != "EXTERNAL") {  // EXTERNAL takes no network configuration
        nlohmann::json vpc = {{"subnets", ecs_.subnets}};
        // AWS refuses a public IP for anything but Fargate ("not supported for this launch type")
        if (ecs_.launchType == "FARGATE") vpc["assignPublicIp"] = ecs_.assignPublicIp;
        if (!ecs_.securityGroups.empty()) vpc["securityGroups"] = ecs_.securityGroups;
        request["networkConfiguration"] = {{"awsvpcConfiguration", vpc}};
    }
    return request;
}

Status checkRunTaskRequest(const nlohmann::json& request) {
    // limits ECS enforces that the model states: found here with the numbers, not by AWS at start time
    const size_t overrides = request.value("overrides", nlohmann::json::object()).dump().size();
    if (overrides > kMaxOverridesCharacters) {
        return refuse("the worker command is too long for ECS: its container overrides take " +
                      std::to_string(overrides) + " characters, ECS allows " +
                      std::to_string(kMaxOverridesCharacters) +
                      " (shorten --load paths or other worker options)");
    }
    for (const auto& tag : request.value("tags", nlohmann::json::array())) {
        const std::string value = tag.value("value", "");
        if (value.size() > kMaxTagValueCharacters) {
            return refuse("the ECS tag " + tag.value("key", "") + " would be " +
                          std::to_string(value.size()) + " characters, ECS allows " +
                          std::to_string(kMaxTagValueCharacters) + ": '" + value.substr(0, 60) + "...'");
        }
    }
    return {};
}

CommandResult EcsWorkerGroupLauncher::startGroup(const CapabilityList& capabilities, AdapterTimePoint now) {
    if (!recovered_ && !reconcile(now)) {
        return launchFailed("cannot list this adapter's ECS tasks: " + lastApiError_);
    }
    const std::string groupId = "ecs-" + randomHex(6);
    const nlohmann::json request = runTaskRequest(groupId, settings_.workersPerGroup, capabilities);
    if (auto valid = checkRunTaskRequest(request); !valid) return launchFailed(valid.why());
    const EcsResult answer = api_->call("RunTask", request);
    if (!answer.ok) {
        return launchFailed(answer.describe("RunTask"));
    }
    const auto& body = answer.body;
    if (body.contains("failures") && body["failures"].is_array() && !body["failures"].empty()) {
        const auto& failure = body["failures"][0];
        return launchFailed(
            "RunTask failed: " + failure.value("reason", std::string("unknown")) +
            (failure.contains("detail") ? " (" + failure.value("detail", std::string()) + ")" : ""));
    }
    if (!body.contains("tasks") || !body["tasks"].is_array() || body["tasks"].empty()) {
        return launchFailed("RunTask answered without a task");
    }
    WorkerGroupRecord group;
    group.handle = body["tasks"][0].value("taskArn", "");
    group.engineStatus = body["tasks"][0].value("lastStatus", "PROVISIONING");
    group.state =
        group.engineStatus == "RUNNING" ? wire::WorkerGroupState::RUNNING : wire::WorkerGroupState::STARTING;
    group.capabilities = capabilities;
    group.workerIds = workerIdsOf(groupId, settings_.workersPerGroup);
    group.startedAt = now;
    log::adapter().info("worker group '{}' is ECS task {} ({})", groupId, group.handle, group.engineStatus);
    CommandResult result = groupStarted(groupId, group.workerIds, capabilities);
    groups_.add(groupId, std::move(group));
    return result;
}

CommandResult EcsWorkerGroupLauncher::stopGroup(const std::string& groupId, AdapterTimePoint now) {
    CommandResult result;
    result.groupId = groupId;
    const WorkerGroupRecord* group = groups_.find(groupId);
    if (group == nullptr) return groupNotFound(groupId);
    if (group->state == wire::WorkerGroupState::STOPPING) return result;
    // ECS sends SIGTERM, then SIGKILL after the task definition's stopTimeout: the workers hand their tasks
    // back.
    const EcsResult answer =
        api_->call("StopTask", {{"cluster", ecs_.cluster},
                                {"task", group->handle},
                                {"reason", "Shutdown requested by scaler adapter " + settings_.adapterId}});
    if (!answer.ok && !taskAlreadyGone(answer)) return launchFailed(answer.describe("StopTask"), groupId);
    groups_.markStopping(groupId, now, std::nullopt);  // stopping, or gone already: reconcile drops it
    return result;
}

bool EcsWorkerGroupLauncher::apiFailed(const std::string& error) {
    if (lastApiError_.empty())
        log::adapter().error("cannot check this adapter's ECS tasks: {}", error);  // once per outage
    lastApiError_ = error;
    return false;
}

std::optional<std::set<std::string>> EcsWorkerGroupLauncher::listOwnTasks() {
    std::set<std::string> arns;
    std::string nextToken;
    do {
        // startedBy must be ECS's only filter here; the default status filter is RUNNING already
        nlohmann::json request = {
            {"cluster", ecs_.cluster}, {"startedBy", settings_.adapterId}, {"maxResults", 100}};
        if (!nextToken.empty()) request["nextToken"] = nextToken;
        const EcsResult listed = api_->call("ListTasks", request);
        if (!listed.ok) {
            apiFailed(listed.describe("ListTasks"));
            return std::nullopt;
        }
        if (listed.body.contains("taskArns") && listed.body["taskArns"].is_array()) {
            for (const auto& arn : listed.body["taskArns"]) {
                if (arn.is_string()) arns.insert(arn.get<std::string>());
            }
        }
        nextToken = listed.body.is_object() ? listed.body.value("nextToken", "") : "";
    } while (!nextToken.empty());
    return arns;
}

std::optional<std::map<std::string, nlohmann::json>> EcsWorkerGroupLauncher::describeTasks(
    const std::set<std::string>& arns) {
    std::map<std::string, nlohmann::json> described;
    std::vector<std::string> batch;
    const auto describe = [&]() -> bool {
        const EcsResult answer = api_->call(
            "DescribeTasks",
            {{"cluster", ecs_.cluster}, {"tasks", batch}, {"include", nlohmann::json::array({"TAGS"})}});
        batch.clear();
        if (!answer.ok) return apiFailed(answer.describe("DescribeTasks"));
        if (answer.body.contains("tasks") && answer.body["tasks"].is_array()) {
            for (const auto& task : answer.body["tasks"]) {
                if (task.is_object()) described[task.value("taskArn", "")] = task;
            }
        }
        return true;
    };
    for (const auto& arn : arns) {
        batch.push_back(arn);
        if (batch.size() == 100 && !describe()) return std::nullopt;  // DescribeTasks takes at most 100
    }
    if (!batch.empty() && !describe()) return std::nullopt;
    return described;
}

void EcsWorkerGroupLauncher::followKnownGroups(std::map<std::string, nlohmann::json>& described,
                                               AdapterTimePoint now) {
    // Known groups: follow their status; drop the ones that stopped or vanished.
    for (auto it = groups_.begin(); it != groups_.end();) {
        auto& [groupId, group] = *it;
        const auto found = described.find(group.handle);
        if (found == described.end()) {
            // ECS is eventually consistent: a task may be unknown to DescribeTasks just after RunTask.
            if (groups_.isNewerThan(groupId, now, std::chrono::seconds(60))) {
                ++it;
                continue;
            }
            log::adapter().warn("worker group '{}': ECS no longer knows task {}; removing the group", groupId,
                                group.handle);
            it = groups_.erase(it);
            continue;
        }
        const std::string status = found->second.value("lastStatus", "");
        const bool stopping = group.state == wire::WorkerGroupState::STOPPING;
        if (status == "STOPPED") {
            if (stopping) {
                log::adapter().info("worker group '{}' stopped ({})", groupId,
                                    stopDescription(found->second));
            } else {
                log::adapter().warn(
                    "worker group '{}': ECS task {} stopped on its own ({}); removing the group", groupId,
                    group.handle, stopDescription(found->second));
            }
            it = groups_.erase(it);
            continue;
        }
        if (status != group.engineStatus)
            log::adapter().info("worker group '{}': ECS task {}", groupId, status);
        group.engineStatus = status;
        if (found->second.value("desiredStatus", "") == "STOPPED" || stopping) {
            group.state = wire::WorkerGroupState::STOPPING;
        } else {
            group.state =
                status == "RUNNING" ? wire::WorkerGroupState::RUNNING : wire::WorkerGroupState::STARTING;
        }
        described.erase(found);
        ++it;
    }
}

void EcsWorkerGroupLauncher::recoverGroups(const std::map<std::string, nlohmann::json>& described,
                                           AdapterTimePoint now) {
    // Tasks it started but does not know: recovered after a restart (tags say which group they are).
    for (const auto& [arn, task] : described) {
        if (task.value("lastStatus", "") == "STOPPED" || task.value("desiredStatus", "") == "STOPPED")
            continue;
        const std::string groupId = tagValue(task, tags::kGroupId);
        if (groupId.empty() || tagValue(task, tags::kAdapterId) != settings_.adapterId ||
            groups_.contains(groupId)) {
            log::adapter().warn(
                "ECS task {} was started by this adapter id but has no usable tags; leaving it alone", arn);
            continue;
        }
        WorkerGroupRecord group;
        group.handle = arn;
        group.engineStatus = task.value("lastStatus", "");
        group.state = group.engineStatus == "RUNNING" ? wire::WorkerGroupState::RUNNING
                                                      : wire::WorkerGroupState::STARTING;
        group.startedAt = now;
        try {
            group.capabilities = parseCapabilities(spacesToCommas(tagValue(task, tags::kCapabilities)));
        } catch (const std::exception& e) {
            log::adapter().warn(
                "ECS task {} has a bad capabilities tag ({}); recovering it without capabilities", arn,
                e.what());
        }
        uint32_t workers = settings_.workersPerGroup;
        try {
            workers = static_cast<uint32_t>(std::stoul(tagValue(task, tags::kWorkers)));
        } catch (const std::exception&) {
        }
        group.workerIds = workerIdsOf(groupId, workers);
        log::adapter().info("recovered worker group '{}' (ECS task {}, {} workers, {}) from an earlier run",
                            groupId, arn, workers, group.engineStatus);
        groups_.add(groupId, std::move(group));
    }
}

bool EcsWorkerGroupLauncher::reconcile(AdapterTimePoint now) {
    // The tasks this adapter started that ECS still runs (after a restart: the ones to recover) ...
    auto arns = listOwnTasks();
    if (!arns) return false;
    // ... plus the ones it knows, which may have stopped since.
    for (const auto& [id, group] : groups_) arns->insert(group.handle);
    auto described = describeTasks(*arns);
    if (!described) return false;
    if (!lastApiError_.empty()) log::adapter().info("the ECS endpoint answers again");
    lastApiError_.clear();
    followKnownGroups(*described, now);
    recoverGroups(*described, now);
    recovered_ = true;
    return true;
}

void EcsWorkerGroupLauncher::poll(AdapterTimePoint now) {
    if (now < nextReconcile_) return;
    reconcile(now);
    nextReconcile_ = now + ecs_.reconcileInterval;
}

void EcsWorkerGroupLauncher::beginStopAll(AdapterTimePoint) {
    // ECS stops tasks on its own schedule (SIGTERM, stopTimeout, SIGKILL); asking is all there is to do.
    for (const auto& [id, group] : groups_) {
        if (group.state == wire::WorkerGroupState::STOPPING) continue;
        const EcsResult answer =
            api_->call("StopTask", {{"cluster", ecs_.cluster},
                                    {"task", group.handle},
                                    {"reason", "Scaler adapter " + settings_.adapterId + " exiting"}});
        if (!answer.ok) log::adapter().warn("worker group '{}': {}", id, answer.describe("StopTask"));
    }
    groups_.clear();
}

}  // namespace scaler::adapters
