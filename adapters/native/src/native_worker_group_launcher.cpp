#include "scaler/adapters/native_worker_group_launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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
    workersCheck_ = checkWorkers();
    if (!workersCheck_) log::adapter().error("this adapter's workers cannot start: {}", workersCheck_.why());
}

Status NativeWorkerGroupLauncher::checkWorkers() const {
    if (access(workerBinary_.c_str(), X_OK) != 0) return {};  // startGroup names this one
    std::vector<std::string> check{workerBinary_};
    for (auto& a : worker_.workerArguments(settings_.schedulerAddress, settings_.adapterId, "check",
                                           settings_.capabilities)) {
        check.push_back(std::move(a));
    }
    check.push_back("--check");
    return checkWorkerCommand(check, std::chrono::seconds(10));
}

NativeWorkerGroupLauncher::~NativeWorkerGroupLauncher() {
    forceStopAll();  // the agent stopped them gracefully already; this is for an early exit
}

std::string NativeWorkerGroupLauncher::defaultWorkerBinary() {
    return siblingBinary("scaler_worker");
}

CommandResult NativeWorkerGroupLauncher::startGroup(const CapabilityList& capabilities,
                                                    AdapterTimePoint now) {
    if (access(workerBinary_.c_str(), X_OK) != 0) {
        return launchFailed("cannot run worker binary '" + workerBinary_ + "': " + std::strerror(errno));
    }
    // checked again after a failure, so a fixed installation is picked up at the next start
    if (!workersCheck_ && !(workersCheck_ = checkWorkers())) {
        return launchFailed("its workers cannot start: " + workersCheck_.why());
    }
    const std::string groupId = "native-" + randomHex(6);
    const std::vector<std::string> workerIds = groupWorkerIds("NAT", groupId, settings_.workersPerGroup);
    std::vector<Process> processes;
    for (const std::string& workerId : workerIds) {
        std::vector<std::string> args{workerBinary_};
        for (auto& a : worker_.workerArguments(settings_.schedulerAddress, settings_.adapterId, groupId,
                                               capabilities)) {
            args.push_back(std::move(a));
        }
        args.insert(args.end(), {"--worker-id", workerId});
        const pid_t pid = spawnWorkerProcess(args);
        if (pid < 0) {
            const std::string error = std::strerror(errno);
            for (const Process& p : processes) kill(p.pid, SIGKILL);
            for (const Process& p : processes) waitpid(p.pid, nullptr, 0);
            return launchFailed("fork failed: " + error);
        }
        processes.push_back({pid, workerId});
    }
    processes_.emplace(groupId, std::move(processes));
    groups_.add(groupId, WorkerGroupRecord::started("", capabilities, workerIds, now));
    return groupStarted(groupId, workerIds, capabilities);
}

void NativeWorkerGroupLauncher::signalGroup(const std::string& groupId, int signal) const {
    const auto it = processes_.find(groupId);
    if (it == processes_.end()) return;
    for (const Process& p : it->second) kill(p.pid, signal);
}

CommandResult NativeWorkerGroupLauncher::stopGroup(const std::string& groupId, AdapterTimePoint now) {
    if (!groups_.contains(groupId)) return groupNotFound(groupId);
    if (groups_.markStopping(groupId, now, std::chrono::duration<double>(worker_.shutdownGraceSeconds + 5))) {
        signalGroup(groupId, SIGTERM);
    }
    CommandResult result;
    result.groupId = groupId;
    return result;  // reaped by poll(); the inventory shows it stopping until then
}

void NativeWorkerGroupLauncher::reap(bool block) {
    for (;;) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (pid <= 0) return;
        for (auto it = processes_.begin(); it != processes_.end(); ++it) {
            auto& processes = it->second;
            auto p = std::find_if(processes.begin(), processes.end(),
                                  [&](const Process& x) { return x.pid == pid; });
            if (p == processes.end()) continue;
            const std::string& groupId = it->first;
            WorkerGroupRecord* group = groups_.find(groupId);
            const bool stopping = group != nullptr && group->state == wire::WorkerGroupState::STOPPING;
            if (!stopping) {
                log::adapter().warn("worker '{}' of group '{}' exited on its own ({} {})", p->workerId,
                                    groupId, WIFSIGNALED(status) ? "signal" : "exit code",
                                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            }
            if (group != nullptr) std::erase(group->workerIds, p->workerId);
            processes.erase(p);
            if (processes.empty()) {
                if (!stopping)
                    log::adapter().warn("worker group '{}' has no workers left; removing it", groupId);
                log::adapter().info("worker group '{}' stopped", groupId);
                groups_.remove(groupId);
                processes_.erase(it);
            }
            break;
        }
        if (block && processes_.empty()) return;
    }
}

void NativeWorkerGroupLauncher::poll(AdapterTimePoint now) {
    reap();
    for (const std::string& id : groups_.dueForKill(now)) {
        log::adapter().warn("worker group '{}' did not stop within its grace period; killing it", id);
        signalGroup(id, SIGKILL);
    }
}

void NativeWorkerGroupLauncher::beginStopAll(AdapterTimePoint now) {
    for (auto& [id, group] : groups_) {
        if (groups_.markStopping(id, now, std::nullopt)) signalGroup(id, SIGTERM);
    }
}

void NativeWorkerGroupLauncher::forceStopAll() {
    for (const auto& [id, processes] : processes_) signalGroup(id, SIGKILL);
    if (!processes_.empty()) reap(true);  // SIGKILL cannot be refused: these waits are short
}

}  // namespace scaler::adapters
