#include "client_session.h"

#include <algorithm>
#include <unordered_set>

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
                             SubmissionWindow& window, std::atomic<uint64_t>& unmatchedResults)
    : out_(out),
      options_(options),
      address_(std::move(address)),
      window_(window),
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
    registration_.stamp(heartbeat);
    (void)out_.send(builder);
    lastHeartbeat_ = now;
    const double interval =
        pending_.empty() ? std::max(options_.idleHeartbeatIntervalSeconds, options_.heartbeatIntervalSeconds)
                         : options_.heartbeatIntervalSeconds;
    nextHeartbeat_ = now + seconds(interval);
}

void ClientSession::finish(uint64_t id, Outcome outcome, ResultStream result, std::string message,
                           ResultTimings timings) {
    if (!resultParts_.empty()) resultParts_.erase(id);  // a cancel or failure ends what was arriving
    auto it = pending_.find(id);
    if (it == pending_.end()) {
        ++unmatchedResults_;
        return;
    }
    auto extracted = pending_.extract(it);  // no move of the kept submission
    PendingTask& task = extracted.mapped();
    window_.release(1, task.submission.shareBytes);
    if (task.graph != 0) {
        auto graph = graphs_.find(task.graph);
        if (graph != graphs_.end() && --graph->second.outputsLeft == 0) {
            for (const Submission& node : graph->second.graph.nodes) holdObjects(node, -1);
            graphs_.erase(graph);
        }
    } else {
        holdObjects(task.submission, -1);
    }
    task.submission.state->complete(outcome, std::move(result), std::move(message), timings);
}

void ClientSession::failAll(Outcome outcome, const std::string& message) {
    uploader_.failAll(message);
    forgetRefusedObjects();
    auto all = std::move(pending_);
    pending_.clear();
    uint64_t bytes = 0;
    for (const auto& [id, task] : all) bytes += task.submission.shareBytes;
    window_.release(all.size(), bytes);
    for (auto& [id, graph] : graphs_) {
        for (const Submission& node : graph.graph.nodes) holdObjects(node, -1);
    }
    graphs_.clear();
    for (auto& [id, task] : all) {
        if (task.graph == 0) holdObjects(task.submission, -1);
        task.submission.state->complete(outcome, {}, message);
    }
}

void ClientSession::holdObjects(const Submission& submission, int delta) {
    if (!submission.hasArguments) return;
    for (const SubmissionArgument& argument : submission.arguments) {
        if (argument.kind != SubmissionArgument::Kind::object) continue;
        auto it = objects_.find(argument.id);
        if (it == objects_.end()) continue;  // a kept result: the scheduler's own
        it->second.heldByTasks += delta;
        if (it->second.deleted && it->second.heldByTasks == 0) objects_.erase(it);
    }
}

void ClientSession::sendTasks(const std::vector<const Submission*>& tasks) {
    const size_t frameBytes = batchBudget(schedulerMessageLimit_);
    for (size_t start = 0, count = 0; start < tasks.size(); start += count) {
        // as many as fit the frame's budget, at least one (the client checked it fits a message alone)
        size_t bytes = 0;
        for (count = 0; start + count < tasks.size() && count < kMaxTasksPerFrame; ++count) {
            const Submission& s = *tasks[start + count];
            bytes += s.payload.size() + s.function.size();
            for (const SubmissionArgument& argument : s.arguments) bytes += argument.bytes.size() + 16;
            if (count > 0 && bytes > frameBytes) break;
        }
        capnp::MallocMessageBuilder builder;
        auto list = builder.initRoot<wire::Message>().initTasks(static_cast<unsigned>(count));
        for (size_t i = 0; i < count; ++i) toWire(*tasks[start + i], list[static_cast<unsigned>(i)]);
        (void)out_.send(builder);
    }
}

