#include "scaler/adapters/worker_adapter_agent.h"

#include <algorithm>
#include <chrono>

#include <capnp/message.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "scaler/protocol/curve_socket.h"
#include "scaler/adapters/start_request.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/wire_bytes.h"

namespace scaler::adapters {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

WorkerAdapterAgent::WorkerAdapterAgent(WorkerAdapterSettings settings, WorkerGroupProvider& provider)
    : settings_(std::move(settings)), provider_(provider) {}

int WorkerAdapterAgent::run() {
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::routing_id, settings_.adapterId);
    dealer.set(zmq::sockopt::sndhwm, 0);
    dealer.set(zmq::sockopt::rcvhwm, 0);
    dealer.set(zmq::sockopt::linger, 0);
    applyCurveClient(dealer, settings_.curve);
    HandshakeWatch handshake(context, dealer, settings_.schedulerAddress);
    dealer.connect(settings_.schedulerAddress);
    FrameReader reader;

    const auto sendHeartbeat = [&] {
        capnp::MallocMessageBuilder builder;
        auto heartbeat = builder.initRoot<wire::Message>().initWorkerAdapterHeartbeat();
        heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
        heartbeat.setMaxWorkerGroups(settings_.maxWorkerGroups);
        heartbeat.setPriority(settings_.priority);
        heartbeat.setWorkersPerGroup(settings_.workersPerGroup);
        heartbeat.setKind(provider_.kind());
        capabilitiesToWire(settings_.capabilities,
                           heartbeat.initCapabilities(static_cast<unsigned>(settings_.capabilities.size())));
        const auto groups = provider_.inventory();
        auto list = heartbeat.initGroups(static_cast<unsigned>(groups.size()));
        for (unsigned i = 0; i < groups.size(); ++i) {
            list[i].setWorkerGroupId(groups[i].id);
            list[i].setState(groups[i].state);
            capabilitiesToWire(
                groups[i].capabilities,
                list[i].initCapabilities(static_cast<unsigned>(groups[i].capabilities.size())));
            auto ids = list[i].initWorkerIds(static_cast<unsigned>(groups[i].workerIds.size()));
            for (unsigned w = 0; w < groups[i].workerIds.size(); ++w) ids.set(w, groups[i].workerIds[w]);
        }
        (void)sendFrame(dealer, builder);
    };

    const auto handleCommand = [&](wire::WorkerAdapterCommand::Reader command) {
        CommandResult result;
        const bool start = command.getCommand() == wire::WorkerAdapterCommandType::START_WORKER_GROUP;
        if (start) {
            const CapabilityList requested = capabilitiesFromWire(command.getCapabilities());
            const auto groups = provider_.inventory();
            const auto inUse = std::count_if(groups.begin(), groups.end(), [](const GroupInventoryEntry& g) {
                return g.state != wire::WorkerGroupState::STOPPING;
            });
            if (auto refusal = refuseStart(settings_, static_cast<size_t>(inUse), requested)) {
                result = *refusal;
            } else {
                result = provider_.startGroup(grantedCapabilities(settings_.capabilities, requested));
            }
        } else {
            result = provider_.stopGroup(std::string(asStringView(command.getWorkerGroupId())));
            if (result.groupId.empty())
                result.groupId = std::string(asStringView(command.getWorkerGroupId()));
        }
        const bool ok = result.status == wire::WorkerAdapterCommandStatus::SUCCESS;
        spdlog::log(ok ? spdlog::level::info : spdlog::level::warn, "{} worker group '{}': {}{}",
                    start ? "start" : "shutdown", result.groupId, ok ? "done" : "refused",
                    result.message.empty() ? "" : " (" + result.message + ")");
        capnp::MallocMessageBuilder builder;
        auto response = builder.initRoot<wire::Message>().initWorkerAdapterCommandResponse();
        response.setRequestId(command.getRequestId());
        response.setCommand(command.getCommand());
        response.setStatus(result.status);
        response.setWorkerGroupId(result.groupId);
        auto ids = response.initWorkerIds(static_cast<unsigned>(result.workerIds.size()));
        for (unsigned i = 0; i < result.workerIds.size(); ++i) ids.set(i, result.workerIds[i]);
        capabilitiesToWire(result.capabilities,
                           response.initCapabilities(static_cast<unsigned>(result.capabilities.size())));
        response.setMessage(result.message);
        (void)sendFrame(dealer, builder);
    };

    spdlog::info("{} adapter '{}' serving {}: up to {} groups of {} workers, capabilities '{}'",
                 provider_.kind(), settings_.adapterId, settings_.schedulerAddress, settings_.maxWorkerGroups,
                 settings_.workersPerGroup, formatCapabilities(settings_.capabilities));
    sendHeartbeat();
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(settings_.heartbeatIntervalSeconds));
    auto nextHeartbeat = Clock::now() + interval;
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}};
    int exitCode = 0;
    while (!shutdownRequested()) {
        pollOrInterrupted(items, 1, std::chrono::milliseconds(100));
        receiveWaiting(
            dealer, reader,
            [&](wire::Message::Reader message) {
                if (message.which() == wire::Message::WORKER_ADAPTER_COMMAND) {
                    try {
                        handleCommand(message.getWorkerAdapterCommand());
                    } catch (const std::exception& e) {
                        spdlog::warn("could not carry out a command from the scheduler: {}", e.what());
                    }
                } else if (message.which() == wire::Message::PROTOCOL_ERROR) {
                    const auto protocolError = message.getProtocolError();
                    if (protocolError.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
                        sendHeartbeat();  // a restarted scheduler: register again with the inventory
                    } else {
                        spdlog::critical("scheduler refused this adapter: {}",
                                         protocolError.getMessage().cStr());
                        exitCode = 1;
                        requestShutdown();
                    }
                }
                return true;
            },
            [](const std::string& why) { spdlog::warn("dropped a message from the scheduler: {}", why); });
        provider_.poll();
        if (auto failure = handshake.takeFailure()) {
            spdlog::critical("{}; stopping", *failure);
            exitCode = 1;
            requestShutdown();
        }
        if (Clock::now() >= nextHeartbeat) {
            sendHeartbeat();
            nextHeartbeat = Clock::now() + interval;
        }
    }
    spdlog::info("adapter '{}' stopping its worker groups", settings_.adapterId);
    provider_.stopAll(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(settings_.exitGraceSeconds)));
    sendHeartbeat();  // the scheduler learns at once that the groups are gone
    dealer.set(zmq::sockopt::linger, 1000);
    return exitCode;
}

}  // namespace scaler::adapters
