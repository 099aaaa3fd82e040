#pragma once
// Applying CURVE keys (scaler/protocol/curve_keys.h) to a ZeroMQ socket. Kept apart from the key types so
// headers that only carry keys (the client's) do not pull in cppzmq.

#include <string>

#include <zmq.hpp>

#include "scaler/protocol/curve_keys.h"

namespace scaler {

// Before connect: authenticate to a CURVE server with `keys` (no-op when not enabled).
void applyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys);
// Before bind: act as a CURVE server; peers are checked by the ZAP handler for `zapDomain`.
void applyCurveServer(zmq::socket_t& socket, const std::string& secretKeyZ85, const std::string& zapDomain);

}  // namespace scaler
