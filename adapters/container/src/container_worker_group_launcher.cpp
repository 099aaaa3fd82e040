#include "scaler/adapters/container_worker_group_launcher.h"

#include <algorithm>
#include <thread>

#include "scaler/common/log.h"

#include "scaler/adapters/start_request.h"
#include "scaler/protocol/identity.h"

namespace scaler::adapters {
namespace {

using Clock = std::chrono::steady_clock;
namespace labels = container_labels;

std::string joinIds(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
    return out;
}

std::vector<std::string> splitIds(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

bool finished(const std::string& state) {
    return state == "exited" || state == "dead";
}

}  // namespace

ContainerWorkerGroupLauncher::ContainerWorkerGroupLauncher(WorkerAdapterSettings settings,
                                                           WorkerOptions worker, ContainerOptions container)
    : settings_(std::move(settings)),
      worker_(std::move(worker)),
      container_(std::move(container)),
      docker_(container_.dockerHost, container_.apiTimeout) {
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
          {labels::kWorkerIds, joinIds(workerIds)},
          {labels::kCapabilities, formatCapabilities(capabilities)}}},
        {"HostConfig", hostConfig},
    };
}

CommandResult ContainerWorkerGroupLauncher::startGroup(const CapabilityList& capabilities) {
    if (!recovered_ && !recoverLeftovers()) {
        return launchFailed("the container engine at " + docker_.host() + " cannot be reached");
    }
    const std::string groupId = "container-" + randomHex(6);
    std::vector<std::string> workerIds;
    for (uint32_t i = 0; i < settings_.workersPerGroup; ++i) {
        workerIds.push_back("Worker|CTR|" + groupId + "|" + std::to_string(i));
    }
    const DockerResult created =
        docker_.createContainer("scaler-" + groupId, containerSpec(groupId, workerIds, capabilities));
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
    const DockerResult started = docker_.startContainer(containerId);
    if (!started.ok) {
        docker_.removeContainer(containerId);
        return launchFailed(started.error);
    }
    log::adapter().info("worker group '{}' is container {}", groupId, containerId.substr(0, 12));
    Group group;
    group.containerId = containerId;
    group.capabilities = capabilities;
    group.workerIds = workerIds;
    groups_.emplace(groupId, std::move(group));
    return groupStarted(groupId, std::move(workerIds), capabilities);
}

CommandResult ContainerWorkerGroupLauncher::stopGroup(const std::string& groupId) {
    CommandResult result;
    result.groupId = groupId;
    auto it = groups_.find(groupId);
    if (it == groups_.end()) return groupNotFound(groupId);
    Group& group = it->second;
    if (group.stopping) return result;
    // SIGTERM and return: the workers hand back their tasks, reconcile() removes the container once it has
    // exited, and SIGKILL follows after the grace period (Docker's /stop would block the event loop that
    // long).
    const DockerResult killed = docker_.killContainer(group.containerId, "SIGTERM");
    if (!killed.ok && killed.status != 404 && killed.status != 409) {
        return launchFailed(killed.error, groupId);
    }
    group.stopping = true;
    group.killAt = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(worker_.shutdownGraceSeconds + 5));
    nextReconcile_ = Clock::now();  // 404/409: it has already gone; notice at once
    return result;
}

std::vector<GroupInventoryEntry> ContainerWorkerGroupLauncher::inventory() const {
    std::vector<GroupInventoryEntry> out;
    for (const auto& [id, group] : groups_) {
        GroupInventoryEntry entry;
        entry.id = id;
        entry.state = group.stopping ? wire::WorkerGroupState::STOPPING : wire::WorkerGroupState::RUNNING;
        entry.capabilities = group.capabilities;
        entry.workerIds = group.workerIds;
        out.push_back(std::move(entry));
    }
    return out;
}

