#include "scaler/worker/worker_agent.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

#include <capnp/message.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "scaler/protocol/curve_socket.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/identity.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/worker/task_executor.h"

namespace scaler::worker {
namespace {

using Clock = std::chrono::steady_clock;

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::string hostName() {
    char buffer[256] = {};
    gethostname(buffer, sizeof buffer - 1);
    return buffer;
}

// Replaces this process with a fresh copy of itself (same pid, same flags); never returns.
[[noreturn]] void restartProcess(const std::vector<std::string>& command) {
    spdlog::info("restarting: exec of {}", command.front());
    spdlog::default_logger()->flush();
    std::vector<char*> argv;
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    spdlog::critical("could not restart: exec failed: {}", std::strerror(errno));
    spdlog::default_logger()->flush();
    std::_Exit(1);
}

}  // namespace

WorkerAgent::WorkerAgent(WorkerConfig config, const FunctionRegistry& registry)
    : config_(std::move(config)), registry_(registry) {
    identity_ = !config_.identity.empty()
                    ? config_.identity
                    : makeIdentity("Worker", config_.name.empty() ? hostName() : config_.name);
}

int WorkerAgent::run() {
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::routing_id, identity_);
    dealer.set(zmq::sockopt::sndhwm, 0);
    dealer.set(zmq::sockopt::rcvhwm, 0);
    dealer.set(zmq::sockopt::linger, 0);
    applyCurveClient(dealer, config_.curve);
    HandshakeWatch handshake(context, dealer, config_.schedulerAddress);
    dealer.connect(config_.schedulerAddress);

    TaskExecutor executor(registry_);
    FrameReader reader;
    ProcessResourceSampler sampler;
    const std::string hostname = hostName();
    std::set<uint64_t> cancelsAwaitingOutcome;  // forced cancels of the running task
    std::vector<std::pair<uint64_t, wire::CancelConfirmKind>> confirms;

    enum class Phase { serving, draining, leaving, done };
    Phase phase = Phase::serving;
    int exitCode = 0;
    bool restartAfterLeaving = false;
    std::optional<uint64_t> abandonedTask;  // its late outcome, if the function ever returns, is not sent
    Clock::time_point drainDeadline{}, leaveDeadline{};
    Clock::time_point lastEcho = Clock::now();
    Clock::time_point lastHeartbeatSent{};
    uint32_t latencyUs = 0;

    const auto sendHeartbeat = [&] {
        capnp::MallocMessageBuilder builder;
        auto heartbeat = builder.initRoot<wire::Message>().initWorkerHeartbeat();
        heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
        resourceToWire(sampler.sample(), heartbeat.initResource());
        heartbeat.setQueueSize(config_.queueSize);
        heartbeat.setQueuedTasks(static_cast<uint32_t>(executor.queued()));
        heartbeat.setRunningTasks(executor.running() ? 1 : 0);
        heartbeat.setCompletedTasks(executor.completed());
        capabilitiesToWire(config_.capabilities,
                           heartbeat.initCapabilities(static_cast<unsigned>(config_.capabilities.size())));
        heartbeat.setLatencyUs(latencyUs);
        heartbeat.setAdapterId(config_.adapterId);
        heartbeat.setWorkerGroupId(config_.workerGroupId);
        heartbeat.setPid(static_cast<uint32_t>(getpid()));
        heartbeat.setHostname(hostname);
        (void)sendFrame(dealer, builder);
        lastHeartbeatSent = Clock::now();
    };

