#include "client_session.h"

#include <algorithm>

#include <capnp/message.h>

#include "scaler/protocol/message_limits.h"
#include "scaler/protocol/wire_bytes.h"

namespace scaler::detail {
namespace {

ClientSession::Clock::duration seconds(double s) {
    return std::chrono::duration_cast<ClientSession::Clock::duration>(std::chrono::duration<double>(s));
}

Outcome outcomeOf(wire::TaskResultStatus status) {
    switch (status) {
        case wire::TaskResultStatus::SUCCESS:
            return Outcome::success;
        case wire::TaskResultStatus::WORKER_DIED:
            return Outcome::workerDied;
        case wire::TaskResultStatus::TIMED_OUT:
            return Outcome::timedOut;
        case wire::TaskResultStatus::REJECTED:
            return Outcome::rejected;
        default:
            return Outcome::failed;
    }
}

// How long a shutdown request waits for the scheduler's answer at most.
constexpr double kShutdownAnswerSeconds = 10;

void toWire(const Submission& s, wire::Task::Builder task) {
    task.setTaskId(s.state->id);
    task.setFunctionName(s.function);
    if (s.hasArguments) {
        auto args = task.initArgs(static_cast<unsigned>(s.arguments.size()));
        for (unsigned i = 0; i < s.arguments.size(); ++i) {
            const SubmissionArgument& argument = s.arguments[i];
            switch (argument.kind) {
                case SubmissionArgument::Kind::bytes:
                    args[i].setData(asData(argument.bytes));
                    break;
                case SubmissionArgument::Kind::object:
                    args[i].setObject(argument.id);
                    break;
                case SubmissionArgument::Kind::node:
                    args[i].setNode(argument.id);
                    break;
            }
        }
    } else {
        task.setPayload(asData(s.payload));
    }
    capabilitiesToWire(s.capabilities, task.initCapabilities(static_cast<unsigned>(s.capabilities.size())));
    task.setTimeoutMs(s.timeoutMs);
    task.setPriority(s.priority);
    task.setProfiling(s.profiling);
    task.setResultObjectId(s.resultObjectId);
}

}  // namespace

ClientSession::ClientSession(FrameSink& out, const ClientOptions& options, std::string address, TimePoint now,
                             std::atomic<size_t>& pendingCount, std::atomic<uint64_t>& unmatchedResults)
    : out_(out),
      options_(options),
      address_(std::move(address)),
      pendingCount_(pendingCount),
      unmatchedResults_(unmatchedResults),
      lastHeard_(now) {}

void ClientSession::start(TimePoint now) {
    sendHeartbeat(now);
}

std::chrono::milliseconds ClientSession::waitBudget(TimePoint now) const {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(nextHeartbeat_ - now);
    if (!deadlines_.empty()) {
        wait = std::min(wait,
                        std::chrono::duration_cast<std::chrono::milliseconds>(deadlines_.top().first - now));
    }
    return std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
}

void ClientSession::sendHeartbeat(TimePoint now) {
    capnp::MallocMessageBuilder builder;
    auto heartbeat = builder.initRoot<wire::Message>().initClientHeartbeat();
    heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
    resourceToWire(sampler_.sample(), heartbeat.initResource());
    heartbeat.setLatencyUs(latencyUs_);
    (void)out_.send(builder);
    lastHeartbeat_ = now;
    nextHeartbeat_ = now + seconds(options_.heartbeatIntervalSeconds);
}

void ClientSession::finish(uint64_t id, Outcome outcome, std::string payload, std::string message,
                           ResultTimings timings) {
    auto it = pending_.find(id);
    if (it == pending_.end()) {
        ++unmatchedResults_;
        return;
    }
    auto state = std::move(it->second);
    pending_.erase(it);
    --pendingCount_;
    state->complete(outcome, std::move(payload), std::move(message), timings);
}

void ClientSession::failAll(Outcome outcome, const std::string& message) {
    uploader_.failAll(message);
    auto all = std::move(pending_);
    pending_.clear();
    pendingCount_ -= all.size();
    for (auto& [id, state] : all) state->complete(outcome, {}, message);
}

void ClientSession::submit(std::vector<Submission>& batch, TimePoint now) {
    const size_t frameBytes = batchBudget(schedulerMessageLimit_);
    for (size_t start = 0, count = 0; start < batch.size(); start += count) {
        // as many as fit the frame's budget, at least one (the client checked it fits a message alone)
        size_t bytes = 0;
        for (count = 0; start + count < batch.size() && count < kMaxTasksPerFrame; ++count) {
            const Submission& s = batch[start + count];
            bytes += s.payload.size() + s.function.size();
            for (const SubmissionArgument& argument : s.arguments) bytes += argument.bytes.size() + 16;
            if (count > 0 && bytes > frameBytes) break;
        }
        capnp::MallocMessageBuilder builder;
        auto list = builder.initRoot<wire::Message>().initTasks(static_cast<unsigned>(count));
        for (size_t i = 0; i < count; ++i) {
            Submission& s = batch[start + i];
            toWire(s, list[static_cast<unsigned>(i)]);
            awaitResult(s, now);
        }
        (void)out_.send(builder);
    }
}

void ClientSession::awaitResult(const Submission& s, TimePoint now) {
    pending_.emplace(s.state->id, s.state);
    if (s.timeoutMs > 0) deadlines_.emplace(now + std::chrono::milliseconds(s.timeoutMs), s.state->id);
}

void ClientSession::submitGraph(GraphSubmission& graph, TimePoint now) {
    capnp::MallocMessageBuilder builder;
    auto message = builder.initRoot<wire::Message>().initTaskGraph();
    auto nodes = message.initNodes(static_cast<unsigned>(graph.nodes.size()));
    for (unsigned i = 0; i < graph.nodes.size(); ++i) toWire(graph.nodes[i], nodes[i]);
    auto outputs = message.initOutputs(static_cast<unsigned>(graph.outputs.size()));
    std::unordered_map<uint64_t, const Submission*> byId;
    for (const Submission& node : graph.nodes) byId.emplace(node.state->id, &node);
    for (unsigned i = 0; i < graph.outputs.size(); ++i) {
        outputs.set(i, graph.outputs[i]);
        if (auto found = byId.find(graph.outputs[i]); found != byId.end()) awaitResult(*found->second, now);
    }
    if (!out_.send(builder)) {
        for (uint64_t id : graph.outputs)
            finish(id, Outcome::unreachable, {}, "the scheduler is not reachable");
    }
}

void ClientSession::upload(ObjectUpload upload) {
    uploader_.add(std::move(upload));
    uploader_.pump(schedulerMessageLimit_);
}

void ClientSession::deleteObjects(const std::vector<uint64_t>& ids, bool all) {
    if (ids.empty() && !all) return;
    capnp::MallocMessageBuilder builder;
    auto request = builder.initRoot<wire::Message>().initObjectDelete();
    auto list = request.initObjectIds(static_cast<unsigned>(ids.size()));
    for (unsigned i = 0; i < ids.size(); ++i) list.set(i, ids[i]);
    request.setAll(all);
    (void)out_.send(builder);
}

void ClientSession::cancel(const std::vector<uint64_t>& taskIds) {
    if (taskIds.empty()) return;
    capnp::MallocMessageBuilder builder;
    auto list = builder.initRoot<wire::Message>().initTaskCancels(static_cast<unsigned>(taskIds.size()));
    for (unsigned i = 0; i < taskIds.size(); ++i) {
        list[i].setTaskId(taskIds[i]);
        list[i].setForce(true);
    }
    (void)out_.send(builder);
}

void ClientSession::refuse(const std::string& why) {
    if (!refusal_.empty()) return;
    refusal_ = why;
    failAll(Outcome::unreachable, why);
}

void ClientSession::onResults(wire::Message::Reader message) {
    for (auto result : message.getTaskResults()) {
        finish(result.getTaskId(), outcomeOf(result.getStatus()),
               std::string(asStringView(result.getPayload())), std::string(asStringView(result.getError())),
               {result.getDurationUs(), result.getCpuTimeUs(), result.getPeakRssBytes()});
    }
}

void ClientSession::onCancelConfirms(wire::Message::Reader message) {
    for (auto confirm : message.getTaskCancelConfirms()) {
        if (confirm.getKind() != wire::CancelConfirmKind::CANCEL_FAILED) {
            finish(confirm.getTaskId(), Outcome::cancelled, {}, "task cancelled");
            continue;
        }
        auto it = pending_.find(confirm.getTaskId());
        if (it == pending_.end()) continue;
        {
            std::lock_guard lock(it->second->mutex);
            ++it->second->cancelFailedAnswers;
        }
        it->second->changed.notify_all();
    }
}

void ClientSession::onProtocolError(wire::ProtocolError::Reader error, TimePoint now) {
    if (error.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
        // the scheduler restarted or timed us out: whatever it held for us is gone
        if (registered_)
            failAll(Outcome::unreachable, "the scheduler lost this client's tasks (restarted or timed out)");
        registered_ = false;
        sendHeartbeat(now);
        return;
    }
    refuse("scheduler refused this client: " + std::string(error.getMessage().cStr()));
}

void ClientSession::onMessage(wire::Message::Reader message, TimePoint now) {
    lastHeard_ = now;
    unreachableReported_ = false;
    switch (message.which()) {
        case wire::Message::TASK_RESULTS:
            return onResults(message);
        case wire::Message::TASK_CANCEL_CONFIRMS:
            return onCancelConfirms(message);
        case wire::Message::CLIENT_HEARTBEAT_ECHO:
            latencyUs_ = static_cast<uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - lastHeartbeat_).count() / 2);
            schedulerMessageLimit_ = message.getClientHeartbeatEcho().getMaxMessageBytes();
            registered_ = true;
            connected_ = true;
            uploader_.pump(schedulerMessageLimit_);
            return;
        case wire::Message::SCHEDULER_STOPPING:
            // it forgets our tasks: fail them now, and register again with whichever scheduler answers next
            failAll(Outcome::unreachable,
                    std::string(message.getSchedulerStopping().cStr()) + "; this task was not finished");
            registered_ = false;
            return;
        case wire::Message::OBJECT_PUT_ACK:
            uploader_.onAck(message.getObjectPutAck());
            uploader_.pump(schedulerMessageLimit_);
            return;
        case wire::Message::CLIENT_SHUTDOWN_RESPONSE:
            shutdownAnswer_ = message.getClientShutdownResponse().getAccepted();
            return;
        case wire::Message::PROTOCOL_ERROR:
            return onProtocolError(message.getProtocolError(), now);
        default:
            return;
    }
}

