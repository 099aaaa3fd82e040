#include "scaler/adapters/start_request.h"

#include <algorithm>

namespace scaler::adapters {

std::optional<CommandResult> refuseStart(const WorkerAdapterSettings& settings, size_t groupsInUse,
                                         const CapabilityList& requested) {
    CommandResult result;
    if (groupsInUse >= settings.maxWorkerGroups) {
        result.status = wire::WorkerAdapterCommandStatus::WORKER_GROUP_TOO_MUCH;
        result.message = "already running " + std::to_string(groupsInUse) + " of " +
                         std::to_string(settings.maxWorkerGroups) + " groups";
        return result;
    }
    if (!capabilitiesSatisfy(requested, settings.capabilities)) {
        result.status = wire::WorkerAdapterCommandStatus::CAPABILITIES_NOT_SUPPORTED;
        result.message = "asked for '" + formatCapabilities(requested) + "' but this adapter offers '" +
                         formatCapabilities(settings.capabilities) + "'";
        return result;
    }
    return std::nullopt;
}

CapabilityList grantedCapabilities(const CapabilityList& offered, const CapabilityList& requested) {
    CapabilityList capabilities = offered;
    if (!requested.empty()) {
        std::erase_if(capabilities, [&](const Capability& c) {
            return std::none_of(requested.begin(), requested.end(),
                                [&](const Capability& r) { return r.name == c.name; });
        });
    }
    return capabilities;
}

CommandResult groupStarted(const std::string& groupId, std::vector<std::string> workerIds,
                           const CapabilityList& capabilities) {
    CommandResult result;
    result.groupId = groupId;
    result.workerIds = std::move(workerIds);
    result.capabilities = capabilities;
    return result;
}

CommandResult launchFailed(std::string message, const std::string& groupId) {
    CommandResult result;
    result.groupId = groupId;
    result.status = wire::WorkerAdapterCommandStatus::LAUNCH_FAILED;
    result.message = std::move(message);
    return result;
}

CommandResult groupNotFound(const std::string& groupId) {
    CommandResult result;
    result.groupId = groupId;
    result.status = wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND;
    result.message = "no worker group '" + groupId + "' on this adapter";
    return result;
}

}  // namespace scaler::adapters
