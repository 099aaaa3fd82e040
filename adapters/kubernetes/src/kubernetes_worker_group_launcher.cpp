#include "scaler/adapters/kubernetes_worker_group_launcher.h"

#include "scaler/common/log.h"

#include "scaler/adapters/start_request.h"
#include "scaler/protocol/identity.h"

namespace scaler::adapters {
namespace {

namespace labels = kubernetes_labels;
using kubernetes::ApiResult;

const nlohmann::json& field(const nlohmann::json& object, const char* key) {
    static const nlohmann::json kNull;
    return object.is_object() && object.contains(key) ? object[key] : kNull;
}

// The array under `key`, or an empty one.
const nlohmann::json& items(const nlohmann::json& object, const char* key) {
    static const nlohmann::json kEmpty = nlohmann::json::array();
    const nlohmann::json& value = field(object, key);
    return value.is_array() ? value : kEmpty;
}

std::string str(const nlohmann::json& object, const char* key) {
    const auto& value = field(object, key);
    return value.is_string() ? value.get<std::string>() : "";
}

std::string phaseOf(const nlohmann::json& pod) {
    return str(field(pod, "status"), "phase");
}

bool terminating(const nlohmann::json& pod) {
    return !field(field(pod, "metadata"), "deletionTimestamp").is_null();
}

std::string labelOf(const nlohmann::json& pod, const char* key) {
    return str(field(field(pod, "metadata"), "labels"), key);
}

std::string annotationOf(const nlohmann::json& pod, const char* key) {
    return str(field(field(pod, "metadata"), "annotations"), key);
}

}  // namespace

std::string podNameOf(const std::string& groupId) {
    return "scaler-" + groupId;
}

std::string podStartProblem(const nlohmann::json& pod) {
    const auto& status = field(pod, "status");
    for (const auto& c : items(status, "containerStatuses")) {
        const auto& waiting = field(field(c, "state"), "waiting");
        const std::string reason = str(waiting, "reason");
        if (reason.empty() || reason == "ContainerCreating" || reason == "PodInitializing") continue;
        const std::string message = str(waiting, "message");
        return reason + (message.empty() ? "" : ": " + message);
    }
    for (const auto& condition : items(status, "conditions")) {
        if (str(condition, "type") == "PodScheduled" && str(condition, "status") == "False") {
            const std::string message = str(condition, "message");
            return str(condition, "reason") + (message.empty() ? "" : ": " + message);
        }
    }
    return "";
}

std::string podEnding(const nlohmann::json& pod) {
    const auto& status = field(pod, "status");
    std::string out = phaseOf(pod);
    const std::string reason = str(status, "reason");
    const std::string message = str(status, "message");
    if (!reason.empty()) out += ", " + reason;
    if (!message.empty()) out += ": " + message;
    for (const auto& c : items(status, "containerStatuses")) {
        const auto& terminated = field(field(c, "state"), "terminated");
        if (!terminated.is_object()) continue;
        if (terminated.contains("exitCode"))
            out += ", exit code " + std::to_string(terminated.value("exitCode", -1));
        const std::string why = str(terminated, "reason");
        if (!why.empty()) out += " (" + why + (why == "OOMKilled" ? ": killed for lack of memory" : "") + ")";
    }
    return out;
}

KubernetesWorkerGroupLauncher::KubernetesWorkerGroupLauncher(WorkerAdapterSettings settings,
                                                             WorkerOptions worker, KubernetesOptions options,
                                                             std::unique_ptr<kubernetes::KubernetesApi> api)
    : settings_(std::move(settings)),
      worker_(std::move(worker)),
      options_(std::move(options)),
      api_(std::move(api)) {
    if (options_.workerSchedulerAddress.empty()) options_.workerSchedulerAddress = settings_.schedulerAddress;
}

int64_t KubernetesWorkerGroupLauncher::gracePeriodSeconds() const {
    // the workers' own grace, and a margin for handing back their tasks and exiting
    return static_cast<int64_t>(worker_.shutdownGraceSeconds) + 10;
}

nlohmann::json KubernetesWorkerGroupLauncher::podSpec(const std::string& groupId,
                                                      const std::vector<std::string>& workerIds,
                                                      const CapabilityList& capabilities) const {
    std::vector<std::string> command{
        options_.groupBinary,          "--count", std::to_string(workerIds.size()), "--worker-id-prefix",
        "Worker|K8S|" + groupId + "|", "--"};
    for (auto& a : worker_.workerArguments(options_.workerSchedulerAddress, settings_.adapterId, groupId,
                                           capabilities)) {
        command.push_back(std::move(a));
    }
    nlohmann::json podLabels = options_.extraLabels;
    podLabels[labels::kAdapterId] = settings_.adapterId;
    podLabels[labels::kGroupId] = groupId;
    podLabels[labels::kComponent] = "worker-group";
    podLabels[labels::kManagedBy] = "scaler_worker_adapter_kubernetes";
    nlohmann::json annotations = options_.extraAnnotations;
    annotations[labels::kWorkerIds] = joinWorkerIds(workerIds);
    annotations[labels::kCapabilities] = formatCapabilities(capabilities);

    nlohmann::json container = {{"name", "workers"},
                                {"image", options_.image},
                                {"imagePullPolicy", options_.imagePullPolicy},
                                {"command", command}};
    nlohmann::json env = nlohmann::json::array();
    for (const auto& assignment : options_.environment) {
        const size_t eq = assignment.find('=');
        env.push_back({{"name", assignment.substr(0, eq)},
                       {"value", eq == std::string::npos ? "" : assignment.substr(eq + 1)}});
    }
    if (!env.empty()) container["env"] = env;
    nlohmann::json requests = nlohmann::json::object(), limits = nlohmann::json::object();
    if (!options_.cpuRequest.empty()) requests["cpu"] = options_.cpuRequest;
    if (!options_.memoryRequest.empty()) requests["memory"] = options_.memoryRequest;
    if (!options_.cpuLimit.empty()) limits["cpu"] = options_.cpuLimit;
    if (!options_.memoryLimit.empty()) limits["memory"] = options_.memoryLimit;
    if (!requests.empty() || !limits.empty()) {
        container["resources"] = nlohmann::json::object();
        if (!requests.empty()) container["resources"]["requests"] = requests;
        if (!limits.empty()) container["resources"]["limits"] = limits;
    }
    nlohmann::json spec = {{"restartPolicy", "Never"},
                           {"automountServiceAccountToken", false},  // workers never call the API
                           {"terminationGracePeriodSeconds", gracePeriodSeconds()},
                           {"containers", {container}}};
    if (!options_.secretVolumes.empty()) {
        nlohmann::json volumes = nlohmann::json::array(), mounts = nlohmann::json::array();
        for (size_t i = 0; i < options_.secretVolumes.size(); ++i) {
            const std::string name = "secret-" + std::to_string(i);
            volumes.push_back(
                {{"name", name},
                 {"secret", {{"secretName", options_.secretVolumes[i].first}, {"defaultMode", 0400}}}});
            mounts.push_back(
                {{"name", name}, {"mountPath", options_.secretVolumes[i].second}, {"readOnly", true}});
        }
        spec["volumes"] = volumes;
        spec["containers"][0]["volumeMounts"] = mounts;
    }
    if (!options_.serviceAccount.empty()) spec["serviceAccountName"] = options_.serviceAccount;
    if (!options_.nodeSelector.empty()) spec["nodeSelector"] = options_.nodeSelector;
    if (!options_.tolerations.empty()) spec["tolerations"] = options_.tolerations;
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", podNameOf(groupId)},
              {"namespace", options_.ns},
              {"labels", podLabels},
              {"annotations", annotations}}},
            {"spec", spec}};
}