void ClientSession::submit(std::vector<Submission>& batch, TimePoint now) {
    if (!resending_) {  // while resending, they go with the rest once the objects are back
        std::vector<const Submission*> tasks;
        tasks.reserve(batch.size());
        for (const Submission& s : batch) tasks.push_back(&s);
        sendTasks(tasks);
    }
    for (Submission& s : batch) {
        holdObjects(s, +1);
        awaitResult(std::move(s), now);
    }
}

void ClientSession::awaitResult(Submission&& s, TimePoint now) {
    const uint64_t id = s.state->id;
    nextHeartbeat_ = std::min(nextHeartbeat_, now + seconds(options_.heartbeatIntervalSeconds));
    if (s.timeoutMs > 0) deadlines_.emplace(now + std::chrono::milliseconds(s.timeoutMs), id);
    if (unreachableReported_) lateTasks_.emplace_back(now + seconds(options_.timeoutSeconds), id);
    pending_.try_emplace(id).first->second.submission = std::move(s);
}

void ClientSession::sendGraph(const GraphSubmission& graph, const std::vector<uint64_t>& outputs) {
    capnp::MallocMessageBuilder builder;
    auto message = builder.initRoot<wire::Message>().initTaskGraph();
    auto nodes = message.initNodes(static_cast<unsigned>(graph.nodes.size()));
    for (unsigned i = 0; i < graph.nodes.size(); ++i) toWire(graph.nodes[i], nodes[i]);
    auto list = message.initOutputs(static_cast<unsigned>(outputs.size()));
    for (unsigned i = 0; i < outputs.size(); ++i) list.set(i, outputs[i]);
    if (!out_.send(builder)) {
        // a copy: finishing the last output forgets the graph, and `outputs` may be its own list
        const std::vector<uint64_t> failed = outputs;  // NOLINT(performance-unnecessary-copy-initialization)
        for (uint64_t id : failed) finish(id, Outcome::unreachable, {}, "the scheduler is not reachable");
    }
}

void ClientSession::submitGraph(GraphSubmission& graph, TimePoint now) {
    const uint64_t serial = nextGraph_++;
    size_t outputs = 0;
    const std::unordered_set<uint64_t> wanted(graph.outputs.begin(), graph.outputs.end());
    for (const Submission& node : graph.nodes) {
        holdObjects(node, +1);
        if (wanted.count(node.state->id) == 0) continue;
        Submission output;
        output.state = node.state;
        output.timeoutMs = node.timeoutMs;
        awaitResult(std::move(output), now);
        pending_[node.state->id].graph = serial;
        ++outputs;
    }
    auto& kept = graphs_[serial];
    kept.graph = std::move(graph);
    kept.outputsLeft = outputs;
    if (outputs == 0) {
        for (const Submission& node : kept.graph.nodes) holdObjects(node, -1);
        graphs_.erase(serial);
        return;
    }
    if (!resending_) sendGraph(kept.graph, kept.graph.outputs);
}

void ClientSession::upload(ObjectUpload upload, TimePoint now) {
    if (unreachableReported_) lateUploads_.emplace_back(now + seconds(options_.timeoutSeconds), upload.id);
    objects_[upload.id] = LiveObject{upload};
    uploader_.add(std::move(upload));
    uploader_.pump(schedulerMessageLimit_);
}

void ClientSession::forgetRefusedObjects() {
    for (uint64_t id : uploader_.takeRefused()) objects_.erase(id);
}

void ClientSession::startAfresh(uint64_t incarnation, TimePoint now) {
    resultParts_.clear();  // the tasks are sent again; their results start again
    registration_.startAfresh(incarnation);
    registered_ = false;
    ++resends_;
    sendHeartbeat(now);  // what follows it is taken as new
    std::vector<ObjectUpload> live;
    live.reserve(objects_.size());
    for (const auto& [id, object] : objects_) live.push_back(object.upload);
    uploader_.restart(std::move(live));
    resending_ = true;
    uploader_.pump(schedulerMessageLimit_);
    resendIfReady();
}

