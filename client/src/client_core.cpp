#include "client_core.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <capnp/message.h>
#include <zmq.hpp>

#include "scaler/protocol/curve_socket.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/identity.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/protocol/wire_bytes.h"

namespace scaler::detail {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxTasksPerFrame = 4096;

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
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

}  // namespace

ClientCore::ClientCore(std::string address, ClientOptions options)
    : address_(std::move(address)), options_(std::move(options)) {
    parseAddress(address_);  // throws std::invalid_argument naming it
    identity_ = makeIdentity("Client", options_.name);
    eventFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (eventFd_ < 0) throw Error("eventfd failed");
}

ClientCore::~ClientCore() {
    close(false);
    ::close(eventFd_);
}

void ClientCore::start() {
    thread_ = std::thread([self = shared_from_this()] { self->ioLoop(); });
    std::unique_lock lock(statusMutex_);
    statusChanged_.wait_for(lock, seconds(options_.connectTimeoutSeconds),
                            [&] { return connected_ || ioFinished_ || !fatalError_.empty(); });
    if (connected_) return;
    const std::string reason = fatalError_.empty()
                                   ? "no answer from the scheduler at " + address_ + " within " +
                                         std::to_string(options_.connectTimeoutSeconds) + " s"
                                   : fatalError_;
    lock.unlock();
    close(false);
    throw SchedulerUnreachableError(reason);
}

void ClientCore::wake() {
    const uint64_t one = 1;
    (void)!write(eventFd_, &one, sizeof one);
}

Future ClientCore::makeFuture(std::shared_ptr<FutureState> state) {
    return Future(std::move(state), weak_from_this());
}

Future ClientCore::submit(const std::string& function, std::string payload, const SubmitOptions& options) {
    std::vector<std::string> one;
    one.push_back(std::move(payload));
    return submitMany(function, std::move(one), options).front();
}

std::vector<Future> ClientCore::submitMany(const std::string& function, std::vector<std::string> payloads,
                                           const SubmitOptions& options) {
    if (function.empty()) throw std::invalid_argument("function name must not be empty");
    if (options.timeoutSeconds < 0) throw std::invalid_argument("timeout must not be negative");
    const CapabilityList capabilities = parseCapabilities(options.capabilities);
    const auto timeoutMs = static_cast<uint32_t>(std::min(options.timeoutSeconds * 1000.0, 4.0e9));
    std::vector<Future> futures;
    futures.reserve(payloads.size());
    bool wasEmpty;
    {
        std::lock_guard lock(mutex_);
        if (closed_) throw SchedulerUnreachableError("client is disconnected");
        wasEmpty = submissions_.empty() && cancels_.empty();
        for (auto& payload : payloads) {
            auto state = std::make_shared<FutureState>(nextTaskId_++);
            futures.push_back(makeFuture(state));
            submissions_.push_back({std::move(state), function, std::move(payload), capabilities, timeoutMs});
        }
        pendingCount_ += payloads.size();
    }
    if (wasEmpty) wake();  // the I/O thread takes everything queued since, in one go
    return futures;
}

void ClientCore::requestCancel(uint64_t taskId) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        cancels_.push_back(taskId);
    }
    wake();
}

void ClientCore::close(bool shutdownCluster) {
    {
        std::lock_guard lock(mutex_);
        if (!closed_) {
            closed_ = true;
            closeRequest_ = shutdownCluster ? CloseRequest::shutdown : CloseRequest::disconnect;
        }
    }
    wake();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    if (shutdownCluster) {
        std::lock_guard lock(statusMutex_);
        if (!shutdownAccepted_.has_value())
            throw SchedulerUnreachableError("no answer to the shutdown request");
        if (!*shutdownAccepted_) throw Error("the scheduler is protected and refused to shut down");
    }
}