bool KubernetesWorkerGroupLauncher::ours(const nlohmann::json& pod, const std::string& groupId) const {
    return labelOf(pod, labels::kAdapterId) == settings_.adapterId &&
           labelOf(pod, labels::kGroupId) == groupId;
}

CommandResult KubernetesWorkerGroupLauncher::startGroup(const CapabilityList& capabilities,
                                                        AdapterTimePoint now) {
    if (!recovered_ && !reconcile(now)) {
        return launchFailed("cannot list this adapter's Pods at " + api_->server() + ": " + lastApiError_);
    }
    const std::string groupId = "k8s-" + randomHex(6);
    std::vector<std::string> workerIds = groupWorkerIds("K8S", groupId, settings_.workersPerGroup);
    const nlohmann::json pod = podSpec(groupId, workerIds, capabilities);
    ApiResult created = api_->createPod(options_.ns, pod);
    if (!created.ok && created.status == 409 && created.reason == "AlreadyExists") {
        // a create retried after a lost answer: the Pod is ours only when it carries our labels
        created = api_->getPod(options_.ns, podNameOf(groupId));
        if (created.ok && !ours(created.body, groupId)) {
            return launchFailed("Pod " + podNameOf(groupId) + " exists and is not this adapter's");
        }
    }
    if (!created.ok) {
        return launchFailed(
            created.describe("create Pod " + podNameOf(groupId) + " in namespace " + options_.ns));
    }
    WorkerGroupRecord group;
    group.handle = podNameOf(groupId);
    group.handleUid = str(field(created.body, "metadata"), "uid");
    group.capabilities = capabilities;
    group.workerIds = workerIds;
    group.state = wire::WorkerGroupState::STARTING;
    group.engineStatus = phaseOf(created.body);
    group.startedAt = now;
    groups_.add(groupId, std::move(group));
    log::adapter().info("worker group '{}' is Pod {} in namespace {}", groupId, podNameOf(groupId),
                        options_.ns);
    return groupStarted(groupId, std::move(workerIds), capabilities);
}

