#include "client_core.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "scaler/protocol/address.h"
#include "scaler/protocol/dealer_connection.h"
#include "scaler/protocol/identity.h"
#include "scaler/protocol/message_limits.h"

namespace scaler::detail {
namespace {

using Clock = std::chrono::steady_clock;
Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
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
    if (options.priority < INT16_MIN || options.priority > INT16_MAX) {
        throw std::invalid_argument("priority " + std::to_string(options.priority) +
                                    " is not in -32768..32767");
    }
    const auto priority = static_cast<int16_t>(options.priority);
    checkTaskSize(function, payloads);
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
            submissions_.push_back({std::move(state), function, std::move(payload), capabilities, timeoutMs,
                                    priority, options.profiling});
        }
        pendingCount_ += payloads.size();
    }
    if (wasEmpty) wake();  // the I/O thread takes everything queued since, in one go
    return futures;
}

void ClientCore::checkTaskSize(const std::string& function, const std::vector<std::string>& payloads) const {
    // The scheduler drops a larger message unread, and the task would wait for nothing.
    const uint64_t schedulerLimit = schedulerMessageLimit_.load();
    const uint64_t limit = messageLimit(schedulerLimit);
    for (const std::string& payload : payloads) {
        if (fitsInOneMessage(payload.size() + function.size(), schedulerLimit)) continue;
        throw std::invalid_argument("payload of " + std::to_string(payload.size()) +
                                    " bytes does not fit in one message: the limit is " +
                                    std::to_string(limit) + " bytes" +
                                    (limit == schedulerLimit ? " (the scheduler's --max-message-bytes)"
                                                             : " (Cap'n Proto's largest blob)"));
    }
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

void ClientCore::publishStatus(const ClientSession& session) {
    schedulerMessageLimit_ = session.schedulerMessageLimit();
    {
        std::lock_guard lock(statusMutex_);
        const bool unchanged = connected_ == session.connected() && fatalError_ == session.refusal() &&
                               shutdownAccepted_ == session.shutdownAnswer();
        if (unchanged) return;
        connected_ = session.connected();
        if (fatalError_.empty()) fatalError_ = session.refusal();
        shutdownAccepted_ = session.shutdownAnswer();
    }
    statusChanged_.notify_all();
}

void ClientCore::ioLoop() {
    DealerConnection connection({identity_, address_, options_.curve, 2000});  // linger: let the goodbye out
    ClientSession session(connection, options_, address_, Clock::now(), pendingCount_, unmatchedResults_);
    session.start(Clock::now());
    std::vector<Submission> batch;
    std::vector<uint64_t> cancels;
    CloseRequest closing = CloseRequest::none;
    for (;;) {
        connection.wait(session.waitBudget(Clock::now()), eventFd_);
        uint64_t counter;
        (void)!read(eventFd_, &counter, sizeof counter);
        {
            std::lock_guard lock(mutex_);
            batch.swap(submissions_);
            cancels.swap(cancels_);
            if (closing == CloseRequest::none) closing = closeRequest_;
        }
        if (closing == CloseRequest::none || !batch.empty()) session.submit(batch, Clock::now());
        batch.clear();
        session.cancel(cancels);
        cancels.clear();

        if (auto failure = connection.takeHandshakeFailure()) session.refuse(*failure);
        // a malformed answer is dropped; the task's deadline or the client timeout still apply
        connection.receive(
            [&](wire::Message::Reader message) {
                session.onMessage(message, Clock::now());
                return true;
            },
            [](const std::string&) {});
        const auto now = Clock::now();
        session.onTick(now);
        session.beginClose(closing, now);
        publishStatus(session);
        if (session.closeFinished(now)) break;
    }
    session.failAll(Outcome::cancelled, "client disconnected before the task finished");
    if (!session.registered()) connection.setLinger(0);  // nobody to deliver the goodbye to
    connection.close();
    std::lock_guard lock(statusMutex_);
    ioFinished_ = true;
    statusChanged_.notify_all();
}

}  // namespace scaler::detail
