#include "scaler/worker/worker_session.h"

#include <algorithm>
#include <cstring>

#include <capnp/message.h>

#include "scaler/common/log.h"
#include "scaler/protocol/message_limits.h"
#include "scaler/protocol/result_parts.h"
#include "scaler/protocol/wire_bytes.h"

namespace scaler::worker {
namespace {

WorkerSession::Clock::duration seconds(double s) {
    return std::chrono::duration_cast<WorkerSession::Clock::duration>(std::chrono::duration<double>(s));
}

// How long a leaving worker waits for the scheduler to acknowledge its disconnect.
constexpr auto kLeaveTimeout = std::chrono::seconds(2);
// Object fetches: bytes per request, and requests in flight per object.
constexpr uint64_t kFetchChunkBytes = 8u << 20;
constexpr uint64_t kFetchChunksAhead = 4;

}  // namespace

WorkerSession::WorkerSession(const WorkerConfig& config, std::string identity, TaskExecution& executor,
                             FrameSink& out, std::string hostname, uint32_t pid, TimePoint now)
    : config_(config),
      identity_(std::move(identity)),
      executor_(executor),
      out_(out),
      hostname_(std::move(hostname)),
      pid_(pid),
      lastEcho_(now),
      nextHeartbeat_(now),
      batching_(std::chrono::microseconds(config.resultBatchMicroseconds)),
      cache_(config.objectCacheBytes > 0 ? config.objectCacheBytes : uint64_t{1} << 30) {}

void WorkerSession::start(TimePoint now) {
    std::string names;
    for (const auto& n : executor_.functionNames()) names += (names.empty() ? "" : ", ") + n;
    log::worker().info("worker '{}' connecting to {}: capabilities '{}', queue size {}, functions: {}",
                       identity_, config_.schedulerAddress, formatCapabilities(config_.capabilities),
                       config_.queueSize, names);
    sendHeartbeat(now);
}

std::chrono::microseconds WorkerSession::waitBudget(TimePoint now) const {
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(nextHeartbeat_ - now);
    if (holdingResults_)
        wait = std::min(wait,
                        std::chrono::duration_cast<std::chrono::microseconds>(batching_.releaseAt() - now));
    // at most 100 ms: hung tasks, shutdown signals and deadlines are checked on every turn
    return std::clamp(wait, std::chrono::microseconds(0), std::chrono::microseconds(100000));
}

void WorkerSession::sendHeartbeat(TimePoint now) {
    capnp::MallocMessageBuilder builder;
    auto heartbeat = builder.initRoot<wire::Message>().initWorkerHeartbeat();
    heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
    resourceToWire(sampler_.sample(), heartbeat.initResource());
    heartbeat.setQueueSize(config_.queueSize);
    heartbeat.setQueuedTasks(static_cast<uint32_t>(executor_.queued() + parked_.size()));
    heartbeat.setRunningTasks(static_cast<uint32_t>(executor_.runningCount()));
    heartbeat.setObjectsFetched(objectsFetched_);
    heartbeat.setObjectBytesFetched(objectBytesFetched_);
    heartbeat.setObjectCacheBytes(cache_.bytes());
    heartbeat.setCompletedTasks(executor_.completed());
    capabilitiesToWire(config_.capabilities,
                       heartbeat.initCapabilities(static_cast<unsigned>(config_.capabilities.size())));
    heartbeat.setLatencyUs(latencyUs_);
    heartbeat.setAdapterId(config_.adapterId);
    heartbeat.setWorkerGroupId(config_.workerGroupId);
    heartbeat.setPid(pid_);
    heartbeat.setHostname(hostname_);
    registration_.stamp(heartbeat);
    heartbeat.setMemoryLimitBytes(config_.memoryLimitBytes);
    (void)out_.send(builder);
    lastHeartbeatSent_ = now;
    nextHeartbeat_ = now + seconds(config_.heartbeatIntervalSeconds);
}

void WorkerSession::failIfTooLarge(ExecutorOutcome& result) const {
    // a large success result goes in parts (sendResultInParts); an error text is cut to fit
    if (result.status == wire::TaskResultStatus::SUCCESS) return;
    const uint64_t limit = messageLimit(schedulerMessageLimit_);
    if (result.error.size() + result.payload.size() + kEnvelopeBytes <= limit) return;
    result.payload.clear();
    if (result.error.size() + kEnvelopeBytes > limit) result.error.resize(limit / 2);
}

void WorkerSession::sendResultInParts(const ExecutorOutcome& outcome) {
    scaler::sendResultInParts(outcome.handle, outcome.status, outcome.payload,
                              resultPartBytes(schedulerMessageLimit_),
                              {outcome.durationUs, outcome.cpuTimeUs, outcome.peakRssBytes},
                              [this](capnp::MessageBuilder& builder) { (void)out_.send(builder); });
}

void WorkerSession::sendResults(std::vector<ExecutorOutcome>& results) {
    const size_t frameBytes = batchBudget(schedulerMessageLimit_);
    // the large ones first, each in parts of its own; the rest batched
    const auto large = [this](const ExecutorOutcome& o) {
        return o.status == wire::TaskResultStatus::SUCCESS &&
               !fitsInOneMessage(o.payload.size() + o.error.size(), schedulerMessageLimit_);
    };
    for (const ExecutorOutcome& outcome : results) {
        if (large(outcome)) sendResultInParts(outcome);
    }
    results.erase(std::remove_if(results.begin(), results.end(), large), results.end());
    for (size_t start = 0, count = 0; start < results.size(); start += count) {
        size_t bytes = 0;  // as many as fit the frame's budget, at least one
        for (count = 0; start + count < results.size(); ++count) {
            bytes += results[start + count].payload.size() + results[start + count].error.size();
            if (count > 0 && bytes > frameBytes) break;
        }
        capnp::MallocMessageBuilder builder;
        auto list = builder.initRoot<wire::Message>().initTaskResults(static_cast<unsigned>(count));
        for (unsigned i = 0; i < count; ++i) {
            const ExecutorOutcome& outcome = results[start + i];
            auto result = list[i];
            result.setTaskId(outcome.handle);
            result.setStatus(outcome.status);
            result.setPayload(asData(outcome.payload));
            result.setError(outcome.error);
            result.setDurationUs(outcome.durationUs);
            result.setCpuTimeUs(outcome.cpuTimeUs);
            result.setPeakRssBytes(outcome.peakRssBytes);
        }
        (void)out_.send(builder);
    }
}

void WorkerSession::sendWaitingChanges() {
    for (const auto& [handle, waiting] : executor_.takeWaitingChanges()) {
        capnp::MallocMessageBuilder builder;
        auto notice = builder.initRoot<wire::Message>().initTaskWaiting();
        notice.setTaskId(handle);
        notice.setWaiting(waiting);
        (void)out_.send(builder);
    }
}

void WorkerSession::flushOrHoldOutcomes(TimePoint now) {
    holdingResults_ = phase_ == Phase::serving && executor_.hasOutcomes() &&
                      batching_.hold(now, executor_.queued() + executor_.runningCount());
    if (!holdingResults_) flushOutcomes(now);
}

void WorkerSession::flushOutcomes(TimePoint now) {
    // outcomes first, then the waiting notices published before them, which must reach the scheduler first
    std::vector<ExecutorOutcome> outcomes = executor_.takeOutcomes();
    if (!outcomes.empty()) batching_.sent(now);
    sendWaitingChanges();
    std::vector<ExecutorOutcome> results;
    for (auto& outcome : outcomes) {
        if (outcome.handle == abandonedTask_) continue;
        if (outcome.kind == ExecutorOutcome::Kind::result) {
            batching_.finished(outcome.durationUs);
            cancelsAwaitingOutcome_.erase(outcome.handle);  // the result overtook the cancel
            failIfTooLarge(outcome);
            results.push_back(std::move(outcome));
        } else if (cancelsAwaitingOutcome_.erase(outcome.handle) > 0) {
            confirms_.emplace_back(outcome.handle, wire::CancelConfirmKind::CANCELLED);
        }
        // an interrupted task nobody cancelled (shutdown) is returned by the disconnect instead
    }
    if (!results.empty()) sendResults(results);
    if (!confirms_.empty()) {
        capnp::MallocMessageBuilder builder;
        auto list =
            builder.initRoot<wire::Message>().initTaskCancelConfirms(static_cast<unsigned>(confirms_.size()));
        for (unsigned i = 0; i < confirms_.size(); ++i) {
            list[i].setTaskId(confirms_[i].first);
            list[i].setKind(confirms_[i].second);
        }
        (void)out_.send(builder);
        confirms_.clear();
    }
}

void WorkerSession::sendDisconnect(TimePoint now) {
    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initDisconnectRequest();
    (void)out_.send(builder);
    phase_ = Phase::leaving;
    leaveDeadline_ = now + kLeaveTimeout;
}

// The executor thread is stuck in a function that ignores interruption: report the task, hand the queue
// back and leave, so the process can replace itself and serve again with a free thread.
void WorkerSession::abandonHungTask(const HungTask& hung, TimePoint now) {
    abandonedTask_ = hung.handle;
    if (hung.timedOut) {
        const std::string error = "task exceeded its timeout of " + std::to_string(hung.timeoutMs) +
                                  " ms and ignored interruption; its worker restarted";
        capnp::MallocMessageBuilder builder;
        auto result = builder.initRoot<wire::Message>().initTaskResults(1)[0];
        result.setTaskId(hung.handle);
        result.setStatus(wire::TaskResultStatus::TIMED_OUT);
        result.setError(error);
        (void)out_.send(builder);
    } else if (cancelsAwaitingOutcome_.erase(hung.handle) > 0) {
        confirms_.emplace_back(hung.handle, wire::CancelConfirmKind::CANCELLED);
        flushOutcomes(now);
    }
    const size_t returned = dropQueued();
    log::worker().error(
        "task {} {} and ignored interruption for {} s; abandoning it, returning {} queued tasks and "
        "restarting "
        "this worker",
        hung.handle, hung.timedOut ? "ran past its timeout" : "was cancelled", config_.hungTaskGraceSeconds,
        returned);
    restartAfterLeaving_ = !config_.restartCommand.empty();
    sendDisconnect(now);
}

void WorkerSession::onTasks(wire::Message::Reader message) {
    if (phase_ != Phase::serving) return;  // the disconnect hands these back
    if (rejoinAs_) return;                 // from the scheduler that forgot us
    std::vector<ExecutorTask> ready;
    ready.reserve(message.getTasks().size());
    for (auto task : message.getTasks()) {
        ExecutorTask t;
        t.handle = task.getTaskId();
        t.functionName = std::string(asStringView(task.getFunctionName()));
        t.payload = std::string(asStringView(task.getPayload()));
        t.timeoutMs = task.getTimeoutMs();
        t.profiling = task.getProfiling();
        if (!task.hasArgs()) {
            ready.push_back(std::move(t));
            continue;
        }
        t.hasArguments = true;
        Parked parked;
        for (auto arg : task.getArgs()) {
            ExecutorArgument argument;
            if (arg.which() == wire::TaskArgument::OBJECT && arg.getObjectSize() == 0) {
                argument.object = std::make_shared<const ObjectBytes>(0);  // nothing to fetch
            } else if (arg.which() == wire::TaskArgument::OBJECT) {
                argument.object = cache_.find(arg.getObject());
                if (!argument.object) {
                    parked.missing.emplace_back(t.arguments.size(), arg.getObject());
                    startFetch(arg.getObject(), arg.getObjectSize());
                }
            } else {
                argument.bytes = std::string(asStringView(arg.getData()));
            }
            t.arguments.push_back(std::move(argument));
        }
        if (parked.missing.empty()) {
            ready.push_back(std::move(t));
        } else {
            parked.task = std::move(t);
            parked_.push_back(std::move(parked));
        }
    }
    if (!ready.empty()) executor_.submit(std::move(ready));
}

void WorkerSession::startFetch(uint64_t handle, uint64_t size) {
    if (fetches_.count(handle) != 0) return;  // already coming: fetched once for every task that needs it
    fetches_[handle].bytes = std::make_shared<ObjectBytes>(size);
    requestMore(handle);
}

void WorkerSession::requestMore(uint64_t handle) {
    Fetch& fetch = fetches_[handle];
    const uint64_t size = fetch.bytes->size;
    while (fetch.requested < size &&
           fetch.requested - fetch.received < kFetchChunkBytes * kFetchChunksAhead) {
        const uint64_t length = std::min(kFetchChunkBytes, size - fetch.requested);
        capnp::MallocMessageBuilder builder;
        auto request = builder.initRoot<wire::Message>().initObjectRequest();
        request.setObjectId(handle);
        request.setOffset(fetch.requested);
        request.setLength(length);
        (void)out_.send(builder);
        fetch.requested += length;
    }
}

void WorkerSession::onObjectChunk(wire::ObjectChunk::Reader chunk) {
    const uint64_t handle = chunk.getObjectId();
    auto found = fetches_.find(handle);
    if (found == fetches_.end()) return;  // its tasks were cancelled or dropped
    if (chunk.getError().size() > 0) {
        const std::string why =
            "could not fetch object " + std::to_string(handle) + ": " + chunk.getError().cStr();
        fetches_.erase(found);
        return failParked(handle, why);
    }
    Fetch& fetch = found->second;
    const auto data = asStringView(chunk.getData());
    if (chunk.getOffset() + data.size() > fetch.bytes->size) {
        fetches_.erase(found);
        return failParked(handle, "object " + std::to_string(handle) + " arrived larger than announced");
    }
    std::memcpy(fetch.bytes->data() + chunk.getOffset(), data.data(), data.size());
    fetch.received += data.size();
    if (fetch.received >= fetch.bytes->size) return objectArrived(handle);
    requestMore(handle);
}

void WorkerSession::objectArrived(uint64_t handle) {
    auto found = fetches_.find(handle);
    if (found == fetches_.end()) return;
    std::shared_ptr<const ObjectBytes> object = std::move(found->second.bytes);
    fetches_.erase(found);
    ++objectsFetched_;
    objectBytesFetched_ += object->size;
    log::worker().debug("object {} fetched: {} bytes", handle, object->size);
    std::vector<ExecutorTask> ready;
    for (auto it = parked_.begin(); it != parked_.end();) {
        auto& missing = it->missing;
        for (auto m = missing.begin(); m != missing.end();) {
            if (m->second == handle) {
                it->task.arguments[m->first].object = object;
                m = missing.erase(m);
            } else {
                ++m;
            }
        }
        if (missing.empty()) {
            ready.push_back(std::move(it->task));
            it = parked_.erase(it);
        } else {
            ++it;
        }
    }
    cache_.insert(handle, std::move(object));
    if (!ready.empty()) executor_.submit(std::move(ready));
}

void WorkerSession::failParked(uint64_t handle, const std::string& why) {
    std::vector<ExecutorOutcome> failed;
    for (auto it = parked_.begin(); it != parked_.end();) {
        const bool needs = std::any_of(it->missing.begin(), it->missing.end(),
                                       [&](const auto& m) { return m.second == handle; });
        if (!needs) {
            ++it;
            continue;
        }
        ExecutorOutcome outcome;
        outcome.handle = it->task.handle;
        outcome.status = wire::TaskResultStatus::FAILED;
        outcome.error = why;
        failed.push_back(std::move(outcome));
        it = parked_.erase(it);
    }
    log::worker().warn("{}; failing {} tasks", why, failed.size());
    if (!failed.empty()) sendResults(failed);
}

size_t WorkerSession::dropQueued() {
    const size_t parked = parked_.size();
    parked_.clear();
    fetches_.clear();
    return executor_.dropQueued() + parked;
}

void WorkerSession::onCancels(wire::Message::Reader message) {
    for (auto cancel : message.getTaskCancels()) {
        const auto parked = std::find_if(parked_.begin(), parked_.end(), [&](const Parked& p) {
            return p.task.handle == cancel.getTaskId();
        });
        if (parked != parked_.end()) {
            parked_.erase(parked);  // an object still on its way is kept for the cache
            confirms_.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::CANCELLED);
            continue;
        }
        switch (executor_.cancel(cancel.getTaskId(), cancel.getForce())) {
            case TaskExecution::CancelAnswer::cancelled:
                confirms_.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::CANCELLED);
                break;
            case TaskExecution::CancelAnswer::cancelFailed:
                confirms_.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::CANCEL_FAILED);
                break;
            case TaskExecution::CancelAnswer::notFound:
                confirms_.emplace_back(cancel.getTaskId(), wire::CancelConfirmKind::NOT_FOUND);
                break;
            case TaskExecution::CancelAnswer::pending:
                cancelsAwaitingOutcome_.insert(cancel.getTaskId());
                break;
        }
    }
}