bool ContainerWorkerGroupLauncher::recoverLeftovers() {
    std::vector<ContainerSummary> containers;
    const DockerResult listed = docker_.listContainers(labels::kAdapterId, settings_.adapterId, containers);
    if (!listed.ok) {
        if (engineReachable_) log::adapter().error("cannot list this adapter's containers: {}", listed.error);
        engineReachable_ = false;
        return false;
    }
    engineReachable_ = true;
    recovered_ = true;
    for (const ContainerSummary& c : containers) {
        const auto groupLabel = c.labels.find(labels::kGroupId);
        const std::string groupId = groupLabel == c.labels.end() ? "" : groupLabel->second;
        if (!container_.adoptLeftovers || groupId.empty() || c.state != "running" || groups_.count(groupId)) {
            log::adapter().info("removing container {} (group '{}', {}) left by an earlier run",
                                c.id.substr(0, 12), groupId, c.state);
            const DockerResult removed = docker_.removeContainer(c.id);
            if (!removed.ok)
                log::adapter().warn("could not remove container {}: {}", c.id.substr(0, 12), removed.error);
            continue;
        }
        Group group;
        group.containerId = c.id;
        try {
            group.capabilities = parseCapabilities(
                c.labels.count(labels::kCapabilities) ? c.labels.at(labels::kCapabilities) : "");
        } catch (const std::exception& e) {
            log::adapter().warn(
                "container {} has a bad capabilities label ({}); adopting it without capabilities",
                c.id.substr(0, 12), e.what());
        }
        group.workerIds = splitIds(c.labels.count(labels::kWorkerIds) ? c.labels.at(labels::kWorkerIds) : "");
        log::adapter().info(
            "adopted worker group '{}' (container {}, {} workers) left running by an earlier run", groupId,
            c.id.substr(0, 12), group.workerIds.size());
        groups_.emplace(groupId, std::move(group));
    }
    return true;
}

void ContainerWorkerGroupLauncher::removeExited(const std::string& groupId, const Group& group) {
    if (group.stopping) {
        log::adapter().info("worker group '{}' stopped", groupId);
    } else {
        const DockerResult inspected = docker_.inspectContainer(group.containerId);
        std::string how = "state unknown";
        if (inspected.ok && inspected.body.contains("State") && inspected.body["State"].is_object()) {
            const auto& state = inspected.body["State"];
            how = "exit code " + std::to_string(state.value("ExitCode", -1));
            const std::string error = state.value("Error", "");
            if (!error.empty()) how += ", " + error;
            if (state.value("OOMKilled", false)) how += ", killed for lack of memory";
        }
        log::adapter().warn("worker group '{}': container {} exited on its own ({}); removing the group",
                            groupId, group.containerId.substr(0, 12), how);
    }
    const DockerResult removed = docker_.removeContainer(group.containerId);
    if (!removed.ok && removed.status != 404) {
        log::adapter().warn("could not remove container {}: {}", group.containerId.substr(0, 12),
                            removed.error);
    }
}

void ContainerWorkerGroupLauncher::reconcile() {
    std::vector<ContainerSummary> containers;
    const DockerResult listed = docker_.listContainers(labels::kAdapterId, settings_.adapterId, containers);
    if (!listed.ok) {
        if (engineReachable_) log::adapter().error("lost the container engine: {}", listed.error);
        engineReachable_ = false;
        return;
    }
    if (!engineReachable_) log::adapter().info("the container engine at {} answers again", docker_.host());
    engineReachable_ = true;
    std::map<std::string, std::string> stateById;
    for (const auto& c : containers) stateById[c.id] = c.state;
    const auto now = Clock::now();
    for (auto it = groups_.begin(); it != groups_.end();) {
        auto& [groupId, group] = *it;
        const auto found = stateById.find(group.containerId);
        if (found == stateById.end()) {
            if (!group.stopping)
                log::adapter().warn("worker group '{}': its container was removed by someone else", groupId);
            it = groups_.erase(it);
            continue;
        }
        if (finished(found->second)) {
            removeExited(groupId, group);
            it = groups_.erase(it);
            continue;
        }
        if (group.stopping && now >= group.killAt) {
            log::adapter().warn(
                "worker group '{}' did not stop within its grace period; killing its container", groupId);
            docker_.killContainer(group.containerId, "SIGKILL");
            group.killAt = Clock::time_point::max();
        }
        ++it;
    }
}

void ContainerWorkerGroupLauncher::poll() {
    const auto now = Clock::now();
    if (now < nextReconcile_) return;
    nextReconcile_ = now + container_.reconcileInterval;
    if (!recovered_) {
        if (!recoverLeftovers()) nextReconcile_ = now + std::chrono::seconds(5);
        return;
    }
    reconcile();
}

void ContainerWorkerGroupLauncher::stopAll(std::chrono::milliseconds grace) {
    if (groups_.empty()) return;
    // SIGTERM now; what has not exited by the deadline is removed by force (which kills it).
    for (auto& [id, group] : groups_) {
        if (!group.stopping) docker_.killContainer(group.containerId, "SIGTERM");
        group.stopping = true;
        group.killAt = Clock::time_point::max();
    }
    const auto deadline = Clock::now() + grace;
    while (!groups_.empty() && Clock::now() < deadline && engineReachable_) {
        reconcile();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (const auto& [id, group] : groups_) {
        log::adapter().warn("worker group '{}' did not stop in time; removing its container by force", id);
        docker_.removeContainer(group.containerId);
    }
    groups_.clear();
}

}  // namespace scaler::adapters