ApiResult KubernetesWorkerGroupLauncher::deletePod(const std::string& groupId, int64_t grace) {
    const WorkerGroupRecord* group = groups_.find(groupId);
    ApiResult deleted =
        api_->deletePod(options_.ns, podNameOf(groupId), grace, group ? group->handleUid : "");
    if (deleted.status == 404) deleted.ok = true;  // already gone
    return deleted;
}

CommandResult KubernetesWorkerGroupLauncher::stopGroup(const std::string& groupId, AdapterTimePoint now) {
    CommandResult result;
    result.groupId = groupId;
    const WorkerGroupRecord* group = groups_.find(groupId);
    if (group == nullptr) return groupNotFound(groupId);
    if (group->state == wire::WorkerGroupState::STOPPING || group->state == wire::WorkerGroupState::FAILED) {
        return result;
    }
    // Kubernetes sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds: the workers hand their
    // tasks back. A Pod still there long after (its node lost) is deleted again without grace.
    const ApiResult deleted = deletePod(groupId, gracePeriodSeconds());
    if (!deleted.ok) return launchFailed(deleted.describe("delete Pod " + podNameOf(groupId)), groupId);
    groups_.markStopping(groupId, now, std::chrono::duration<double>(gracePeriodSeconds() + 30));
    nextReconcile_ = now;
    return result;
}

void KubernetesWorkerGroupLauncher::failStart(const std::string& groupId, const std::string& why,
                                              AdapterTimePoint now) {
    log::adapter().warn("worker group '{}': its Pod cannot start ({}); deleting it", groupId, why);
    const ApiResult deleted = deletePod(groupId, 0);
    if (!deleted.ok) log::adapter().warn("{}", deleted.describe("delete Pod " + podNameOf(groupId)));
    groups_.markFailed(groupId, "Pod " + podNameOf(groupId) + " cannot start: " + why,
                       now + options_.failedRetention);
}