void WorkerSession::onProtocolError(wire::ProtocolError::Reader error, TimePoint now) {
    if (error.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
        // The scheduler does not know us (it restarted, or answers a message from before we started
        // afresh): a heartbeat sorts it out, at most one per 100 ms for a burst of such answers. Not while
        // leaving: a late confirmation answered after our disconnect would re-register a worker that is
        // about to exit, and tasks given to it would wait for the worker timeout.
        if (phase_ == Phase::serving && !rejoinAs_ && registration_.heartbeatForNotRegistered(now))
            sendHeartbeat(now);
        return;
    }
    if (error.getCode() == wire::ProtocolErrorCode::STATE_LOST) {
        lastEcho_ = now;  // a scheduler answers
        // an answer to a heartbeat from before we last started afresh says nothing new
        if (!registration_.lostUs(error) || rejoinAs_ || phase_ != Phase::serving) return;
        log::worker().warn("{}: dropping every task held for it", error.getMessage().cStr());
        startAfresh(error.getSchedulerIncarnation());
        rejoinIfIdle(now);
        return;
    }
    log::worker().critical("scheduler refused this worker: {}", error.getMessage().cStr());
    finish(1);
}

void WorkerSession::startAfresh(uint64_t incarnation) {
    // Clients resend what they are still owed, so these tasks run again anyway: dropping them is what
    // keeps them from running twice; the running ones are asked to stop and their results are discarded.
    const size_t dropped = dropQueued();
    if (executor_.running()) executor_.interruptRunning();
    cancelsAwaitingOutcome_.clear();
    confirms_.clear();
    rejoinAs_ = incarnation;
    log::worker().info("dropped {} queued tasks{}; registering again once idle", dropped,
                       executor_.running() ? ", stopping the running ones" : "");
}

