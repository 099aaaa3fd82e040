#pragma once
// The monitor snapshot as JSON, for `scaler_top --once --json` and scripts.

#include <nlohmann/json.hpp>

#include "scaler/wire/message.capnp.h"

namespace scaler {

nlohmann::json snapshotToJson(wire::MonitorSnapshot::Reader snapshot);

}  // namespace scaler