    const auto flushOutcomes = [&] {
        std::vector<ExecutorOutcome> outcomes = executor.takeOutcomes();
        size_t results = 0;
        std::erase_if(outcomes, [&](const ExecutorOutcome& o) { return o.handle == abandonedTask; });
        for (const auto& outcome : outcomes) {
            if (outcome.kind == ExecutorOutcome::Kind::result) {
                ++results;
                cancelsAwaitingOutcome.erase(outcome.handle);  // the result overtook the cancel
            } else if (cancelsAwaitingOutcome.erase(outcome.handle) > 0) {
                confirms.emplace_back(outcome.handle, wire::CancelConfirmKind::CANCELLED);
            }
            // an interrupted task nobody cancelled (shutdown) is returned by the disconnect instead
        }
        if (results > 0) {
            capnp::MallocMessageBuilder builder;
            auto list = builder.initRoot<wire::Message>().initTaskResults(static_cast<unsigned>(results));
            unsigned i = 0;
            for (const auto& outcome : outcomes) {
                if (outcome.kind != ExecutorOutcome::Kind::result) continue;
                auto result = list[i++];
                result.setTaskId(outcome.handle);
                result.setStatus(outcome.status);
                result.setPayload(asData(outcome.payload));
                result.setError(outcome.error);
                result.setDurationUs(outcome.durationUs);
            }
            (void)sendFrame(dealer, builder);
        }
        if (!confirms.empty()) {
            capnp::MallocMessageBuilder builder;
            auto list = builder.initRoot<wire::Message>().initTaskCancelConfirms(
                static_cast<unsigned>(confirms.size()));
            for (unsigned i = 0; i < confirms.size(); ++i) {
                list[i].setTaskId(confirms[i].first);
                list[i].setKind(confirms[i].second);
            }
            (void)sendFrame(dealer, builder);
            confirms.clear();
        }
    };

    const auto sendDisconnect = [&](Clock::time_point now) {
        capnp::MallocMessageBuilder builder;
        builder.initRoot<wire::Message>().initDisconnectRequest();
        (void)sendFrame(dealer, builder);
        phase = Phase::leaving;
        leaveDeadline = now + std::chrono::seconds(2);
    };

    // The executor thread is stuck in a function that ignores interruption: report the task, hand the
    // queue back and replace this process, so the worker serves again with a free thread.
    const auto abandonHungTask = [&](const HungTask& hung, Clock::time_point now) {
        abandonedTask = hung.handle;
        if (hung.timedOut) {
            const std::string error = "task exceeded its timeout of " + std::to_string(hung.timeoutMs) +
                                      " ms and ignored interruption; its worker restarted";
            capnp::MallocMessageBuilder builder;
            auto result = builder.initRoot<wire::Message>().initTaskResults(1)[0];
            result.setTaskId(hung.handle);
            result.setStatus(wire::TaskResultStatus::TIMED_OUT);
            result.setError(error);
            (void)sendFrame(dealer, builder);
        } else if (cancelsAwaitingOutcome.erase(hung.handle) > 0) {
            confirms.emplace_back(hung.handle, wire::CancelConfirmKind::CANCELLED);
            flushOutcomes();
        }
        const size_t returned = executor.dropQueued();
        spdlog::error(
            "task {} {} and ignored interruption for {} s; abandoning it, returning {} queued tasks and "
            "restarting this worker",
            hung.handle, hung.timedOut ? "ran past its timeout" : "was cancelled",
            config_.hungTaskGraceSeconds, returned);
        restartAfterLeaving = !config_.restartCommand.empty();
        sendDisconnect(now);
    };

