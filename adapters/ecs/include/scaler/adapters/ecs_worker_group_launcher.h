#pragma once
// Worker groups as ECS tasks: one RunTask per group, whose container command override runs
// scaler_worker_group with the group's workers. startedBy and tags identify the adapter and group, so a
// restarted adapter recovers its groups from ListTasks / DescribeTasks.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/ecs_api_client.h"
#include "scaler/adapters/worker_group_provider.h"
#include "scaler/adapters/worker_group_table.h"
#include "scaler/protocol/result.h"

namespace scaler::adapters {

struct EcsOptions {
    EcsClientOptions client;
    std::string cluster = "scaler-cluster";
    std::string taskDefinition = "scaler-task-definition";
    std::string containerName = "scaler-container";
    std::vector<std::string> subnets;
    std::vector<std::string> securityGroups;
    std::string launchType = "FARGATE";
    std::string assignPublicIp = "ENABLED";
    std::string groupBinary = "/usr/local/bin/scaler_worker_group";
    std::string workerSchedulerAddress;  // default: the adapter's scheduler address
    std::chrono::milliseconds reconcileInterval{5000};
};

namespace ecs_tags {
inline constexpr const char* kAdapterId = "scaler:adapter-id";
inline constexpr const char* kGroupId = "scaler:worker-group-id";
inline constexpr const char* kWorkers = "scaler:workers";
inline constexpr const char* kCapabilities = "scaler:capabilities";  // commas become spaces: tags forbid ','
}  // namespace ecs_tags

// ECS limits the model states: RunTask overrides (as JSON) and tag values.
inline constexpr size_t kMaxOverridesCharacters = 8192;
inline constexpr size_t kMaxTagValueCharacters = 256;
// Whether ECS would take this RunTask body, and why not; pure, for tests.
Status checkRunTaskRequest(const nlohmann::json& request);
// Whether a StopTask failure means the task is gone already (not a request error); pure, for tests.
bool taskAlreadyGone(const EcsResult& answer);

class EcsWorkerGroupLauncher final : public WorkerGroupProvider {
public:
    // Calls the ECS endpoint in ecs.client.
    EcsWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker, EcsOptions ecs);
    // Calls `api` (a fake in tests).
    EcsWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker, EcsOptions ecs,
                           std::unique_ptr<EcsApi> api);

    std::string kind() const override { return "ecs"; }
    CommandResult startGroup(const CapabilityList& capabilities, AdapterTimePoint now) override;
    CommandResult stopGroup(const std::string& groupId, AdapterTimePoint now) override;
    std::vector<GroupInventoryEntry> inventory() const override { return groups_.inventory(); }
    void poll(AdapterTimePoint now) override;
    void beginStopAll(AdapterTimePoint now) override;
    void forceStopAll() override {}  // beginStopAll asked ECS; nothing is left to wait for

    // The RunTask body for a group (exposed for tests).
    nlohmann::json runTaskRequest(const std::string& groupId, uint32_t workers,
                                  const CapabilityList& capabilities) const;

private:
    // Describes `arns` (in batches of 100) and adopts or updates what it finds; false on an API failure.
    bool reconcile(AdapterTimePoint now);
    // The parts of a reconcile: the tasks ECS lists as started by this adapter; their descriptions (batches
    // of 100); known groups follow their task's status; tasks it started but does not know are recovered.
    std::optional<std::set<std::string>> listOwnTasks();
    std::optional<std::map<std::string, nlohmann::json>> describeTasks(const std::set<std::string>& arns);
    void followKnownGroups(std::map<std::string, nlohmann::json>& described, AdapterTimePoint now);
    void recoverGroups(const std::map<std::string, nlohmann::json>& described, AdapterTimePoint now);
    bool apiFailed(const std::string& error);  // records and logs a failed reconcile; returns false

    WorkerAdapterSettings settings_;
    WorkerOptions worker_;
    EcsOptions ecs_;
    std::unique_ptr<EcsApi> api_;
    WorkerGroupTable groups_;  // handle: the task ARN; state STARTING until ECS says RUNNING
    bool recovered_ = false;
    std::string lastApiError_;  // why the last reconcile failed (logged once); empty while the API answers
    AdapterTimePoint nextReconcile_{};
};

// startedBy allows up to 128 letters, digits, hyphens, slashes and underscores; throws std::invalid_argument.
void checkStartedBy(const std::string& adapterId);
std::vector<std::string> workerIdsOf(const std::string& groupId, uint32_t workers);

}  // namespace scaler::adapters