void ClientSession::resendIfReady() {
    if (!resending_ || !uploader_.idle()) return;
    resending_ = false;
    // in submission order (ids grow), so first in stays first out among equal priorities
    std::vector<const Submission*> tasks;
    std::vector<uint64_t> graphSerials;
    for (const auto& [id, task] : pending_) {
        if (task.graph == 0) tasks.push_back(&task.submission);
    }
    std::sort(tasks.begin(), tasks.end(),
              [](const Submission* a, const Submission* b) { return a->state->id < b->state->id; });
    sendTasks(tasks);
    for (const auto& [serial, graph] : graphs_) graphSerials.push_back(serial);
    std::sort(graphSerials.begin(), graphSerials.end());
    for (uint64_t serial : graphSerials) {
        auto graph = graphs_.find(serial);
        if (graph == graphs_.end()) continue;  // failed to send: its outputs finished
        std::vector<uint64_t> outputs;
        for (uint64_t id : graph->second.graph.outputs) {
            auto it = pending_.find(id);
            if (it != pending_.end() && it->second.graph == serial) outputs.push_back(id);
        }
        sendGraph(graph->second.graph, outputs);
    }
}

void ClientSession::deleteObjects(const std::vector<uint64_t>& ids, bool all) {
    if (ids.empty() && !all) return;
    const auto forget = [this](std::map<uint64_t, LiveObject>::iterator it) {
        if (it->second.heldByTasks > 0) {
            it->second.deleted = true;  // unfinished tasks use it: a restarted scheduler needs it again
            return std::next(it);
        }
        return objects_.erase(it);
    };
    if (all) {
        for (auto it = objects_.begin(); it != objects_.end();) it = forget(it);
    }
    for (uint64_t id : ids) {
        if (auto it = objects_.find(id); it != objects_.end()) forget(it);
    }
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
        ResultStream payload;
        if (result.getTotalSize() > 0) {
            if (!collectResultPart(result, payload)) continue;
        } else {
            payload = ResultStream(std::string(asStringView(result.getPayload())));
        }
        finish(result.getTaskId(), outcomeOf(result.getStatus()), std::move(payload),
               std::string(asStringView(result.getError())),
               {result.getDurationUs(), result.getCpuTimeUs(), result.getPeakRssBytes()});
    }
}

bool ClientSession::collectResultPart(wire::TaskResult::Reader part, ResultStream& whole) {
    const uint64_t id = part.getTaskId();
    if (pending_.find(id) == pending_.end()) {
        resultParts_.erase(id);
        ++unmatchedResults_;
        return false;
    }
    ArrivingResult& arriving = resultParts_[id];
    const auto data = asStringView(part.getPayload());
    if (part.getOffset() != arriving.received || data.size() > part.getTotalSize() - arriving.received) {
        // a part went missing (a connection lost mid-result): fail the task rather than wait for ever
        resultParts_.erase(id);
        finish(id, outcomeOf(wire::TaskResultStatus::FAILED), {},
               "the result's parts arrived out of order (offset " + std::to_string(part.getOffset()) + ")");
        return false;
    }
    // The part stays in the frame it came in (no copy: the I/O thread keeps pace with the socket, so ZeroMQ
    // does not queue hundreds of megabytes ahead of it) unless the frame was read through a copy.
    std::shared_ptr<const zmq::message_t> frame = keepFrame_ ? keepFrame_() : nullptr;
    const bool inFrame = frame != nullptr && data.data() >= frame->data<char>() &&
                         data.data() + data.size() <= frame->data<char>() + frame->size();
    if (inFrame) {
        arriving.parts.push_back({std::move(frame), data});
    } else {
        auto copy = std::make_shared<const std::string>(data);
        const std::string_view view(*copy);
        arriving.parts.push_back({std::move(copy), view});
    }
    arriving.received += data.size();
    if (arriving.received < part.getTotalSize()) return false;
    whole = ResultStream(std::move(arriving.parts));
    resultParts_.erase(id);
    return true;
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
            std::lock_guard lock(it->second.submission.state->mutex);
            ++it->second.submission.state->cancelFailedAnswers;
        }
        it->second.submission.state->changed.notify_all();
    }
}

