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
#include "scaler/adapters/worker_group_table.h"
#include "scaler/protocol/result.h"

namespace scaler::adapters {

class NativeWorkerGroupLauncher final : public WorkerGroupProvider {
public:
    NativeWorkerGroupLauncher(WorkerAdapterSettings settings, WorkerOptions worker, std::string workerBinary);
    ~NativeWorkerGroupLauncher() override;

    std::string kind() const override { return "native"; }
    CommandResult startGroup(const CapabilityList& capabilities, AdapterTimePoint now) override;
    CommandResult stopGroup(const std::string& groupId, AdapterTimePoint now) override;
    std::vector<GroupInventoryEntry> inventory() const override { return groups_.inventory(); }
    void poll(AdapterTimePoint now) override;
    void beginStopAll(AdapterTimePoint now) override;
    void forceStopAll() override;

    // scaler_worker beside this executable.
    static std::string defaultWorkerBinary();

private:
    // Runs the worker with --check: nullopt when it could start, else its message.
    Status checkWorkers() const;
    struct Process {
        pid_t pid;
        std::string workerId;
    };

    // Collects exited workers without waiting (`block`: waits for each, after a SIGKILL).
    void reap(bool block = false);
    void signalGroup(const std::string& groupId, int signal) const;

    WorkerAdapterSettings settings_;
    WorkerOptions worker_;
    std::string workerBinary_;
    Status workersCheck_;  // what scaler_worker --check said last
    WorkerGroupTable groups_;
    std::map<std::string, std::vector<Process>> processes_;  // per group, the ones still running
};

}  // namespace scaler::adapters