    const auto handleMessage = [&](wire::Message::Reader message) {
        switch (message.which()) {
            case wire::Message::TASKS: {
                if (phase != Phase::serving) return;  // the disconnect hands these back
                std::vector<ExecutorTask> tasks;
                tasks.reserve(message.getTasks().size());
                for (auto task : message.getTasks()) {
                    tasks.push_back({task.getTaskId(), std::string(asStringView(task.getFunctionName())),
                                     std::string(asStringView(task.getPayload())), task.getTimeoutMs()});
                }
                executor.submit(std::move(tasks));
                return;
            }
            case wire::Message::TASK_CANCELS:
                for (auto cancel : message.getTaskCancels()) {
                    switch (executor.cancel(cancel.getTaskId(), cancel.getForce())) {
                        case TaskExecutor::CancelAnswer::cancelled:
                            confirms.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::CANCELLED);
                            break;
                        case TaskExecutor::CancelAnswer::cancelFailed:
                            confirms.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::CANCEL_FAILED);
                            break;
                        case TaskExecutor::CancelAnswer::notFound:
                            confirms.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::NOT_FOUND);
                            break;
                        case TaskExecutor::CancelAnswer::pending:
                            cancelsAwaitingOutcome.insert(cancel.getTaskId());
                            break;
                    }
                }
                return;
            case wire::Message::WORKER_HEARTBEAT_ECHO: {
                const auto now = Clock::now();
                lastEcho = now;
                latencyUs = static_cast<uint32_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(now - lastHeartbeatSent).count() /
                    2);
                return;
            }
            case wire::Message::SCHEDULER_SHUTDOWN:
                spdlog::info("scheduler is shutting down the cluster; exiting");
                phase = Phase::done;
                return;
            case wire::Message::DISCONNECT_RESPONSE:
                phase = Phase::done;
                return;
            case wire::Message::PROTOCOL_ERROR: {
                const auto error = message.getProtocolError();
                if (error.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
                    // The scheduler restarted and does not know us: register again. Not while leaving: a
                    // late confirmation answered after our disconnect would re-register a worker that is
                    // about to exit, and tasks given to it would wait for the worker timeout.
                    if (phase == Phase::serving) sendHeartbeat();
                    return;
                }
                spdlog::critical("scheduler refused this worker: {}", error.getMessage().cStr());
                exitCode = 1;
                phase = Phase::done;
                return;
            }
            default:
                spdlog::warn("ignored an unexpected message type {} from the scheduler",
                             static_cast<int>(message.which()));
        }
    };

    spdlog::info("worker '{}' connecting to {}: capabilities '{}', queue size {}, functions: {}", identity_,
                 config_.schedulerAddress, formatCapabilities(config_.capabilities), config_.queueSize, [&] {
                     std::string names;
                     for (const auto& n : registry_.names()) names += (names.empty() ? "" : ", ") + n;
                     return names;
                 }());
    sendHeartbeat();
    auto nextHeartbeat = Clock::now() + seconds(config_.heartbeatIntervalSeconds);
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, executor.notifyFd(), ZMQ_POLLIN, 0}};
    while (phase != Phase::done) {
        const auto now = Clock::now();
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(nextHeartbeat - now);
        wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
        pollOrInterrupted(items, 2, wait);
        receiveWaiting(
            dealer, reader,
            [&](wire::Message::Reader message) {
                handleMessage(message);
                return phase != Phase::done;
            },
            [](const std::string& why) { spdlog::warn("dropped a message from the scheduler: {}", why); });
        flushOutcomes();
        if (auto failure = handshake.takeFailure()) {
            spdlog::critical("{}; exiting", *failure);
            exitCode = 1;
            break;
        }

        const auto after = Clock::now();
        if (phase == Phase::serving) {
            if (auto hung = executor.hungTask(after, seconds(config_.hungTaskGraceSeconds))) {
                abandonHungTask(*hung, after);
            }
        }
        if (after >= nextHeartbeat && (phase == Phase::serving || phase == Phase::draining)) {
            // Sent every period, echo or not: one lost echo must not silence us. Never after the disconnect
            // request, even in the iteration that got its response: it would register this worker again.
            sendHeartbeat();
            nextHeartbeat = after + seconds(config_.heartbeatIntervalSeconds);
        }
        if (after - lastEcho > seconds(config_.deathTimeoutSeconds)) {
            spdlog::error("no answer from the scheduler at {} for {} s; exiting", config_.schedulerAddress,
                          config_.deathTimeoutSeconds);
            exitCode = 1;
            break;
        }
        if (shutdownRequested() && phase == Phase::serving) {
            const size_t dropped = executor.dropQueued();
            spdlog::info("shutting down: returning {} queued tasks; waiting up to {} s for the running one",
                         dropped, config_.shutdownGraceSeconds);
            phase = Phase::draining;
            drainDeadline = after + seconds(config_.shutdownGraceSeconds);
        }
        if (phase == Phase::draining && (!executor.running() || after >= drainDeadline)) {
            if (executor.running()) {
                spdlog::warn("the running task did not finish within the grace period; returning it");
                executor.interruptRunning();
            }
            flushOutcomes();
            sendDisconnect(after);
        }
        if (phase == Phase::leaving && after >= leaveDeadline) {
            spdlog::warn("no disconnect response from the scheduler; exiting anyway");
            break;
        }
    }
    executor.interruptRunning();
    dealer.close();
    handshake.close();
    context.close();
    if (restartAfterLeaving) restartProcess(config_.restartCommand);
    // A function that ignores interruption would block the executor's join forever; leave without it.
    for (int i = 0; i < 50 && executor.running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (executor.running()) {
        spdlog::warn("a task function ignored the stop request; exiting without waiting for it");
        spdlog::default_logger()->flush();
        std::_Exit(exitCode);
    }
    spdlog::info("worker '{}' exiting", identity_);
    return exitCode;
}

}  // namespace scaler::worker
