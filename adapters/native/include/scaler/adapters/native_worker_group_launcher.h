#pragma once
// Worker groups as local scaler_worker processes. Workers die with the adapter (parent-death signal), so
// a killed adapter leaves nothing the scheduler cannot account for.

#include <chrono>
#include <map>
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
    bool workersChecked_ = false;  // a worker with these options started once (scaler_worker --check)
    std::map<std::string, Group> groups_;
};

}  // namespace scaler::adapters
