#pragma once
// What an adapter kind (native processes, containers, ECS tasks) does; WorkerAdapterAgent does the rest.

#include <chrono>
#include <string>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::adapters {

// The adapter's event loop reads the clock and passes the time to every provider call, so launchers are
// tested with invented time.
using AdapterClock = std::chrono::steady_clock;
using AdapterTimePoint = AdapterClock::time_point;

struct GroupInventoryEntry {
    std::string id;
    wire::WorkerGroupState state = wire::WorkerGroupState::RUNNING;
    CapabilityList capabilities;
    std::vector<std::string> workerIds;
    std::string message;  // FAILED: why its start failed after it was answered (a Pod that cannot be pulled)
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
    virtual CommandResult startGroup(const CapabilityList& capabilities, AdapterTimePoint now) = 0;
    // Asks the group to stop (its workers hand their tasks back) and returns; poll() notices it has gone and
    // escalates a stop that takes longer than the grace period.
    virtual CommandResult stopGroup(const std::string& groupId, AdapterTimePoint now) = 0;
    virtual std::vector<GroupInventoryEntry> inventory() const = 0;
    // Called every loop turn: notice exits, escalate stops.
    virtual void poll(AdapterTimePoint now) = 0;
    // The adapter is exiting. beginStopAll asks every group to stop; the agent keeps calling poll() until
    // inventory() is empty or its grace has passed, then forceStopAll() ends what is left without waiting
    // on a clock.
    virtual void beginStopAll(AdapterTimePoint now) = 0;
    virtual void forceStopAll() = 0;
};

}  // namespace scaler::adapters