void ClientSession::onTick(TimePoint now) {
    while (!deadlines_.empty() && deadlines_.top().first <= now) {
        const uint64_t id = deadlines_.top().second;
        deadlines_.pop();
        if (pending_.count(id) == 0) continue;
        cancel({id});
        finish(id, Outcome::timedOut, {}, "task did not finish within its timeout");
    }
    if (now >= nextHeartbeat_) sendHeartbeat(now);
    if (!unreachableReported_ && now - lastHeard_ > seconds(options_.timeoutSeconds)) {
        unreachableReported_ = true;
        failAll(Outcome::unreachable, "no answer from the scheduler at " + address_ + " for " +
                                          std::to_string(options_.timeoutSeconds) + " s");
    }
}

void ClientSession::beginClose(CloseRequest how, TimePoint now) {
    if (closing_ != CloseRequest::none || how == CloseRequest::none) return;
    closing_ = how;
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initClientDisconnect().setKind(
        how == CloseRequest::shutdown ? wire::ClientDisconnectKind::SHUTDOWN
                                      : wire::ClientDisconnectKind::DISCONNECT);
    (void)out_.send(builder);
    closeDeadline_ = now + (how == CloseRequest::shutdown
                                ? seconds(std::min(options_.timeoutSeconds, kShutdownAnswerSeconds))
                                : Clock::duration::zero());
}

bool ClientSession::closeFinished(TimePoint now) const {
    if (closing_ == CloseRequest::none) return false;
    return closing_ == CloseRequest::disconnect || shutdownAnswer_.has_value() || now >= closeDeadline_;
}

}  // namespace scaler::detail
