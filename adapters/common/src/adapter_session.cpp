#include "scaler/adapters/adapter_session.h"

#include <algorithm>

#include <capnp/message.h>

#include "scaler/adapters/start_request.h"
#include "scaler/common/log.h"
#include "scaler/protocol/wire_bytes.h"

namespace scaler::adapters {

AdapterSession::AdapterSession(const WorkerAdapterSettings& settings, WorkerGroupProvider& provider,
                               FrameSink& out)
    : settings_(settings), provider_(provider), out_(out) {}

AdapterSession::Clock::duration AdapterSession::heartbeatInterval() const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(settings_.heartbeatIntervalSeconds));
}

void AdapterSession::start(TimePoint now) {
    log::adapter().info("{} adapter '{}' serving {}: up to {} groups of {} workers, capabilities '{}'",
                        provider_.kind(), settings_.adapterId, settings_.schedulerAddress,
                        settings_.maxWorkerGroups, settings_.workersPerGroup,
                        formatCapabilities(settings_.capabilities));
    sendHeartbeat();
    nextHeartbeat_ = now + heartbeatInterval();
}

void AdapterSession::sendHeartbeat() {
    capnp::MallocMessageBuilder builder;
    auto heartbeat = builder.initRoot<wire::Message>().initWorkerAdapterHeartbeat();
    heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
    heartbeat.setMaxWorkerGroups(settings_.maxWorkerGroups);
    heartbeat.setPriority(settings_.priority);
    heartbeat.setBilling(settings_.billing);
    heartbeat.setWorkersPerGroup(settings_.workersPerGroup);
    heartbeat.setKind(provider_.kind());
    registration_.stamp(heartbeat);
    capabilitiesToWire(settings_.capabilities,
                       heartbeat.initCapabilities(static_cast<unsigned>(settings_.capabilities.size())));
    const auto groups = provider_.inventory();
    auto list = heartbeat.initGroups(static_cast<unsigned>(groups.size()));
    for (unsigned i = 0; i < groups.size(); ++i) {
        list[i].setWorkerGroupId(groups[i].id);
        list[i].setState(groups[i].state);
        capabilitiesToWire(groups[i].capabilities,
                           list[i].initCapabilities(static_cast<unsigned>(groups[i].capabilities.size())));
        auto ids = list[i].initWorkerIds(static_cast<unsigned>(groups[i].workerIds.size()));
        for (unsigned w = 0; w < groups[i].workerIds.size(); ++w) ids.set(w, groups[i].workerIds[w]);
        if (!groups[i].message.empty()) list[i].setMessage(groups[i].message);
    }
    (void)out_.send(builder);
}

CommandResult AdapterSession::carryOut(wire::WorkerAdapterCommand::Reader command, TimePoint now) {
    if (command.getCommand() == wire::WorkerAdapterCommandType::START_WORKER_GROUP) {
        if (stopDeadline_) return launchFailed("the adapter is exiting");
        const CapabilityList requested = capabilitiesFromWire(command.getCapabilities());
        const auto groups = provider_.inventory();
        const auto inUse = std::count_if(groups.begin(), groups.end(), [](const GroupInventoryEntry& g) {
            return g.state != wire::WorkerGroupState::STOPPING && g.state != wire::WorkerGroupState::FAILED;
        });
        if (auto refusal = refuseStart(settings_, static_cast<size_t>(inUse), requested)) return *refusal;
        return provider_.startGroup(grantedCapabilities(settings_.capabilities, requested), now);
    }
    CommandResult result = provider_.stopGroup(std::string(asStringView(command.getWorkerGroupId())), now);
    if (result.groupId.empty()) result.groupId = std::string(asStringView(command.getWorkerGroupId()));
    return result;
}

