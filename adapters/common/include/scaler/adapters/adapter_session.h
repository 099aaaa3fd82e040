#pragma once
// The adapter's protocol state machine: heartbeats carrying capacity and the provider's inventory,
// StartWorkerGroup / ShutdownWorkerGroup carried out by the WorkerGroupProvider and answered, registering
// again with a restarted scheduler, stopping every group on the way out. Fed decoded messages and the time
// by WorkerAdapterAgent (or a test); sends through a FrameSink; never touches a socket.

#include <chrono>
#include <optional>

#include "scaler/adapters/worker_adapter_agent.h"
#include "scaler/adapters/worker_group_provider.h"
#include "scaler/common/log_throttle.h"
#include "scaler/protocol/frame_sink.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/scheduler_registration.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::adapters {

class AdapterSession {
public:
    using Clock = AdapterClock;
    using TimePoint = AdapterTimePoint;

    AdapterSession(const WorkerAdapterSettings& settings, WorkerGroupProvider& provider, FrameSink& out);

    // Registers: the first heartbeat.
    void start(TimePoint now);
    // `nowUnixMs`: this host's wall clock, against a command's deadline (0: not checked).
    void onMessage(wire::Message::Reader message, TimePoint now, uint64_t nowUnixMs = 0);
    // Every loop turn: the provider notices exits; the heartbeat when due.
    void onTick(TimePoint now);
    // The scheduler refused our handshake (CURVE): stop with exit code 1.
    // Certain (our key refused): stop with exit code 1. Closed handshakes alone (a wrong scheduler key, or a
    // proxy whose scheduler restarts): logged once a minute, still trying.
    void onHandshakeFailure(const HandshakeFailure& failure, TimePoint now);
    // Exiting: asks every group to stop; starts are refused from now on, heartbeats go on.
    void beginStop(TimePoint now);
    // While exiting, every loop turn: true once every group has gone or the exit grace has passed (what is
    // left is then ended by force); the scheduler is told at once.
    bool stopFinished(TimePoint now);

    // The session asks to stop (refused by the scheduler); the agent also stops on a signal.
    bool stopRequested() const { return stopRequested_; }
    int exitCode() const { return exitCode_; }

private:
    void sendHeartbeat();
    Clock::duration heartbeatInterval() const;
    void onCommand(wire::WorkerAdapterCommand::Reader command, TimePoint now, uint64_t nowUnixMs);
    CommandResult carryOut(wire::WorkerAdapterCommand::Reader command, TimePoint now);

    const WorkerAdapterSettings& settings_;
    WorkerGroupProvider& provider_;
    FrameSink& out_;
    TimePoint nextHeartbeat_{};
    SchedulerRegistration registration_;  // the scheduler we registered with
    LogThrottle handshakeWarnings_{std::chrono::minutes(1), 1};
    bool stopRequested_ = false;
    std::optional<TimePoint> stopDeadline_;  // set while exiting
    int exitCode_ = 0;
};

}  // namespace scaler::adapters
