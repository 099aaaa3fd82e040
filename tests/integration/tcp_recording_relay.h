#pragma once
// A loopback capture without privileges: a TCP relay between peers and a server that keeps a copy of every
// byte it forwards, both ways. Point a peer at port() instead of the server to see what crosses the wire.

#include <cstdint>
#include <mutex>
#include <string>

#include "scaler/tools/link_cut_relay.h"

namespace scaler::testing {

class TcpRecordingRelay {
public:
    explicit TcpRecordingRelay(uint16_t targetPort)
        : relay_(targetPort, [this](std::string_view bytes) {
              std::lock_guard lock(mutex_);
              captured_.append(bytes);
          }) {}

    uint16_t port() const { return relay_.port(); }
    std::string captured() const {
        std::lock_guard lock(mutex_);
        return captured_;
    }

private:
    mutable std::mutex mutex_;
    std::string captured_;
    tools::LinkCutRelay relay_;  // last: its thread stops before what the tap writes to goes
};

}  // namespace scaler::testing
