#pragma once
// Worker groups as containers through the Docker Engine API: one container per group, running
// scaler_worker_group with the group's workers. Labels on each container carry the adapter id, group id,
// worker ids and capabilities, so a restarted adapter finds its groups again.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/docker_engine_client.h"
#include "scaler/adapters/worker_group_provider.h"
#include "scaler/adapters/worker_group_table.h"

namespace scaler::adapters {

// Docker refuses a memory limit below this at create.
inline constexpr uint64_t kMinimumContainerMemory = 6u << 20;

struct ContainerOptions {
    std::string dockerHost = "unix:///var/run/docker.sock";
    std::string image = "scaler-cpp-worker:latest";
    std::string networkMode = "host";
    std::vector<std::string> environment;  // NAME=value
    std::vector<std::string> mounts;       // host-path:container-path[:ro]
    double cpus = 0;                       // 0: no limit
    uint64_t memoryBytes = 0;              // 0: no limit
    std::vector<std::string> extraHosts;   // HOST:IP lines for /etc/hosts (HostConfig.ExtraHosts)
    std::string groupBinary = "/usr/local/bin/scaler_worker_group";
    std::string workerSchedulerAddress;  // the scheduler as the containers reach it; default: the adapter's
    bool adoptLeftovers = true;          // false: remove containers an earlier run left behind
    std::chrono::milliseconds apiTimeout{30000};
    std::chrono::milliseconds reconcileInterval{1000};
};

namespace container_labels {
inline constexpr const char* kAdapterId = "scaler.adapter-id";
inline constexpr const char* kGroupId = "scaler.worker-group-id";
inline constexpr const char* kWorkerIds = "scaler.worker-ids";
inline constexpr const char* kCapabilities = "scaler.capabilities";
}  // namespace container_labels

class ContainerWorkerGroupLauncher final : public WorkerGroupProvider {
public:
    // Speaks to the engine at container.dockerHost.
    ContainerWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker,
                                 ContainerOptions container);
    // Speaks to `engine` (a fake in tests).
    ContainerWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker,
                                 ContainerOptions container, std::unique_ptr<ContainerEngine> engine);

    std::string kind() const override { return "container"; }
    CommandResult startGroup(const CapabilityList& capabilities, AdapterTimePoint now) override;
    CommandResult stopGroup(const std::string& groupId, AdapterTimePoint now) override;
    std::vector<GroupInventoryEntry> inventory() const override { return groups_.inventory(); }
    void poll(AdapterTimePoint now) override;
    void beginStopAll(AdapterTimePoint now) override;
    void forceStopAll() override;

    // The container create body for a group (exposed for tests).
    nlohmann::json containerSpec(const std::string& groupId, const std::vector<std::string>& workerIds,
                                 const CapabilityList& capabilities) const;

private:
    // Adopts or removes what an earlier run left; false while the engine cannot be reached.
    bool recoverLeftovers(AdapterTimePoint now);
    void reconcile(AdapterTimePoint now);
    // Logs why a group's container exited (with its exit code when unexpected) and removes the container.
    void removeExited(const std::string& groupId, const WorkerGroupRecord& group);
    void warnAboutHostGatewayOnPodman();

    WorkerAdapterSettings settings_;
    WorkerOptions worker_;
    ContainerOptions container_;
    std::unique_ptr<ContainerEngine> engine_;
    WorkerGroupTable groups_;  // handle: the container id
    bool recovered_ = false;
    bool exiting_ = false;
    bool warnedAboutHostGateway_ = false;
    bool engineReachable_ = true;  // logs a lost engine once, not every turn
    std::string lastEngineError_;  // why the engine could not be reached, for a start's failure
    AdapterTimePoint nextReconcile_{};
};

}  // namespace scaler::adapters
