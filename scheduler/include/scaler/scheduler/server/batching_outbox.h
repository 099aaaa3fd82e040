#pragma once
// SchedulerOutbox over a ROUTER socket. Tasks, results, cancels and confirmations are staged per peer and
// sent as one frame per kind per peer when the event loop flushes, so a burst of thousands of tasks costs a
// handful of frames. Control messages go out at once.

#include <cstdint>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <zmq.hpp>

#include "scaler/scheduler/routing/scheduler_outbox.h"
#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

class BatchingOutbox final : public SchedulerOutbox {
public:
    // `maxMessageBytes` is told to clients and workers in every heartbeat echo, `incarnation` to every peer
    // in its echoes and protocol errors.
    BatchingOutbox(zmq::socket_t& router, uint64_t maxMessageBytes, uint64_t incarnation)
        : router_(router), maxMessageBytes_(maxMessageBytes), incarnation_(incarnation) {}
    // The table tasks are read from when their batch is built.
    void attachTaskTable(TaskTable& tasks) { tasks_ = &tasks; }

    void peerRegistered(PeerId peer, const std::string& identity) override;
    void peerReleased(PeerId peer) override;
    void sendTask(PeerId worker, uint64_t taskHandle, size_t bytes) override;
    void sendTaskCancel(PeerId worker, uint64_t taskHandle, bool force) override;
    void sendWorkerHeartbeatEcho(PeerId worker) override;
    void sendDisconnectResponse(PeerId worker) override;
    void sendSchedulerShutdown(PeerId worker) override;
    void sendSchedulerStopping(PeerId peer, std::string_view why) override;
    void sendTaskResult(PeerId client, uint64_t clientTaskId, wire::TaskResultStatus status,
                        std::string_view payload, std::string_view error,
                        const TaskTimings& timings) override;
    void sendTaskCancelConfirm(PeerId client, uint64_t clientTaskId, wire::CancelConfirmKind kind) override;
    void sendClientHeartbeatEcho(PeerId client, const ClientShare& share) override;
    void sendObjectPutAck(PeerId client, uint64_t objectId, uint64_t receivedBytes,
                          std::string_view error) override;
    void sendObjectChunk(PeerId worker, uint64_t handle, uint64_t totalSize, uint64_t offset,
                         std::string_view bytes, std::string_view error) override;
    void sendClientShutdownResponse(PeerId client, bool accepted) override;
    void sendAdapterHeartbeatEcho(PeerId adapter) override;
    void sendAdapterCommand(PeerId adapter, uint64_t requestId, wire::WorkerAdapterCommandType command,
                            std::string_view workerGroupId, const CapabilityList& capabilities) override;
    void sendProtocolError(std::string_view identity, wire::ProtocolErrorCode code,
                           std::string_view message) override;
    void sendStateLost(std::string_view identity, uint64_t claimedIncarnation,
                       std::string_view message) override;

    void flush();
    uint64_t framesSent() const { return framesSent_; }
    uint64_t sendFailures() const { return sendFailures_; }

private:
    struct StagedResult {
        uint64_t clientTaskId;
        wire::TaskResultStatus status;
        uint32_t payloadOffset, payloadSize, errorOffset, errorSize;
        TaskTimings timings;
    };
    struct StagedCancel {
        uint64_t handle;
        bool force;
    };
    struct StagedConfirm {
        uint64_t clientTaskId;
        wire::CancelConfirmKind kind;
    };
    struct PeerQueue {
        std::string identity;
        bool dirty = false;
        std::vector<uint64_t> tasks;
        size_t taskBytes = 0;  // function names and payloads of `tasks`
        std::vector<StagedCancel> cancels;
        std::vector<StagedResult> results;
        std::string resultBytes;  // payloads and errors of `results`, back to back
        std::vector<StagedConfirm> confirms;
    };

    PeerQueue& stage(PeerId peer);
    void flushPeer(PeerQueue& queue);
    void sendFrame(std::string_view identity, capnp::MessageBuilder& builder);

    zmq::socket_t& router_;
    uint64_t maxMessageBytes_;
    uint64_t incarnation_;
    TaskTable* tasks_ = nullptr;
    std::vector<PeerQueue> peers_;
    std::vector<std::pair<uint64_t, const TaskRecord*>> taskScratch_;  // flush: staged tasks still live
    std::vector<PeerId> dirtyPeers_;
    uint64_t framesSent_ = 0;
    uint64_t sendFailures_ = 0;
};

}  // namespace scaler::scheduler