void KubernetesWorkerGroupLauncher::adopt(const std::vector<nlohmann::json>& pods, AdapterTimePoint now) {
    for (const auto& pod : pods) {
        const std::string groupId = labelOf(pod, labels::kGroupId);
        const std::string name = str(field(pod, "metadata"), "name");
        const std::string phase = phaseOf(pod);
        if (groups_.contains(groupId) || terminating(pod)) continue;
        const bool live = phase == "Pending" || phase == "Running";
        if (!options_.adoptLeftovers || groupId.empty() || !live || name != podNameOf(groupId)) {
            log::adapter().info("deleting Pod {} ({}) left by an earlier run", name, phase);
            deleteUnowned(pod);
            continue;
        }
        WorkerGroupRecord group;
        group.handle = name;
        group.engineStatus = phase;
        group.state = phase == "Running" ? wire::WorkerGroupState::RUNNING : wire::WorkerGroupState::STARTING;
        group.startedAt = now;
        group.workerIds = splitWorkerIds(annotationOf(pod, labels::kWorkerIds));
        try {
            group.capabilities = parseCapabilities(annotationOf(pod, labels::kCapabilities));
        } catch (const std::exception& e) {
            log::adapter().warn(
                "Pod {} has a bad capabilities annotation ({}); adopting it without capabilities", name,
                e.what());
        }
        group.handleUid = str(field(pod, "metadata"), "uid");
        log::adapter().info("adopted worker group '{}' (Pod {}, {}, {} workers) from an earlier run", groupId,
                            name, phase, group.workerIds.size());
        groups_.add(groupId, std::move(group));
    }
}

void KubernetesWorkerGroupLauncher::follow(const std::map<std::string, const nlohmann::json*>& byName,
                                           AdapterTimePoint now) {
    std::vector<std::pair<std::string, std::string>> toFailWhy;  // failed after the loop: it edits the table
    groups_.forgetFailed(now);
    for (auto it = groups_.begin(); it != groups_.end();) {
        auto& [groupId, group] = *it;
        if (group.state == wire::WorkerGroupState::FAILED) {  // its Pod was deleted; reported until forgotten
            ++it;
            continue;
        }
        const auto found = byName.find(group.handle);
        const bool stopping = group.state == wire::WorkerGroupState::STOPPING;
        if (found == byName.end()) {
            if (stopping) {
                log::adapter().info("worker group '{}' stopped", groupId);
            } else {
                log::adapter().warn("worker group '{}': Pod {} was deleted from outside; removing the group",
                                    groupId, group.handle);
            }
            it = groups_.erase(it);
            continue;
        }
        const nlohmann::json& pod = *found->second;
        const std::string phase = phaseOf(pod);
        if (phase != group.engineStatus)
            log::adapter().info("worker group '{}': Pod {} {}", groupId, group.handle, phase);
        group.engineStatus = phase;
        if (phase == "Succeeded" || phase == "Failed") {
            const std::string ending = podEnding(pod);
            if (!stopping && group.state == wire::WorkerGroupState::STARTING) {
                toFailWhy.emplace_back(groupId, "it ended before running: " + ending);
                ++it;
                continue;
            }
            if (stopping) {
                log::adapter().info("worker group '{}' stopped ({})", groupId, ending);
            } else {
                log::adapter().warn("worker group '{}': Pod {} ended on its own ({}); removing the group",
                                    groupId, group.handle, ending);
            }
            const ApiResult deleted = deletePod(groupId, 0);  // a finished Pod is only a record: remove it
            if (!deleted.ok) log::adapter().warn("{}", deleted.describe("delete Pod " + group.handle));
            it = groups_.erase(it);
            continue;
        }
        if (stopping) {
            ++it;
            continue;
        }
        if (terminating(pod)) {
            log::adapter().warn(
                "worker group '{}': Pod {} is being deleted from outside (evicted or drained)", groupId,
                group.handle);
            group.state = wire::WorkerGroupState::STOPPING;
        } else if (phase == "Running") {
            group.state = wire::WorkerGroupState::RUNNING;
        } else if (phase == "Pending") {
            const std::string problem = podStartProblem(pod);
            const bool hopeless = problem.rfind("InvalidImageName", 0) == 0;
            if (hopeless || now - group.startedAt >= options_.pendingTimeout) {
                const auto waited =
                    std::chrono::duration_cast<std::chrono::seconds>(now - group.startedAt).count();
                toFailWhy.emplace_back(groupId, (problem.empty() ? "still Pending" : problem) + " (after " +
                                                    std::to_string(waited) + " s)");
            }
        }
        ++it;
    }
    for (const auto& [groupId, why] : toFailWhy) failStart(groupId, why, now);
}

