#pragma once
// Worker groups as local scaler_worker processes. Workers die with the adapter (parent-death signal), so
// a killed adapter leaves nothing the scheduler cannot account for.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/worker_group_provider.h"

namespace scaler::adapters {

class NativeWorkerGroupLauncher final : public WorkerGroupProvider {
public:
    NativeWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker, std::string workerBinary);
    ~NativeWorkerGroupLauncher() override;

    std::string kind() const override { return "native"; }
    CommandResult startGroup(const CapabilityList& capabilities) override;
    CommandResult stopGroup(const std::string& groupId) override;
    std::vector<GroupInventoryEntry> inventory() const override;
    void poll() override;
    void stopAll(std::chrono::milliseconds grace) override;

    // scaler_worker beside this executable.
    static std::string defaultWorkerBinary();

private:
    // Runs the worker with --check: nullopt when it could start, else its message.
    std::optional<std::string> checkWorkers() const;
    struct Process {
        pid_t pid;
        std::string workerId;
    };
    struct Group {
        CapabilityList capabilities;
        std::vector<Process> processes;  // the ones still running
        bool stopping = false;
        std::chrono::steady_clock::time_point killAt{};
    };

    void reap();

    WorkerAdapterSettings settings_;
    WorkerOptions worker_;
    std::string workerBinary_;
    std::optional<std::string> workersCannotStart_;  // what scaler_worker --check said, when it failed
    std::map<std::string, Group> groups_;
};

}  // namespace scaler::adapters
