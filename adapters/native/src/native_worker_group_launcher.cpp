#include "scaler/adapters/native_worker_group_launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "scaler/common/log.h"

#include "scaler/adapters/start_request.h"
#include "scaler/adapters/worker_process.h"
#include "scaler/protocol/identity.h"

namespace scaler::adapters {

NativeWorkerGroupLauncher::NativeWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker,
                                                     std::string workerBinary)
    : settings_(std::move(settings)), worker_(std::move(worker)), workerBinary_(std::move(workerBinary)) {
    // before the event loop, so the first start is not delayed: a worker that cannot start (a plugin that is
    // not one) would otherwise die and be replaced forever while its tasks wait
    workersCannotStart_ = checkWorkers();
    if (workersCannotStart_)
        log::adapter().error("this adapter's workers cannot start: {}", *workersCannotStart_);
}

std::optional<std::string> NativeWorkerGroupLauncher::checkWorkers() const {
    if (access(workerBinary_.c_str(), X_OK) != 0) return std::nullopt;  // startGroup names this one
    std::vector<std::string> check{workerBinary_};
    for (auto& a : worker_.workerArguments(settings_.schedulerAddress, settings_.adapterId, "check",
                                           settings_.capabilities)) {
        check.push_back(std::move(a));
    }
    check.push_back("--check");
    return checkWorkerCommand(check, std::chrono::seconds(10));
}

NativeWorkerGroupLauncher::~NativeWorkerGroupLauncher() {
    stopAll(std::chrono::milliseconds(2000));
}

std::string NativeWorkerGroupLauncher::defaultWorkerBinary() {
    return siblingBinary("scaler_worker");
}

CommandResult NativeWorkerGroupLauncher::startGroup(const CapabilityList& capabilities) {
    if (access(workerBinary_.c_str(), X_OK) != 0) {
        return launchFailed("cannot run worker binary '" + workerBinary_ + "': " + std::strerror(errno));
    }
    // checked again after a failure, so a fixed installation is picked up at the next start
    if (workersCannotStart_ && (workersCannotStart_ = checkWorkers())) {
        return launchFailed("its workers cannot start: " + *workersCannotStart_);
    }
    const std::string groupId = "native-" + randomHex(6);
    Group group;
    group.capabilities = capabilities;
    for (uint32_t i = 0; i < settings_.workersPerGroup; ++i) {
        const std::string workerId = "Worker|NAT|" + groupId + "|" + std::to_string(i);
        std::vector<std::string> args{workerBinary_};
        for (auto& a : worker_.workerArguments(settings_.schedulerAddress, settings_.adapterId, groupId,
                                               capabilities)) {
            args.push_back(std::move(a));
        }
        args.insert(args.end(), {"--worker-id", workerId});
        const pid_t pid = spawnWorkerProcess(args);
        if (pid < 0) {
            const std::string error = std::strerror(errno);
            for (const Process& p : group.processes) kill(p.pid, SIGKILL);
            return launchFailed("fork failed: " + error);
        }
        group.processes.push_back({pid, workerId});
    }
    std::vector<std::string> workerIds;
    for (const Process& p : group.processes) workerIds.push_back(p.workerId);
    groups_.emplace(groupId, std::move(group));
    return groupStarted(groupId, std::move(workerIds), capabilities);
}

CommandResult NativeWorkerGroupLauncher::stopGroup(const std::string& groupId) {
    CommandResult result;
    result.groupId = groupId;
    auto it = groups_.find(groupId);
    if (it == groups_.end()) return groupNotFound(groupId);
    Group& group = it->second;
    if (!group.stopping) {
        group.stopping = true;
        group.killAt = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(worker_.shutdownGraceSeconds + 5));
        for (const Process& p : group.processes) kill(p.pid, SIGTERM);
    }
    return result;  // reaped by poll(); the inventory shows it stopping until then
}

std::vector<GroupInventoryEntry> NativeWorkerGroupLauncher::inventory() const {
    std::vector<GroupInventoryEntry> out;
    for (const auto& [id, group] : groups_) {
        GroupInventoryEntry entry;
        entry.id = id;
        entry.state = group.stopping ? wire::WorkerGroupState::STOPPING : wire::WorkerGroupState::RUNNING;
        entry.capabilities = group.capabilities;
        for (const Process& p : group.processes) entry.workerIds.push_back(p.workerId);
        out.push_back(std::move(entry));
    }
    return out;
}

void NativeWorkerGroupLauncher::reap() {
    for (;;) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        for (auto it = groups_.begin(); it != groups_.end(); ++it) {
            auto& processes = it->second.processes;
            auto p = std::find_if(processes.begin(), processes.end(),
                                  [&](const Process& x) { return x.pid == pid; });
            if (p == processes.end()) continue;
            if (!it->second.stopping) {
                log::adapter().warn("worker '{}' of group '{}' exited on its own ({} {})", p->workerId,
                                    it->first, WIFSIGNALED(status) ? "signal" : "exit code",
                                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            }
            processes.erase(p);
            if (processes.empty()) {
                if (!it->second.stopping)
                    log::adapter().warn("worker group '{}' has no workers left; removing it", it->first);
                log::adapter().info("worker group '{}' stopped", it->first);
                groups_.erase(it);
            }
            break;
        }
    }
}

void NativeWorkerGroupLauncher::poll() {
    reap();
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, group] : groups_) {
        if (group.stopping && now >= group.killAt) {
            log::adapter().warn("worker group '{}' did not stop within its grace period; killing it", id);
            for (const Process& p : group.processes) kill(p.pid, SIGKILL);
            group.killAt = now + std::chrono::hours(1);
        }
    }
}

void NativeWorkerGroupLauncher::stopAll(std::chrono::milliseconds grace) {
    if (groups_.empty()) return;
    for (auto& [id, group] : groups_) {
        group.stopping = true;
        for (const Process& p : group.processes) kill(p.pid, SIGTERM);
    }
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (!groups_.empty() && std::chrono::steady_clock::now() < deadline) {
        reap();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto& [id, group] : groups_) {
        for (const Process& p : group.processes) kill(p.pid, SIGKILL);
    }
    while (!groups_.empty()) {
        reap();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace scaler::adapters