void WorkerSession::rejoinIfIdle(TimePoint now) {
    if (!rejoinAs_ || executor_.running()) return;
    (void)executor_.takeOutcomes();  // results for a scheduler that no longer holds those tasks
    (void)executor_.takeWaitingChanges();
    registration_.startAfresh(*rejoinAs_);
    rejoinAs_.reset();
    sendHeartbeat(now);
}

void WorkerSession::onMessage(wire::Message::Reader message, TimePoint now) {
    switch (message.which()) {
        case wire::Message::TASKS:
            return onTasks(message);
        case wire::Message::TASK_CANCELS:
            return onCancels(message);
        case wire::Message::WORKER_HEARTBEAT_ECHO:
            lastEcho_ = now;
            latencyUs_ = static_cast<uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - lastHeartbeatSent_).count() / 2);
            schedulerMessageLimit_ = message.getWorkerHeartbeatEcho().getMaxMessageBytes();
            if (!rejoinAs_) {
                registration_.echoed(message.getWorkerHeartbeatEcho().getSchedulerIncarnation());
            }
            return;
        case wire::Message::OBJECT_CHUNK:
            return onObjectChunk(message.getObjectChunk());
        case wire::Message::SCHEDULER_STOPPING:
            // it forgets its tasks: nobody will take these results; the same as a scheduler that lost our
            // state, and the next scheduler registers us afresh
            log::worker().warn("{}; waiting for a scheduler", message.getSchedulerStopping().cStr());
            if (phase_ != Phase::serving || rejoinAs_) return;
            startAfresh(registration_.incarnation());
            return rejoinIfIdle(now);
        case wire::Message::SCHEDULER_SHUTDOWN:
            log::worker().info("scheduler is shutting down the cluster; exiting");
            return finish(exitCode_);
        case wire::Message::DISCONNECT_RESPONSE:
            return finish(exitCode_);
        case wire::Message::PROTOCOL_ERROR:
            return onProtocolError(message.getProtocolError(), now);
        default:
            log::worker().warn("ignored an unexpected message type {} from the scheduler",
                               static_cast<int>(message.which()));
    }
}

