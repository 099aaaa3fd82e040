#pragma once
// The worker's protocol state machine: registration and heartbeats, tasks in and outcomes out, cancels,
// draining on shutdown, abandoning a hung function, leaving. Fed decoded messages and the time by
// WorkerAgent (or a test); sends through a FrameSink; never touches a socket.

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scaler/common/log_throttle.h"
#include "scaler/protocol/frame_sink.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/protocol/scheduler_registration.h"
#include "scaler/wire/message.capnp.h"
#include "scaler/worker/object_cache.h"
#include "scaler/worker/result_batching.h"
#include "scaler/worker/task_execution.h"
#include "scaler/worker/worker_config.h"

namespace scaler::worker {

class WorkerSession {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;

    enum class Phase {
        serving,   // taking tasks
        draining,  // shutting down: queued tasks handed back, the running one may finish
        leaving,   // disconnect sent, waiting for the scheduler's answer
        done,
    };

    WorkerSession(const WorkerConfig& config, std::string identity, TaskExecution& executor, FrameSink& out,
                  std::string hostname, uint32_t pid, TimePoint now);

    // Registers: the first heartbeat.
    void start(TimePoint now);
    void onMessage(wire::Message::Reader message, TimePoint now);
    // After every wake-up: outcomes out, the hung-task check, heartbeats when due, the death timeout,
    // shutdown (when `shutdownRequested`) and the leave deadline.
    void onTick(TimePoint now, bool shutdownRequested);
    // The scheduler refused our handshake (CURVE): exit 1 with the reason.
    // A refused handshake: certain (our key) ends the worker with exit code 1; connections closed before the
    // handshake (a wrong scheduler key, or a proxy whose scheduler restarts) are logged once a minute while
    // the death timeout decides.
    void onHandshakeFailure(const HandshakeFailure& failure, TimePoint now);

    Phase phase() const { return phase_; }
    bool done() const { return phase_ == Phase::done; }
    int exitCode() const { return exitCode_; }
    // The worker left because a function hung: the process should replace itself.
    bool restartAfterLeaving() const { return restartAfterLeaving_; }
    // How long the loop may sleep before onTick is due.
    std::chrono::microseconds waitBudget(TimePoint now) const;
    // Results are held (ResultBatching): the loop need not wake for more until waitBudget ends.
    bool holdsResults() const { return holdingResults_; }

private:
    void sendHeartbeat(TimePoint now);
    void flushOutcomes(TimePoint now);
    // flushOutcomes, or hold the results a moment when the batching says so.
    void flushOrHoldOutcomes(TimePoint now);
    void sendResults(std::vector<ExecutorOutcome>& results);
    // A result too large for one message fails instead, saying why (the scheduler would drop it unseen).
    void failIfTooLarge(ExecutorOutcome& result) const;
    void sendResultInParts(const ExecutorOutcome& outcome);
    void sendDisconnect(TimePoint now);
    void abandonHungTask(const HungTask& hung, TimePoint now);
    void onTasks(wire::Message::Reader message);
    // objects: tasks whose objects are not cached wait (parked) while the session fetches them, a few
    // chunks ahead of what has arrived
    void startFetch(uint64_t handle, uint64_t size);
    void requestMore(uint64_t handle);
    void onObjectChunk(wire::ObjectChunk::Reader chunk);
    void objectArrived(uint64_t handle);
    void failParked(uint64_t handle, const std::string& why);
    // Queued and parked tasks dropped (they go back to the scheduler, or nobody wants them); how many.
    size_t dropQueued();
    void sendWaitingChanges();
    void onCancels(wire::Message::Reader message);
    void onProtocolError(wire::ProtocolError::Reader error, TimePoint now);
    // The scheduler holds nothing of ours (it restarted, timed us out, or is stopping): drop every task, stop
    // the running ones, and register afresh with `incarnation` once none runs (rejoinIfIdle).
    void startAfresh(uint64_t incarnation);
    void rejoinIfIdle(TimePoint now);
    void finish(int exitCode) {
        exitCode_ = exitCode;
        phase_ = Phase::done;
    }

    const WorkerConfig& config_;
    const std::string identity_;
    TaskExecution& executor_;
    FrameSink& out_;
    const std::string hostname_;
    const uint32_t pid_;
    ProcessResourceSampler sampler_{true};  // with its Python processors

    Phase phase_ = Phase::serving;
    int exitCode_ = 0;
    bool restartAfterLeaving_ = false;
    std::set<uint64_t> cancelsAwaitingOutcome_;  // forced cancels of the running task
    std::vector<std::pair<uint64_t, wire::CancelConfirmKind>> confirms_;
    std::optional<uint64_t> abandonedTask_;  // its late outcome, if the function ever returns, is not sent
    TimePoint drainDeadline_{}, leaveDeadline_{};
    TimePoint lastEcho_;
    TimePoint lastHeartbeatSent_{};
    TimePoint nextHeartbeat_;
    uint32_t latencyUs_ = 0;
    uint64_t schedulerMessageLimit_ = 0;  // from the latest echo; 0: not told yet
    SchedulerRegistration registration_;  // the scheduler our tasks came from
    LogThrottle handshakeWarnings_{std::chrono::minutes(1), 1};
    std::optional<uint64_t> rejoinAs_;  // starting afresh: the incarnation to register with when idle
    ResultBatching batching_;
    bool holdingResults_ = false;

    struct Fetch {
        std::shared_ptr<ObjectBytes> bytes;
        uint64_t requested = 0;
        uint64_t received = 0;
    };
    struct Parked {
        ExecutorTask task;
        std::vector<std::pair<size_t, uint64_t>> missing;  // argument index, object handle
    };
    ObjectCache cache_;
    std::unordered_map<uint64_t, Fetch> fetches_;
    std::list<Parked> parked_;
    uint64_t objectsFetched_ = 0;
    uint64_t objectBytesFetched_ = 0;
};

}  // namespace scaler::worker
