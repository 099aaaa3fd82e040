#include "scaler/scheduler/server/batching_outbox.h"

#include "scaler/common/log.h"

#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/message_limits.h"
#include "scaler/protocol/result_parts.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/routing/task_arguments.h"
#include "scaler/scheduler/scaling/scaling_controller.h"

namespace scaler::scheduler {
namespace {
// Past these a batch is sent at once, bounding frame size and the receiver's per-frame work.
constexpr size_t kMaxItemsPerFrame = 4096;
// Payload bytes after which a peer's frame is sent at once: frames stay far below every message limit.
constexpr size_t kMaxBytesPerFrame = 8u << 20;
}  // namespace

void BatchingOutbox::peerRegistered(PeerId peer, const std::string& identity) {
    if (peer >= peers_.size()) peers_.resize(peer + 1);
    peers_[peer] = PeerQueue{};
    peers_[peer].identity = identity;
}

void BatchingOutbox::peerReleased(PeerId peer) {
    // what was staged for a leaving peer still goes out (e.g. a DisconnectResponse's predecessors)
    if (peer < peers_.size() && peers_[peer].dirty) flushPeer(peers_[peer]);
}

BatchingOutbox::PeerQueue& BatchingOutbox::stage(PeerId peer) {
    PeerQueue& queue = peers_[peer];
    if (!queue.dirty) {
        queue.dirty = true;
        dirtyPeers_.push_back(peer);
    }
    return queue;
}

void BatchingOutbox::sendTask(PeerId worker, uint64_t taskHandle, size_t bytes) {
    PeerQueue& queue = stage(worker);
    queue.tasks.push_back(taskHandle);
    queue.taskBytes += bytes;
    if (queue.tasks.size() >= kMaxItemsPerFrame || queue.taskBytes >= kMaxBytesPerFrame) flushPeer(queue);
}

void BatchingOutbox::sendTaskCancel(PeerId worker, uint64_t taskHandle, bool force) {
    stage(worker).cancels.push_back({taskHandle, force});
}

void BatchingOutbox::sendTaskResult(PeerId client, uint64_t clientTaskId, wire::TaskResultStatus status,
                                    std::string_view payload, std::string_view error,
                                    const TaskTimings& timings) {
    PeerQueue& queue = stage(client);
    if (payload.size() > kResultPartBytes && status == wire::TaskResultStatus::SUCCESS) {
        flushPeer(queue);  // what was staged before it goes first
        sendResultInParts(clientTaskId, status, payload, kResultPartBytes,
                          {timings.durationUs, timings.cpuTimeUs, timings.peakRssBytes},
                          [&](capnp::MessageBuilder& builder) { sendFrame(queue.identity, builder); });
        return;
    }
    StagedResult staged{clientTaskId,
                        status,
                        0,
                        static_cast<uint32_t>(payload.size()),
                        0,
                        static_cast<uint32_t>(error.size()),
                        timings};
    staged.payloadOffset = static_cast<uint32_t>(queue.resultBytes.size());
    queue.resultBytes.append(payload);
    staged.errorOffset = static_cast<uint32_t>(queue.resultBytes.size());
    queue.resultBytes.append(error);
    queue.results.push_back(staged);
    if (queue.results.size() >= kMaxItemsPerFrame || queue.resultBytes.size() >= kMaxBytesPerFrame) {
        flushPeer(queue);
    }
}

void BatchingOutbox::sendTaskCancelConfirm(PeerId client, uint64_t clientTaskId,
                                           wire::CancelConfirmKind kind) {
    stage(client).confirms.push_back({clientTaskId, kind});
}

void BatchingOutbox::flush() {
    for (PeerId peer : dirtyPeers_) {
        if (peers_[peer].dirty) flushPeer(peers_[peer]);
    }
    dirtyPeers_.clear();
}

namespace {
void setArguments(wire::Task::Builder task, std::string_view encoded) {
    unsigned count = 0;
    forEachArgument(encoded, [&count](const EncodedArgument&) { ++count; });
    auto args = task.initArgs(count);
    unsigned i = 0;
    forEachArgument(encoded, [&](const EncodedArgument& argument) {
        auto arg = args[i++];
        if (argument.kind == EncodedArgument::Kind::object) {
            arg.setObject(argument.handle);
            arg.setObjectSize(argument.size);
        } else {
            arg.setData(asData(argument.bytes));
        }
    });
}
}  // namespace

void BatchingOutbox::flushPeer(PeerQueue& queue) {
    // tasks that ended before the flush are not sent; each is looked up once
    taskScratch_.clear();
    for (uint64_t handle : queue.tasks) {
        if (const TaskRecord* record = tasks_->find(handle)) taskScratch_.emplace_back(handle, record);
    }
    if (!taskScratch_.empty()) {
        capnp::MallocMessageBuilder builder;
        auto list = builder.initRoot<wire::Message>().initTasks(static_cast<unsigned>(taskScratch_.size()));
        for (unsigned i = 0; i < taskScratch_.size(); ++i) {
            const auto& [handle, record] = taskScratch_[i];
            auto task = list[i];
            task.setTaskId(handle);
            const std::string_view function = record->functionName();
            copyText(task.initFunctionName(static_cast<unsigned>(function.size())), function);
            if (record->hasArguments) {
                setArguments(task, record->payload());
            } else {
                task.setPayload(asData(record->payload()));
            }
            task.setTimeoutMs(record->timeoutMs);
            task.setProfiling(record->profiling);
        }
        sendFrame(queue.identity, builder);
    }
    queue.tasks.clear();
    queue.taskBytes = 0;
    if (!queue.cancels.empty()) {
        capnp::MallocMessageBuilder builder;
        auto list =
            builder.initRoot<wire::Message>().initTaskCancels(static_cast<unsigned>(queue.cancels.size()));
        for (unsigned i = 0; i < queue.cancels.size(); ++i) {
            list[i].setTaskId(queue.cancels[i].handle);
            list[i].setForce(queue.cancels[i].force);
        }
        sendFrame(queue.identity, builder);
        queue.cancels.clear();
    }
    if (!queue.results.empty()) {
        capnp::MallocMessageBuilder builder;
        auto list =
            builder.initRoot<wire::Message>().initTaskResults(static_cast<unsigned>(queue.results.size()));
        const std::string_view bytes = queue.resultBytes;
        for (unsigned i = 0; i < queue.results.size(); ++i) {
            const StagedResult& r = queue.results[i];
            list[i].setTaskId(r.clientTaskId);
            list[i].setStatus(r.status);
            list[i].setPayload(asData(bytes.substr(r.payloadOffset, r.payloadSize)));
            const std::string_view error = bytes.substr(r.errorOffset, r.errorSize);
            copyText(list[i].initError(static_cast<unsigned>(error.size())), error);
            list[i].setDurationUs(r.timings.durationUs);
            list[i].setCpuTimeUs(r.timings.cpuTimeUs);
            list[i].setPeakRssBytes(r.timings.peakRssBytes);
        }
        sendFrame(queue.identity, builder);
        queue.results.clear();
        queue.resultBytes.clear();
    }
    if (!queue.confirms.empty()) {
        capnp::MallocMessageBuilder builder;
        auto list = builder.initRoot<wire::Message>().initTaskCancelConfirms(
            static_cast<unsigned>(queue.confirms.size()));
        for (unsigned i = 0; i < queue.confirms.size(); ++i) {
            list[i].setTaskId(queue.confirms[i].clientTaskId);
            list[i].setKind(queue.confirms[i].kind);
        }
        sendFrame(queue.identity, builder);
        queue.confirms.clear();
    }
    queue.dirty = false;
}

void BatchingOutbox::sendFrame(std::string_view identity, capnp::MessageBuilder& builder) {
    zmq::message_t frame = encodeFrame(builder);
    try {
        router_.send(zmq::buffer(identity.data(), identity.size()), zmq::send_flags::sndmore);
        router_.send(frame, zmq::send_flags::none);
        ++framesSent_;
    } catch (const zmq::error_t& e) {
        // ROUTER_MANDATORY: the peer is gone; its liveness timeout does the cleanup
        ++sendFailures_;
        log::transport().debug("cannot send to '{}': {}", identity, e.what());
    }
}

namespace {
// Client and worker echoes carry the same fields.
template <typename EchoBuilder>
void fillEcho(EchoBuilder echo, uint64_t maxMessageBytes, uint64_t incarnation) {
    echo.setProtocolVersion(wire::PROTOCOL_VERSION);
    echo.setMaxMessageBytes(maxMessageBytes);
    echo.setSchedulerIncarnation(incarnation);
}
}  // namespace

void BatchingOutbox::sendWorkerHeartbeatEcho(PeerId worker) {
    capnp::MallocMessageBuilder builder;
    fillEcho(builder.initRoot<wire::Message>().initWorkerHeartbeatEcho(), maxMessageBytes_, incarnation_);
    sendFrame(peers_[worker].identity, builder);
}

void BatchingOutbox::sendDisconnectResponse(PeerId worker) {
    if (peers_[worker].dirty) flushPeer(peers_[worker]);
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initDisconnectResponse();
    sendFrame(peers_[worker].identity, builder);
}

void BatchingOutbox::sendSchedulerShutdown(PeerId worker) {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().setSchedulerShutdown();
    sendFrame(peers_[worker].identity, builder);
}

void BatchingOutbox::sendSchedulerStopping(PeerId peer, std::string_view why) {
    if (peers_[peer].dirty) flushPeer(peers_[peer]);  // what it was owed goes first
    capnp::MallocMessageBuilder builder;
    copyText(builder.initRoot<wire::Message>().initSchedulerStopping(static_cast<unsigned>(why.size())), why);
    sendFrame(peers_[peer].identity, builder);
}

void BatchingOutbox::sendClientHeartbeatEcho(PeerId client, const ClientShare& share) {
    capnp::MallocMessageBuilder builder;
    auto echo = builder.initRoot<wire::Message>().initClientHeartbeatEcho();
    fillEcho(echo, maxMessageBytes_, incarnation_);
    echo.setClientTaskShare(share.tasks);
    echo.setClientByteShare(share.bytes);
    sendFrame(peers_[client].identity, builder);
}

void BatchingOutbox::sendObjectPutAck(PeerId client, uint64_t objectId, uint64_t receivedBytes,
                                      std::string_view error) {
    capnp::MallocMessageBuilder builder;
    auto ack = builder.initRoot<wire::Message>().initObjectPutAck();
    ack.setObjectId(objectId);
    ack.setReceivedBytes(receivedBytes);
    copyText(ack.initError(static_cast<unsigned>(error.size())), error);
    sendFrame(peers_[client].identity, builder);
}

void BatchingOutbox::sendObjectChunk(PeerId worker, uint64_t handle, uint64_t totalSize, uint64_t offset,
                                     std::string_view bytes, std::string_view error) {
    capnp::MallocMessageBuilder builder;
    auto chunk = builder.initRoot<wire::Message>().initObjectChunk();
    chunk.setObjectId(handle);
    chunk.setTotalSize(totalSize);
    chunk.setOffset(offset);
    // referenced, not copied, into the builder: the only copy is into the frame (never an empty segment,
    // which would make a frame the receiver refuses)
    if (!bytes.empty()) {
        chunk.adoptData(builder.getOrphanage().referenceExternalData(
            capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size())));
    }
    copyText(chunk.initError(static_cast<unsigned>(error.size())), error);
    sendFrame(peers_[worker].identity, builder);
}

