#pragma once
// The monitor snapshot as a short plain-text report, for `scaler_top --once`.

#include <string>

#include "scaler/wire/message.capnp.h"

namespace scaler {

std::string snapshotToText(wire::MonitorSnapshot::Reader snapshot);

}  // namespace scaler