void WorkerSession::onHandshakeFailure(const HandshakeFailure& failure, TimePoint now) {
    if (failure.certain) {
        log::worker().critical("{}; exiting", failure.message);
        finish(1);
        return;
    }
    if (handshakeWarnings_.admit("handshake", now)) {
        log::worker().warn("{}; still trying (the death timeout applies)", failure.message);
    }
}

void WorkerSession::onTick(TimePoint now, bool shutdownRequested) {
    if (rejoinAs_) rejoinIfIdle(now);
    if (!rejoinAs_) flushOrHoldOutcomes(now);
    if (done()) return;
    if (phase_ == Phase::serving) {
        if (auto hung = executor_.hungTask(now, seconds(config_.hungTaskGraceSeconds)))
            abandonHungTask(*hung, now);
    }
    if (now >= nextHeartbeat_ && !rejoinAs_ && (phase_ == Phase::serving || phase_ == Phase::draining)) {
        // Sent every period, echo or not: one lost echo must not silence us. Never after the disconnect
        // request, even in the turn that got its response: it would register this worker again.
        sendHeartbeat(now);
    }
    if (now - lastEcho_ > seconds(config_.deathTimeoutSeconds)) {
        log::worker().error("no answer from the scheduler at {} for {} s; exiting", config_.schedulerAddress,
                            config_.deathTimeoutSeconds);
        return finish(1);
    }
    if (shutdownRequested && phase_ == Phase::serving) {
        const size_t dropped = dropQueued();
        log::worker().info("shutting down: returning {} queued tasks; waiting up to {} s for the running one",
                           dropped, config_.shutdownGraceSeconds);
        phase_ = Phase::draining;
        drainDeadline_ = now + seconds(config_.shutdownGraceSeconds);
    }
    if (phase_ == Phase::draining && (!executor_.running() || now >= drainDeadline_)) {
        if (executor_.running()) {
            log::worker().warn("the running task did not finish within the grace period; returning it");
            executor_.interruptRunning();
        }
        flushOutcomes(now);
        sendDisconnect(now);
    }
    if (phase_ == Phase::leaving && now >= leaveDeadline_) {
        log::worker().warn("no disconnect response from the scheduler; exiting anyway");
        finish(exitCode_);
    }
}

}  // namespace scaler::worker
