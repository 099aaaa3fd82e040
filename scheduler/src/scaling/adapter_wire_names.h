#pragma once
// Names and phases for the adapter protocol's enums, as the scaling controller logs and records them.

#include <string>

#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/scaling/scaling_policy.h"

namespace scaler::scheduler::scaling {

std::string commandName(wire::WorkerAdapterCommandType command);
std::string statusName(wire::WorkerAdapterCommandStatus status);
// A group's phase as its adapter's heartbeat reports it.
GroupPhase phaseFromWire(wire::WorkerGroupState state);

}  // namespace scaler::scheduler::scaling
