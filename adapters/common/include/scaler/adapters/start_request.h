#pragma once
// The checks every adapter kind makes before it starts a group, and the capabilities the group gets.

#include <optional>

#include "scaler/adapters/worker_adapter_agent.h"
#include "scaler/adapters/worker_group_provider.h"

namespace scaler::adapters {

// A refusal (too many groups, capabilities not offered), or nothing when the start may go ahead.
std::optional<CommandResult> refuseStart(const WorkerAdapterSettings& settings, size_t groupsInUse,
                                         const CapabilityList& requested);

// The workers offer what was asked for, with the quantities the adapter has; nothing asked: everything.
CapabilityList grantedCapabilities(const CapabilityList& offered, const CapabilityList& requested);

// The answers to a start: the group runs these workers with these capabilities; or it could not be launched.
CommandResult groupStarted(const std::string& groupId, std::vector<std::string> workerIds,
                           const CapabilityList& capabilities);
// (also for a stop the engine refused: `groupId` names the group)
CommandResult launchFailed(std::string message, const std::string& groupId = {});

// The answer to a stop for a group this adapter does not have.
CommandResult groupNotFound(const std::string& groupId);

}  // namespace scaler::adapters