void BatchingOutbox::sendClientShutdownResponse(PeerId client, bool accepted) {
    if (peers_[client].dirty) flushPeer(peers_[client]);
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initClientShutdownResponse().setAccepted(accepted);
    sendFrame(peers_[client].identity, builder);
}

void BatchingOutbox::sendAdapterHeartbeatEcho(PeerId adapter) {
    capnp::MallocMessageBuilder builder;
    auto echo = builder.initRoot<wire::Message>().initWorkerAdapterHeartbeatEcho();
    echo.setProtocolVersion(wire::PROTOCOL_VERSION);
    echo.setSchedulerIncarnation(incarnation_);
    sendFrame(peers_[adapter].identity, builder);
}

void BatchingOutbox::sendAdapterCommand(PeerId adapter, uint64_t requestId,
                                        wire::WorkerAdapterCommandType command,
                                        std::string_view workerGroupId, const CapabilityList& capabilities) {
    capnp::MallocMessageBuilder builder;
    auto message = builder.initRoot<wire::Message>().initWorkerAdapterCommand();
    message.setRequestId(requestId);
    message.setCommand(command);
    copyText(message.initWorkerGroupId(static_cast<unsigned>(workerGroupId.size())), workerGroupId);
    capabilitiesToWire(capabilities, message.initCapabilities(static_cast<unsigned>(capabilities.size())));
    // the edge reads the wall clock: the scheduler gives up on an unanswered command after kCommandTimeout
    const auto wallNow = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    message.setDeadlineUnixMs(static_cast<uint64_t>((wallNow + ScalingController::kCommandTimeout).count()));
    sendFrame(peers_[adapter].identity, builder);
}

void BatchingOutbox::sendProtocolError(std::string_view identity, wire::ProtocolErrorCode code,
                                       std::string_view message) {
    capnp::MallocMessageBuilder builder;
    auto error = builder.initRoot<wire::Message>().initProtocolError();
    error.setCode(code);
    copyText(error.initMessage(static_cast<unsigned>(message.size())), message);
    error.setSchedulerProtocolVersion(wire::PROTOCOL_VERSION);
    error.setSchedulerIncarnation(incarnation_);
    sendFrame(identity, builder);
}

void BatchingOutbox::sendStateLost(std::string_view identity, uint64_t claimedIncarnation,
                                   std::string_view message) {
    capnp::MallocMessageBuilder builder;
    auto error = builder.initRoot<wire::Message>().initProtocolError();
    error.setCode(wire::ProtocolErrorCode::STATE_LOST);
    copyText(error.initMessage(static_cast<unsigned>(message.size())), message);
    error.setSchedulerProtocolVersion(wire::PROTOCOL_VERSION);
    error.setSchedulerIncarnation(incarnation_);
    error.setClaimedIncarnation(claimedIncarnation);
    sendFrame(identity, builder);
}

}  // namespace scaler::scheduler
