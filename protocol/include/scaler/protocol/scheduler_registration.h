#pragma once
// What every peer of the scheduler (client, worker, adapter) keeps of its registration, written once: the
// scheduler incarnation it registered with and whether its session is fresh (both ride on every heartbeat),
// what an echo and the two protocol errors about registration mean, and the throttle that keeps a burst of
// notRegistered answers from becoming a burst of heartbeats. Each session decides what starting afresh costs
// it (a client resends, a worker drops its tasks, an adapter just sends its inventory). docs/protocol.md.

#include <chrono>
#include <cstdint>

#include "scaler/wire/message.capnp.h"

namespace scaler {

class SchedulerRegistration {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    static constexpr std::chrono::milliseconds kNotRegisteredHeartbeatInterval{100};

    // The two fields every heartbeat carries.
    template <typename HeartbeatBuilder>
    void stamp(HeartbeatBuilder heartbeat) const {
        heartbeat.setSchedulerIncarnation(incarnation_);
        heartbeat.setFreshSession(fresh_);
    }
    uint64_t incarnation() const { return incarnation_; }
    bool fresh() const { return fresh_; }

    // The scheduler echoed a heartbeat: we are registered with this incarnation.
    void echoed(uint64_t schedulerIncarnation) {
        incarnation_ = schedulerIncarnation;
        fresh_ = false;
    }
    // notRegistered (the scheduler restarted, or answers a message sent before we started afresh): true when
    // a heartbeat should go now, at most one per kNotRegisteredHeartbeatInterval.
    bool heartbeatForNotRegistered(TimePoint now) {
        if (sentForNotRegistered_ && now - lastNotRegisteredHeartbeat_ < kNotRegisteredHeartbeatInterval)
            return false;
        sentForNotRegistered_ = true;
        lastNotRegisteredHeartbeat_ = now;
        return true;
    }
    // stateLost names the incarnation the heartbeat claimed: only one claiming ours, while we are registered,
    // says something new. Once we started afresh every heartbeat is fresh and registers, so a stateLost then
    // answers one sent before: after a cut there are many, all claiming the same incarnation when the same
    // scheduler timed us out, and each would start afresh again (resend, re-register, log).
    bool lostUs(wire::ProtocolError::Reader error) const {
        return !fresh_ && error.getClaimedIncarnation() == incarnation_;
    }
    // Registering again with this scheduler: the next heartbeats claim a fresh session.
    void startAfresh(uint64_t schedulerIncarnation) {
        incarnation_ = schedulerIncarnation;
        fresh_ = true;
    }

private:
    uint64_t incarnation_ = 0;  // 0: none yet
    bool fresh_ = true;         // until the first echo after (re)registering
    bool sentForNotRegistered_ = false;
    TimePoint lastNotRegisteredHeartbeat_{};
};

}  // namespace scaler