void ClientSession::onProtocolError(wire::ProtocolError::Reader error, TimePoint now) {
    if (error.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
        // The scheduler does not know us: it restarted (a heartbeat brings stateLost, and the resend), or
        // this answers a message sent before we started afresh. At most one heartbeat per 100 ms for a
        // burst of such answers.
        if (registration_.heartbeatForNotRegistered(now)) sendHeartbeat(now);
        return;
    }
    if (error.getCode() == wire::ProtocolErrorCode::STATE_LOST) {
        // an answer to a heartbeat from before we last started afresh says nothing new
        if (registration_.lostUs(error)) startAfresh(error.getSchedulerIncarnation(), now);
        return;
    }
    refuse("scheduler refused this client: " + std::string(error.getMessage().cStr()));
}

void ClientSession::onMessage(wire::Message::Reader message, TimePoint now) {
    lastHeard_ = now;
    unreachableReported_ = false;
    lateTasks_.clear();  // heard from: the resend path or the normal timeout take them from here
    lateUploads_.clear();
    switch (message.which()) {
        case wire::Message::TASK_RESULTS:
            return onResults(message);
        case wire::Message::TASK_CANCEL_CONFIRMS:
            return onCancelConfirms(message);
        case wire::Message::CLIENT_HEARTBEAT_ECHO:
            latencyUs_ = static_cast<uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - lastHeartbeat_).count() / 2);
            schedulerMessageLimit_ = message.getClientHeartbeatEcho().getMaxMessageBytes();
            window_.setShares(message.getClientHeartbeatEcho().getClientTaskShare(),
                              message.getClientHeartbeatEcho().getClientByteShare());
            registration_.echoed(message.getClientHeartbeatEcho().getSchedulerIncarnation());
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
            forgetRefusedObjects();
            resendIfReady();
            return;
        case wire::Message::CLIENT_SHUTDOWN_RESPONSE:
            shutdownAnswer_ = message.getClientShutdownResponse().getAccepted();
            ++shutdownAnswers_;
            return;
        case wire::Message::PROTOCOL_ERROR:
            return onProtocolError(message.getProtocolError(), now);
        default:
            return;
    }
}

void ClientSession::onTick(TimePoint now) {
    forgetRefusedObjects();
    resendIfReady();
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
        failAll(Outcome::unreachable, unreachableMessage());
    }
    if (unreachableReported_) failLateWork(now);
}

std::string ClientSession::unreachableMessage() const {
    return "no answer from the scheduler at " + address_ + " for " + secondsText(options_.timeoutSeconds) +
           " s";
}

void ClientSession::failLateWork(TimePoint now) {
    while (!lateTasks_.empty() && lateTasks_.front().first <= now) {
        const uint64_t id = lateTasks_.front().second;
        lateTasks_.pop_front();
        if (pending_.count(id) != 0) finish(id, Outcome::unreachable, {}, unreachableMessage());
    }
    while (!lateUploads_.empty() && lateUploads_.front().first <= now) {
        const uint64_t id = lateUploads_.front().second;
        lateUploads_.pop_front();
        uploader_.fail(id, unreachableMessage());  // the caller is told; the object is forgotten
    }
}

void ClientSession::requestShutdown() {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initClientDisconnect().setKind(wire::ClientDisconnectKind::SHUTDOWN);
    (void)out_.send(builder);
}

void ClientSession::beginClose(CloseRequest how) {
    if (closing_ != CloseRequest::none || how == CloseRequest::none) return;
    closing_ = how;
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initClientDisconnect().setKind(wire::ClientDisconnectKind::DISCONNECT);
    (void)out_.send(builder);
}

bool ClientSession::closeFinished() const {
    return closing_ != CloseRequest::none;
}

}  // namespace scaler::detail
