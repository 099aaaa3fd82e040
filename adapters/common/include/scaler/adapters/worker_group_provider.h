#pragma once
// What an adapter kind (native processes, containers, ECS tasks) does; WorkerAdapterAgent does the rest.

#include <chrono>
#include <string>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::adapters {

struct GroupInventoryEntry {
    std::string id;
    wire::WorkerGroupState state = wire::WorkerGroupState::RUNNING;
    CapabilityList capabilities;
    std::vector<std::string> workerIds;
};

struct CommandResult {
    wire::WorkerAdapterCommandStatus status = wire::WorkerAdapterCommandStatus::SUCCESS;
    std::string groupId;
    std::vector<std::string> workerIds;
    CapabilityList capabilities;
    std::string message;  // why, when it failed
};

class WorkerGroupProvider {
public:
    virtual ~WorkerGroupProvider() = default;
    virtual std::string kind() const = 0;
    // Starts a group whose workers offer `capabilities`. The agent has already checked the adapter's capacity
    // and that it offers these capabilities. Must not block for long: heartbeats wait while it runs.
    virtual CommandResult startGroup(const CapabilityList& capabilities) = 0;
    virtual CommandResult stopGroup(const std::string& groupId) = 0;
    virtual std::vector<GroupInventoryEntry> inventory() const = 0;
    // Called every loop turn: notice exits, escalate stops.
    virtual void poll() = 0;
    // The adapter is exiting: stop every group, waiting at most `grace`.
    virtual void stopAll(std::chrono::milliseconds grace) = 0;
};

}  // namespace scaler::adapters
