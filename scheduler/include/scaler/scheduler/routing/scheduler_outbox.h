#pragma once
// What SchedulerCore and its scaling controller send. The core never touches a socket: the server implements
// this by batching into Cap'n Proto frames per peer; tests implement it by recording.

#include <cstdint>
#include <string>
#include <string_view>

#include "scaler/protocol/capabilities.h"
#include "scaler/scheduler/routing/client_share.h"
#include "scaler/scheduler/routing/task_table.h"
#include "scaler/scheduler/scaling/task_router_port.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

// What the worker measured of a task: its run time always, CPU time and peak memory when profiling was asked.
struct TaskTimings {
    uint64_t durationUs = 0;
    uint64_t cpuTimeUs = 0;
    uint64_t peakRssBytes = 0;
};

class SchedulerOutbox : public AdapterOutbox {
public:
    virtual ~SchedulerOutbox() = default;

    // Peers are registered before the first send so batches can be keyed by a dense id.
    virtual void peerRegistered(PeerId peer, const std::string& identity) = 0;
    virtual void peerReleased(PeerId peer) = 0;

    // to workers; the task's contents are read at flush time, so the handle is validated then
    // `bytes`: the task's function name and payload, so batches stay bounded in size without a lookup
    virtual void sendTask(PeerId worker, uint64_t taskHandle, size_t bytes) = 0;
    virtual void sendTaskCancel(PeerId worker, uint64_t taskHandle, bool force) = 0;
    virtual void sendWorkerHeartbeatEcho(PeerId worker) = 0;
    virtual void sendDisconnectResponse(PeerId worker) = 0;
    virtual void sendSchedulerShutdown(PeerId worker) = 0;
    // `bytes` of object `handle` from `offset`, or `error` when it is gone
    virtual void sendObjectChunk(PeerId worker, uint64_t handle, uint64_t totalSize, uint64_t offset,
                                 std::string_view bytes, std::string_view error) = 0;
    // to clients and workers: this scheduler stops and forgets what it held
    virtual void sendSchedulerStopping(PeerId peer, std::string_view why) = 0;

    // to clients
    virtual void sendTaskResult(PeerId client, uint64_t clientTaskId, wire::TaskResultStatus status,
                                std::string_view payload, std::string_view error,
                                const TaskTimings& timings) = 0;
    virtual void sendTaskCancelConfirm(PeerId client, uint64_t clientTaskId,
                                       wire::CancelConfirmKind kind) = 0;
    virtual void sendClientHeartbeatEcho(PeerId client, const ClientShare& share) = 0;
    virtual void sendObjectPutAck(PeerId client, uint64_t objectId, uint64_t receivedBytes,
                                  std::string_view error) = 0;
    virtual void sendClientShutdownResponse(PeerId client, bool accepted) = 0;

    // to worker adapters: AdapterOutbox's, sent by the scaling controller

    // to any identity, registered or not
    virtual void sendProtocolError(std::string_view identity, wire::ProtocolErrorCode code,
                                   std::string_view message) = 0;
    // stateLost, naming the incarnation the peer's heartbeat claimed
    virtual void sendStateLost(std::string_view identity, uint64_t claimedIncarnation,
                               std::string_view message) {
        (void)claimedIncarnation;
        sendProtocolError(identity, wire::ProtocolErrorCode::STATE_LOST, message);
    }
};

// Sends nothing: for drivers of SchedulerCore that care about a few messages only (the fuzz harness, the
// scaling simulator); they override those.
class DiscardingOutbox : public SchedulerOutbox {
public:
    void peerRegistered(PeerId, const std::string&) override {}
    void peerReleased(PeerId) override {}
    void sendTask(PeerId, uint64_t, size_t) override {}
    void sendTaskCancel(PeerId, uint64_t, bool) override {}
    void sendWorkerHeartbeatEcho(PeerId) override {}
    void sendDisconnectResponse(PeerId) override {}
    void sendSchedulerShutdown(PeerId) override {}
    void sendSchedulerStopping(PeerId, std::string_view) override {}
    void sendObjectChunk(PeerId, uint64_t, uint64_t, uint64_t, std::string_view, std::string_view) override {}
    void sendObjectPutAck(PeerId, uint64_t, uint64_t, std::string_view) override {}
    void sendTaskResult(PeerId, uint64_t, wire::TaskResultStatus, std::string_view, std::string_view,
                        const TaskTimings&) override {}
    void sendTaskCancelConfirm(PeerId, uint64_t, wire::CancelConfirmKind) override {}
    void sendClientHeartbeatEcho(PeerId, const ClientShare&) override {}
    void sendClientShutdownResponse(PeerId, bool) override {}
    void sendAdapterHeartbeatEcho(PeerId) override {}
    void sendAdapterCommand(PeerId, uint64_t, wire::WorkerAdapterCommandType, std::string_view,
                            const CapabilityList&) override {}
    void sendProtocolError(std::string_view, wire::ProtocolErrorCode, std::string_view) override {}
};

}  // namespace scaler::scheduler