void KubernetesWorkerGroupLauncher::deleteUnowned(const nlohmann::json& pod) {
    const std::string name = str(field(pod, "metadata"), "name");
    const ApiResult deleted = api_->deletePod(options_.ns, name, 0, str(field(pod, "metadata"), "uid"));
    if (!deleted.ok && deleted.status != 404)
        log::adapter().warn("{}", deleted.describe("delete Pod " + name));
}

void KubernetesWorkerGroupLauncher::deleteStrays(const std::vector<nlohmann::json>& pods) {
    // Pods with our adapter id that no group owns: a create whose answer was lost (the start was answered
    // launchFailed, so the scheduler never sends it work). Started and answered in this same loop, every Pod
    // of a known group is in the table before the next list.
    for (const auto& pod : pods) {
        const std::string groupId = labelOf(pod, labels::kGroupId);
        const std::string name = str(field(pod, "metadata"), "name");
        if (groups_.contains(groupId) || terminating(pod)) continue;
        log::adapter().warn("deleting Pod {}: it carries this adapter's id but belongs to no group it runs",
                            name);
        deleteUnowned(pod);
    }
}

bool KubernetesWorkerGroupLauncher::reconcile(AdapterTimePoint now) {
    std::vector<nlohmann::json> pods;
    const ApiResult listed =
        api_->listPods(options_.ns, std::string(labels::kAdapterId) + "=" + settings_.adapterId, pods);
    if (!listed.ok) {
        const std::string error = listed.describe("list Pods in namespace " + options_.ns);
        if (lastApiError_.empty()) log::adapter().error("cannot check this adapter's Pods: {}", error);
        lastApiError_ = error;
        return false;
    }
    if (!lastApiError_.empty()) log::adapter().info("the Kubernetes API server answers again");
    lastApiError_.clear();
    if (!recovered_) {
        adopt(pods, now);
        recovered_ = true;
    } else {
        deleteStrays(pods);
    }
    std::map<std::string, const nlohmann::json*> byName;
    for (const auto& pod : pods) byName[str(field(pod, "metadata"), "name")] = &pod;
    follow(byName, now);
    for (const std::string& id : groups_.dueForKill(now)) {
        log::adapter().warn(
            "worker group '{}': its Pod is still there long after its grace period; deleting it "
            "without grace",
            id);
        const ApiResult deleted = deletePod(id, 0);
        if (!deleted.ok) log::adapter().warn("{}", deleted.describe("delete Pod " + podNameOf(id)));
    }
    return true;
}

void KubernetesWorkerGroupLauncher::poll(AdapterTimePoint now) {
    if (now < nextReconcile_) return;
    // exiting: every group is stopping, and the agent waits on them
    nextReconcile_ = now + (exiting_ ? std::min<std::chrono::milliseconds>(options_.reconcileInterval,
                                                                           std::chrono::milliseconds(500))
                                     : options_.reconcileInterval);
    if (!reconcile(now) && !recovered_) nextReconcile_ = now + std::chrono::seconds(5);
    // exiting without an API server: waiting out the grace would not help
    if (exiting_ && !lastApiError_.empty()) forceStopAll();
}

void KubernetesWorkerGroupLauncher::beginStopAll(AdapterTimePoint now) {
    exiting_ = true;
    for (auto it = groups_.begin(); it != groups_.end();) {
        const auto& [groupId, group] = *it;
        if (group.state == wire::WorkerGroupState::FAILED) {
            it = groups_.erase(it);  // its Pod was deleted already
            continue;
        }
        if (group.state != wire::WorkerGroupState::STOPPING) {
            const ApiResult deleted = deletePod(groupId, gracePeriodSeconds());
            if (!deleted.ok) log::adapter().warn("{}", deleted.describe("delete Pod " + group.handle));
        }
        ++it;
    }
    for (auto& [id, group] : groups_) groups_.markStopping(id, now, std::nullopt);
    nextReconcile_ = now;
}

void KubernetesWorkerGroupLauncher::forceStopAll() {
    // Kubernetes goes on stopping them after we exit: the deletes were accepted, only their grace remains
    for (const auto& [id, group] : groups_) {
        log::adapter().warn("worker group '{}': Pod {} is still terminating; Kubernetes finishes it", id,
                            group.handle);
    }
    groups_.clear();
}

}  // namespace scaler::adapters
