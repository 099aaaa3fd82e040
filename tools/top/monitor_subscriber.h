#pragma once
// A subscription to a scheduler's monitor socket that hands out the newest snapshot as JSON: for tests,
// benchmarks and the soak program, which poll the scheduler's state.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/message_codec.h"

namespace scaler {

class MonitorSubscriber {
public:
    explicit MonitorSubscriber(std::string monitorAddress, const CurveClientKeys& keys = {});
    // Reconnects with other keys (for a scheduler that requires CURVE).
    void reconnect(const CurveClientKeys& keys);
    // Drains what arrived and returns the newest snapshot, waiting up to `timeout` for one; throws
    // std::runtime_error when none comes.
    nlohmann::json latest(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    // Why the monitor socket refused us (CURVE keys), once; nullopt otherwise.
    std::optional<HandshakeFailure> takeHandshakeFailure() { return watch_->takeFailure(); }

private:
    std::string address_;
    zmq::context_t context_{1};
    zmq::socket_t sub_;
    std::optional<HandshakeWatch> watch_;
    FrameReader reader_;
};

}  // namespace scaler