void ClientCore::ioLoop() {
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::routing_id, identity_);
    dealer.set(zmq::sockopt::sndhwm, 0);
    dealer.set(zmq::sockopt::rcvhwm, 0);
    dealer.set(zmq::sockopt::linger, 2000);  // let the disconnect reach the scheduler
    applyCurveClient(dealer, options_.curve);
    HandshakeWatch handshake(context, dealer, address_);
    dealer.connect(address_);

    std::unordered_map<uint64_t, std::shared_ptr<FutureState>> pending;
    using Deadline = std::pair<Clock::time_point, uint64_t>;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
    FrameReader reader;
    ProcessResourceSampler sampler;
    bool registered = false;
    Clock::time_point lastHeard = Clock::now();
    Clock::time_point lastHeartbeat{};
    uint32_t latencyUs = 0;
    bool unreachableReported = false;
    CloseRequest closing = CloseRequest::none;
    Clock::time_point closeDeadline{};

    const auto finish = [&](uint64_t id, Outcome outcome, std::string payload, std::string message,
                            uint64_t us) {
        auto it = pending.find(id);
        if (it == pending.end()) {
            ++unmatchedResults_;
            return;
        }
        auto state = std::move(it->second);
        pending.erase(it);
        --pendingCount_;
        state->complete(outcome, std::move(payload), std::move(message), us);
    };
    const auto failAll = [&](Outcome outcome, const std::string& message) {
        auto all = std::move(pending);
        pending.clear();
        pendingCount_ -= all.size();
        for (auto& [id, state] : all) state->complete(outcome, {}, message, 0);
    };
    const auto sendHeartbeat = [&] {
        capnp::MallocMessageBuilder builder;
        auto heartbeat = builder.initRoot<wire::Message>().initClientHeartbeat();
        heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
        resourceToWire(sampler.sample(), heartbeat.initResource());
        heartbeat.setLatencyUs(latencyUs);
        (void)sendFrame(dealer, builder);
        lastHeartbeat = Clock::now();
    };
    const auto sendCancels = [&](const std::vector<uint64_t>& ids) {
        if (ids.empty()) return;
        capnp::MallocMessageBuilder builder;
        auto list = builder.initRoot<wire::Message>().initTaskCancels(static_cast<unsigned>(ids.size()));
        for (unsigned i = 0; i < ids.size(); ++i) {
            list[i].setTaskId(ids[i]);
            list[i].setForce(true);
        }
        (void)sendFrame(dealer, builder);
    };
    const auto sendSubmissions = [&](std::vector<Submission>& batch) {
        for (size_t start = 0; start < batch.size(); start += kMaxTasksPerFrame) {
            const size_t count = std::min(kMaxTasksPerFrame, batch.size() - start);
            capnp::MallocMessageBuilder builder;
            auto list = builder.initRoot<wire::Message>().initTasks(static_cast<unsigned>(count));
            for (size_t i = 0; i < count; ++i) {
                Submission& s = batch[start + i];
                auto task = list[static_cast<unsigned>(i)];
                task.setTaskId(s.state->id);
                task.setFunctionName(s.function);
                task.setPayload(asData(s.payload));
                capabilitiesToWire(s.capabilities,
                                   task.initCapabilities(static_cast<unsigned>(s.capabilities.size())));
                task.setTimeoutMs(s.timeoutMs);
                pending.emplace(s.state->id, s.state);
                if (s.timeoutMs > 0) {
                    deadlines.emplace(Clock::now() + std::chrono::milliseconds(s.timeoutMs), s.state->id);
                }
            }
            (void)sendFrame(dealer, builder);
        }
    };
    // The scheduler will not serve this client: every pending future fails, and so does the constructor. The
    // first reason given is the one kept.
    const auto refused = [&](const std::string& why) {
        {
            std::lock_guard lock(statusMutex_);
            if (!fatalError_.empty()) return;
            fatalError_ = why;
        }
        failAll(Outcome::unreachable, why);
        statusChanged_.notify_all();
    };

    const auto handleMessage = [&](wire::Message::Reader message) {
        lastHeard = Clock::now();
        unreachableReported = false;
        switch (message.which()) {
            case wire::Message::TASK_RESULTS:
                for (auto result : message.getTaskResults()) {
                    finish(result.getTaskId(), outcomeOf(result.getStatus()),
                           std::string(asStringView(result.getPayload())),
                           std::string(asStringView(result.getError())), result.getDurationUs());
                }
                return;
            case wire::Message::TASK_CANCEL_CONFIRMS:
                for (auto confirm : message.getTaskCancelConfirms()) {
                    if (confirm.getKind() == wire::CancelConfirmKind::CANCEL_FAILED) {
                        auto it = pending.find(confirm.getTaskId());
                        if (it == pending.end()) continue;
                        {
                            std::lock_guard lock(it->second->mutex);
                            ++it->second->cancelFailedAnswers;
                        }
                        it->second->changed.notify_all();
                    } else {
                        finish(confirm.getTaskId(), Outcome::cancelled, {}, "task cancelled", 0);
                    }
                }
                return;
            case wire::Message::CLIENT_HEARTBEAT_ECHO: {
                latencyUs = static_cast<uint32_t>(
                    std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - lastHeartbeat)
                        .count() /
                    2);
                registered = true;
                std::lock_guard lock(statusMutex_);
                if (!connected_) {
                    connected_ = true;
                    statusChanged_.notify_all();
                }
                return;
            }
            case wire::Message::CLIENT_SHUTDOWN_RESPONSE: {
                std::lock_guard lock(statusMutex_);
                shutdownAccepted_ = message.getClientShutdownResponse().getAccepted();
                return;
            }
            case wire::Message::PROTOCOL_ERROR: {
                const auto protocolError = message.getProtocolError();
                const std::string text = protocolError.getMessage().cStr();
                if (protocolError.getCode() == wire::ProtocolErrorCode::NOT_REGISTERED) {
                    // the scheduler restarted or timed us out: whatever it held for us is gone
                    if (registered) {
                        failAll(Outcome::unreachable,
                                "the scheduler lost this client's tasks (restarted or timed out)");
                    }
                    registered = false;
                    sendHeartbeat();
                    return;
                }
                refused("scheduler refused this client: " + text);
                return;
            }
            default:
                return;
        }
    };

    sendHeartbeat();
    auto nextHeartbeat = Clock::now() + seconds(options_.heartbeatIntervalSeconds);
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, eventFd_, ZMQ_POLLIN, 0}};
    std::vector<Submission> batch;
    std::vector<uint64_t> cancels;

    for (;;) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(nextHeartbeat - Clock::now());
        if (!deadlines.empty()) {
            wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadlines.top().first - Clock::now()));
        }
        wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(100));
        pollOrInterrupted(items, 2, wait);
        uint64_t counter;
        (void)!read(eventFd_, &counter, sizeof counter);
        {
            std::lock_guard lock(mutex_);
            batch.swap(submissions_);
            cancels.swap(cancels_);
            if (closing == CloseRequest::none && closeRequest_ != CloseRequest::none) closing = closeRequest_;
        }
        if (closing == CloseRequest::none || !batch.empty()) sendSubmissions(batch);
        batch.clear();
        sendCancels(cancels);
        cancels.clear();

        if (auto failure = handshake.takeFailure()) refused(*failure);
        // a malformed answer is dropped; the task's deadline or the client timeout still apply
        receiveWaiting(
            dealer, reader,
            [&](wire::Message::Reader message) {
                handleMessage(message);
                return true;
            },
            [](const std::string&) {});

        const auto now = Clock::now();
        while (!deadlines.empty() && deadlines.top().first <= now) {
            const uint64_t id = deadlines.top().second;
            deadlines.pop();
            if (pending.count(id) == 0) continue;
            sendCancels({id});
            finish(id, Outcome::timedOut, {}, "task did not finish within its timeout", 0);
        }
        if (now >= nextHeartbeat) {
            sendHeartbeat();
            nextHeartbeat = now + seconds(options_.heartbeatIntervalSeconds);
        }
        if (!unreachableReported && now - lastHeard > seconds(options_.timeoutSeconds)) {
            unreachableReported = true;
            failAll(Outcome::unreachable, "no answer from the scheduler at " + address_ + " for " +
                                              std::to_string(options_.timeoutSeconds) + " s");
        }

        if (closing != CloseRequest::none && closeDeadline == Clock::time_point{}) {
            capnp::MallocMessageBuilder builder;
            builder.initRoot<wire::Message>().initClientDisconnect().setKind(
                closing == CloseRequest::shutdown ? wire::ClientDisconnectKind::SHUTDOWN
                                                  : wire::ClientDisconnectKind::DISCONNECT);
            (void)sendFrame(dealer, builder);
            closeDeadline =
                now + (closing == CloseRequest::shutdown ? seconds(std::min(options_.timeoutSeconds, 10.0))
                                                         : Clock::duration::zero());
        }
        if (closing != CloseRequest::none) {
            bool answered;
            {
                std::lock_guard lock(statusMutex_);
                answered = shutdownAccepted_.has_value();
            }
            if (closing == CloseRequest::disconnect || answered || now >= closeDeadline) break;
        }
    }
    failAll(Outcome::cancelled, "client disconnected before the task finished");
    if (!registered) dealer.set(zmq::sockopt::linger, 0);  // nobody to deliver the goodbye to
    dealer.close();
    handshake.close();
    context.close();
    std::lock_guard lock(statusMutex_);
    ioFinished_ = true;
    statusChanged_.notify_all();
}

}  // namespace scaler::detail
