#include "adapter_wire_names.h"

namespace scaler::scheduler::scaling {

std::string commandName(wire::WorkerAdapterCommandType command) {
    return command == wire::WorkerAdapterCommandType::START_WORKER_GROUP ? "start" : "shutdown";
}

std::string statusName(wire::WorkerAdapterCommandStatus status) {
    switch (status) {
        case wire::WorkerAdapterCommandStatus::SUCCESS:
            return "success";
        case wire::WorkerAdapterCommandStatus::WORKER_GROUP_TOO_MUCH:
            return "workerGroupTooMuch";
        case wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND:
            return "workerGroupIdNotFound";
        case wire::WorkerAdapterCommandStatus::CAPABILITIES_NOT_SUPPORTED:
            return "capabilitiesNotSupported";
        case wire::WorkerAdapterCommandStatus::LAUNCH_FAILED:
            return "launchFailed";
        case wire::WorkerAdapterCommandStatus::EXPIRED:
            return "expired";
    }
    return "unknown";
}

GroupPhase phaseFromWire(wire::WorkerGroupState state) {
    switch (state) {
        case wire::WorkerGroupState::RUNNING:
            return GroupPhase::running;
        case wire::WorkerGroupState::DRAINING:
            return GroupPhase::draining;
        case wire::WorkerGroupState::STOPPING:
        case wire::WorkerGroupState::FAILED:
            return GroupPhase::stopping;
        default:
            return GroupPhase::starting;
    }
}

}  // namespace scaler::scheduler::scaling
