#include "scaler/adapters/container_worker_group_launcher.h"

#include <algorithm>

#include "scaler/common/log.h"

#include "scaler/adapters/start_request.h"
#include "scaler/protocol/identity.h"

namespace scaler::adapters {
namespace {

namespace labels = container_labels;

bool finished(const std::string& state) {
    return state == "exited" || state == "dead";
}

}  // namespace

ContainerWorkerGroupLauncher::ContainerWorkerGroupLauncher(WorkerAdapterSettings settings,
                                                           WorkerOptions worker, ContainerOptions container)
    : settings_(std::move(settings)),
      worker_(std::move(worker)),
      container_(std::move(container)),
      engine_(std::make_unique<DockerEngineClient>(container_.dockerHost, container_.apiTimeout)) {
    if (container_.workerSchedulerAddress.empty())
        container_.workerSchedulerAddress = settings_.schedulerAddress;
}

ContainerWorkerGroupLauncher::ContainerWorkerGroupLauncher(WorkerAdapterSettings settings,
                                                           WorkerOptions worker, ContainerOptions container,
                                                           std::unique_ptr<ContainerEngine> engine)
    : settings_(std::move(settings)),
      worker_(std::move(worker)),
      container_(std::move(container)),
      engine_(std::move(engine)) {
    if (container_.workerSchedulerAddress.empty())
        container_.workerSchedulerAddress = settings_.schedulerAddress;
}

nlohmann::json ContainerWorkerGroupLauncher::containerSpec(const std::string& groupId,
                                                           const std::vector<std::string>& workerIds,
                                                           const CapabilityList& capabilities) const {
    std::vector<std::string> command{container_.groupBinary,           "--count",
                                     std::to_string(workerIds.size()), "--worker-id-prefix",
                                     "Worker|CTR|" + groupId + "|",    "--"};
    for (auto& a : worker_.workerArguments(container_.workerSchedulerAddress, settings_.adapterId, groupId,
                                           capabilities)) {
        command.push_back(std::move(a));
    }
    nlohmann::json hostConfig = {{"NetworkMode", container_.networkMode}};
    if (!container_.mounts.empty()) hostConfig["Binds"] = container_.mounts;
    if (container_.cpus > 0) hostConfig["NanoCpus"] = static_cast<int64_t>(container_.cpus * 1e9);
    if (container_.memoryBytes > 0) hostConfig["Memory"] = container_.memoryBytes;
    if (!container_.extraHosts.empty()) hostConfig["ExtraHosts"] = container_.extraHosts;
    return {
        {"Image", container_.image},
        {"Cmd", command},
        {"Env", container_.environment},
        {"Labels",
         {{labels::kAdapterId, settings_.adapterId},
          {labels::kGroupId, groupId},
          {labels::kWorkerIds, joinWorkerIds(workerIds)},
          {labels::kCapabilities, formatCapabilities(capabilities)}}},
        {"HostConfig", hostConfig},
    };
}

CommandResult ContainerWorkerGroupLauncher::startGroup(const CapabilityList& capabilities,
                                                       AdapterTimePoint now) {
    if (!recovered_ && !recoverLeftovers(now)) {
        return launchFailed("the container engine at " + engine_->host() +
                            " cannot be used: " + lastEngineError_);
    }
    const std::string groupId = "container-" + randomHex(6);
    std::vector<std::string> workerIds = groupWorkerIds("CTR", groupId, settings_.workersPerGroup);
    const DockerResult created =
        engine_->createContainer("scaler-" + groupId, containerSpec(groupId, workerIds, capabilities));
    if (!created.ok) {
        // engines differ in case ("No such image" from Docker, "no such image" from Podman): say it one way
        const bool noImage = created.status == 404;
        return launchFailed("image '" + container_.image + "': " +
                            (noImage ? "no such image on the engine (build it with "
                                       "tools/scripts/build-worker-image.sh, or pull it): "
                                     : "") +
                            created.error);
    }
    const std::string containerId = created.body.value("Id", "");
    const DockerResult started = engine_->startContainer(containerId);
    if (!started.ok) {
        engine_->removeContainer(containerId);
        return launchFailed(started.error);
    }
    log::adapter().info("worker group '{}' is container {}", groupId, containerId.substr(0, 12));
    warnAboutHostGatewayOnPodman();
    groups_.add(groupId, WorkerGroupRecord::started(containerId, capabilities, workerIds, now));
    return groupStarted(groupId, std::move(workerIds), capabilities);
}

void ContainerWorkerGroupLauncher::warnAboutHostGatewayOnPodman() {
    if (warnedAboutHostGateway_ || engine_->product().rfind("Libpod/", 0) != 0) return;
    for (const std::string& entry : container_.extraHosts) {
        if (entry.size() > 13 && entry.compare(entry.size() - 13, 13, ":host-gateway") == 0) {
            warnedAboutHostGateway_ = true;
            log::adapter().warn(
                "--add-host {}: this engine is Podman ({}), which may write 'host-gateway' into /etc/hosts "
                "as it "
                "is (Podman 4.3 does); its own name for this host is host.containers.internal",
                entry, engine_->product());
            return;
        }
    }
}

CommandResult ContainerWorkerGroupLauncher::stopGroup(const std::string& groupId, AdapterTimePoint now) {
    CommandResult result;
    result.groupId = groupId;
    const WorkerGroupRecord* group = groups_.find(groupId);
    if (group == nullptr) return groupNotFound(groupId);
    if (group->state == wire::WorkerGroupState::STOPPING) return result;
    // SIGTERM and return: the workers hand back their tasks, reconcile() removes the container once it has
    // exited, and SIGKILL follows after the grace period (Docker's /stop would block the event loop that
    // long).
    const DockerResult killed = engine_->killContainer(group->handle, "SIGTERM");
    if (!killed.ok && killed.status != 404 && killed.status != 409) {
        return launchFailed(killed.error, groupId);
    }
    groups_.markStopping(groupId, now, std::chrono::duration<double>(worker_.shutdownGraceSeconds + 5));
    nextReconcile_ = now;  // 404/409: it has already gone; notice at once
    return result;
}

bool ContainerWorkerGroupLauncher::recoverLeftovers(AdapterTimePoint now) {
    std::vector<ContainerSummary> containers;
    const DockerResult listed = engine_->listContainers(labels::kAdapterId, settings_.adapterId, containers);
    if (!listed.ok) {
        if (engineReachable_) log::adapter().error("cannot list this adapter's containers: {}", listed.error);
        engineReachable_ = false;
        lastEngineError_ = listed.error;
        return false;
    }
    engineReachable_ = true;
    recovered_ = true;
    for (const ContainerSummary& c : containers) {
        const auto groupLabel = c.labels.find(labels::kGroupId);
        const std::string groupId = groupLabel == c.labels.end() ? "" : groupLabel->second;
        if (!container_.adoptLeftovers || groupId.empty() || c.state != "running" ||
            groups_.contains(groupId)) {
            log::adapter().info("removing container {} (group '{}', {}) left by an earlier run",
                                c.id.substr(0, 12), groupId, c.state);
            const DockerResult removed = engine_->removeContainer(c.id);
            if (!removed.ok)
                log::adapter().warn("could not remove container {}: {}", c.id.substr(0, 12), removed.error);
            continue;
        }
        WorkerGroupRecord group;
        group.handle = c.id;
        group.startedAt = now;
        try {
            group.capabilities = parseCapabilities(
                c.labels.count(labels::kCapabilities) ? c.labels.at(labels::kCapabilities) : "");
        } catch (const std::exception& e) {
            log::adapter().warn(
                "container {} has a bad capabilities label ({}); adopting it without capabilities",
                c.id.substr(0, 12), e.what());
        }
        group.workerIds =
            splitWorkerIds(c.labels.count(labels::kWorkerIds) ? c.labels.at(labels::kWorkerIds) : "");
        log::adapter().info(
            "adopted worker group '{}' (container {}, {} workers) left running by an earlier run", groupId,
            c.id.substr(0, 12), group.workerIds.size());
        groups_.add(groupId, std::move(group));
    }
    return true;
}

void ContainerWorkerGroupLauncher::removeExited(const std::string& groupId, const WorkerGroupRecord& group) {
    if (group.state == wire::WorkerGroupState::STOPPING) {
        log::adapter().info("worker group '{}' stopped", groupId);
    } else {
        const DockerResult inspected = engine_->inspectContainer(group.handle);
        std::string how = "state unknown";
        if (inspected.ok && inspected.body.contains("State") && inspected.body["State"].is_object()) {
            const auto& state = inspected.body["State"];
            how = "exit code " + std::to_string(state.value("ExitCode", -1));
            const std::string error = state.value("Error", "");
            if (!error.empty()) how += ", " + error;
            if (state.value("OOMKilled", false)) how += ", killed for lack of memory";
        }
        log::adapter().warn("worker group '{}': container {} exited on its own ({}); removing the group",
                            groupId, group.handle.substr(0, 12), how);
    }
    const DockerResult removed = engine_->removeContainer(group.handle);
    if (!removed.ok && removed.status != 404) {
        log::adapter().warn("could not remove container {}: {}", group.handle.substr(0, 12), removed.error);
    }
}

void ContainerWorkerGroupLauncher::reconcile(AdapterTimePoint now) {
    std::vector<ContainerSummary> containers;
    const DockerResult listed = engine_->listContainers(labels::kAdapterId, settings_.adapterId, containers);
    if (!listed.ok) {
        if (engineReachable_) log::adapter().error("lost the container engine: {}", listed.error);
        engineReachable_ = false;
        lastEngineError_ = listed.error;
        return;
    }
    if (!engineReachable_) log::adapter().info("the container engine at {} answers again", engine_->host());
    engineReachable_ = true;
    std::map<std::string, std::string> stateById;
    for (const auto& c : containers) stateById[c.id] = c.state;
    for (auto it = groups_.begin(); it != groups_.end();) {
        const auto& [groupId, group] = *it;
        const auto found = stateById.find(group.handle);
        if (found == stateById.end()) {
            if (group.state != wire::WorkerGroupState::STOPPING)
                log::adapter().warn("worker group '{}': its container was removed by someone else", groupId);
            it = groups_.erase(it);
            continue;
        }
        if (finished(found->second)) {
            removeExited(groupId, group);
            it = groups_.erase(it);
            continue;
        }
        ++it;
    }
    for (const std::string& id : groups_.dueForKill(now)) {
        log::adapter().warn("worker group '{}' did not stop within its grace period; killing its container",
                            id);
        engine_->killContainer(groups_.find(id)->handle, "SIGKILL");
    }
}

void ContainerWorkerGroupLauncher::poll(AdapterTimePoint now) {
    if (now < nextReconcile_) return;
    // exiting: every group is stopping, and the agent waits on them
    nextReconcile_ = now + (exiting_ ? std::min<std::chrono::milliseconds>(container_.reconcileInterval,
                                                                           std::chrono::milliseconds(200))
                                     : container_.reconcileInterval);
    if (!recovered_) {
        if (!recoverLeftovers(now)) nextReconcile_ = now + std::chrono::seconds(5);
        return;
    }
    reconcile(now);
    // exiting without an engine: waiting out the grace would not help (forceStopAll says what is left)
    if (exiting_ && !engineReachable_) forceStopAll();
}

void ContainerWorkerGroupLauncher::beginStopAll(AdapterTimePoint now) {
    // SIGTERM now; the agent polls until they have exited or its grace has passed, then forceStopAll()
    for (auto& [id, group] : groups_) {
        if (groups_.markStopping(id, now, std::nullopt)) engine_->killContainer(group.handle, "SIGTERM");
    }
    exiting_ = true;
    nextReconcile_ = now;
}

void ContainerWorkerGroupLauncher::forceStopAll() {
    for (const auto& [id, group] : groups_) {
        log::adapter().warn("worker group '{}' did not stop in time; removing its container by force", id);
        engine_->removeContainer(group.handle);
    }
    groups_.clear();
}

}  // namespace scaler::adapters
