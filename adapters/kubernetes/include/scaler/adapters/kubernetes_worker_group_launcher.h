#pragma once
// Worker groups as Kubernetes Pods: one Pod per group, running scaler_worker_group from the worker image,
// restartPolicy Never (an exited group is not restarted under the same worker ids). The Pod's name is derived
// from the group id, so a retried create never starts two Pods for one group. Labels carry the adapter and
// group ids (the list selector, and adoption after a restart); annotations carry capabilities and worker ids.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/kubernetes_api.h"
#include "scaler/adapters/worker_group_provider.h"
#include "scaler/adapters/worker_group_table.h"

namespace scaler::adapters {

struct KubernetesOptions {
    std::string ns = "default";
    std::string image = "scaler-cpp-worker:latest";
    std::string imagePullPolicy = "IfNotPresent";
    std::string serviceAccount;  // empty: the namespace's default (its token is not mounted either way)
    std::string cpuRequest, cpuLimit, memoryRequest, memoryLimit;  // quantities; empty: none
    std::map<std::string, std::string> nodeSelector;
    nlohmann::json tolerations = nlohmann::json::array();
    std::map<std::string, std::string> extraLabels;
    std::map<std::string, std::string> extraAnnotations;
    std::vector<std::string> environment;                            // NAME=value
    std::vector<std::pair<std::string, std::string>> secretVolumes;  // Secret name, mount path (CURVE keys)
    std::string groupBinary = "/usr/local/bin/scaler_worker_group";
    std::string workerSchedulerAddress;  // the scheduler as the Pods reach it; default: the adapter's
    bool adoptLeftovers = true;          // false: delete Pods an earlier run left
    std::chrono::milliseconds reconcileInterval{2000};
    std::chrono::seconds pendingTimeout{
        300};  // a Pod Pending longer is deleted and its start reported failed
    std::chrono::seconds failedRetention{
        60};  // how long a failed start stays in the inventory to be reported
};

namespace kubernetes_labels {
inline constexpr const char* kAdapterId = "scaler-cpp/adapter-id";
inline constexpr const char* kGroupId = "scaler-cpp/worker-group-id";
inline constexpr const char* kComponent = "app.kubernetes.io/component";
inline constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
// annotations
inline constexpr const char* kWorkerIds = "scaler-cpp/worker-ids";
inline constexpr const char* kCapabilities = "scaler-cpp/capabilities";
}  // namespace kubernetes_labels

// The Pod of group `groupId`: "scaler-" + the group id.
std::string podNameOf(const std::string& groupId);
// Why a Pod that has not started cannot start (ImagePullBackOff and its message, Unschedulable, ...), or "".
std::string podStartProblem(const nlohmann::json& pod);
// How a finished Pod ended: its phase, reason (Evicted), the container's exit code and reason (OOMKilled).
std::string podEnding(const nlohmann::json& pod);

class KubernetesWorkerGroupLauncher final : public WorkerGroupProvider {
public:
    KubernetesWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker,
                                  KubernetesOptions options, std::unique_ptr<kubernetes::KubernetesApi> api);

    std::string kind() const override { return "kubernetes"; }
    CommandResult startGroup(const CapabilityList& capabilities, AdapterTimePoint now) override;
    CommandResult stopGroup(const std::string& groupId, AdapterTimePoint now) override;
    std::vector<GroupInventoryEntry> inventory() const override { return groups_.inventory(); }
    void poll(AdapterTimePoint now) override;
    void beginStopAll(AdapterTimePoint now) override;
    void forceStopAll() override;

    // The Pod for a group (exposed for tests, and for `--print-pod-spec`).
    nlohmann::json podSpec(const std::string& groupId, const std::vector<std::string>& workerIds,
                           const CapabilityList& capabilities) const;

private:
    bool reconcile(AdapterTimePoint now);
    void adopt(const std::vector<nlohmann::json>& pods, AdapterTimePoint now);
    void follow(const std::map<std::string, const nlohmann::json*>& byName, AdapterTimePoint now);
    void deleteStrays(const std::vector<nlohmann::json>& pods);
    // Deletes the group's Pod at once and keeps the group, FAILED with `why`, for the scheduler to see.
    void failStart(const std::string& groupId, const std::string& why, AdapterTimePoint now);
    kubernetes::ApiResult deletePod(const std::string& groupId, int64_t gracePeriodSeconds);
    // A Pod no group owns (left by an earlier run, or a lost create), at once; logs a failure.
    void deleteUnowned(const nlohmann::json& pod);
    int64_t gracePeriodSeconds() const;
    bool ours(const nlohmann::json& pod, const std::string& groupId) const;

    WorkerAdapterSettings settings_;
    WorkerOptions worker_;
    KubernetesOptions options_;
    std::unique_ptr<kubernetes::KubernetesApi> api_;
    WorkerGroupTable groups_;                  // handle: the Pod's name; engineStatus: its phase
    std::map<std::string, std::string> uids_;  // group -> its Pod's uid, the precondition of a delete
    std::map<std::string, AdapterTimePoint> failedUntil_;  // failed starts reported until then
    bool recovered_ = false;
    bool exiting_ = false;      // checked more often: every group is stopping
    std::string lastApiError_;  // logged once per outage; the cause of a start that cannot list
    AdapterTimePoint nextReconcile_{};
};

}  // namespace scaler::adapters