void AdapterSession::onCommand(wire::WorkerAdapterCommand::Reader command, TimePoint now,
                               uint64_t nowUnixMs) {
    CommandResult result;
    const uint64_t deadline = command.getDeadlineUnixMs();
    if (deadline != 0 && nowUnixMs > deadline) {
        // a partition delayed it past the point where the scheduler gave up: starting a group now would leak
        // it
        result.status = wire::WorkerAdapterCommandStatus::EXPIRED;
        result.groupId = std::string(asStringView(command.getWorkerGroupId()));
        result.message =
            "received " + std::to_string((nowUnixMs - deadline) / 1000) +
            " s after its deadline (a partition delayed it, or this host's clock is ahead of the "
            "scheduler's); not carried out";
    } else {
        result = carryOut(command, now);
    }
    const bool ok = result.status == wire::WorkerAdapterCommandStatus::SUCCESS;
    const bool start = command.getCommand() == wire::WorkerAdapterCommandType::START_WORKER_GROUP;
    log::adapter().log(ok ? spdlog::level::info : spdlog::level::warn, "{} worker group '{}': {}{}",
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
    (void)out_.send(builder);
}

void AdapterSession::onMessage(wire::Message::Reader message, TimePoint now, uint64_t nowUnixMs) {
    if (message.which() == wire::Message::WORKER_ADAPTER_COMMAND) {
        try {
            onCommand(message.getWorkerAdapterCommand(), now, nowUnixMs);
        } catch (const std::exception& e) {
            log::adapter().warn("could not carry out a command from the scheduler: {}", e.what());
        }
    } else if (message.which() == wire::Message::WORKER_ADAPTER_HEARTBEAT_ECHO) {
        registration_.echoed(message.getWorkerAdapterHeartbeatEcho().getSchedulerIncarnation());
    } else if (message.which() == wire::Message::PROTOCOL_ERROR) {
        const auto protocolError = message.getProtocolError();
        if (protocolError.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
            // a restarted scheduler: register again with the inventory, once for a burst of such answers
            if (registration_.heartbeatForNotRegistered(now)) sendHeartbeat();
        } else if (protocolError.getCode() == wire::ProtocolErrorCode::STATE_LOST) {
            // Only the inventory matters to a new scheduler, and every heartbeat carries it; answers to
            // commands of the old one that are still on their way are refused as unregistered.
            if (!registration_.lostUs(protocolError)) return;
            log::adapter().info("{}: registering again with the inventory",
                                protocolError.getMessage().cStr());
            registration_.startAfresh(protocolError.getSchedulerIncarnation());
            sendHeartbeat();
        } else {
            log::adapter().critical("scheduler refused this adapter: {}", protocolError.getMessage().cStr());
            exitCode_ = 1;
            stopRequested_ = true;
        }
    }
}

void AdapterSession::onHandshakeFailure(const HandshakeFailure& failure, TimePoint now) {
    if (!failure.certain) {
        if (handshakeWarnings_.admit("handshake", now))
            log::adapter().warn("{}; still trying", failure.message);
        return;
    }
    log::adapter().critical("{}; stopping", failure.message);
    exitCode_ = 1;
    stopRequested_ = true;
}

void AdapterSession::onTick(TimePoint now) {
    provider_.poll(now);
    if (now < nextHeartbeat_) return;
    sendHeartbeat();
    nextHeartbeat_ = now + heartbeatInterval();
}

void AdapterSession::beginStop(TimePoint now) {
    if (stopDeadline_) return;
    log::adapter().info("adapter '{}' stopping its worker groups", settings_.adapterId);
    stopDeadline_ = now + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(settings_.exitGraceSeconds));
    provider_.beginStopAll(now);
}

bool AdapterSession::stopFinished(TimePoint now) {
    provider_.poll(now);
    const bool allGone = provider_.inventory().empty();
    if (!allGone && now < *stopDeadline_) return false;
    if (!allGone) {
        log::adapter().warn("worker groups still running after the exit grace of {} s; ending them by force",
                            settings_.exitGraceSeconds);
        provider_.forceStopAll();
    }
    sendHeartbeat();  // the scheduler learns at once that the groups are gone
    return true;
}

}  // namespace scaler::adapters
