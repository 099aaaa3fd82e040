#include "client_core.h"

#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "scaler/protocol/address.h"
#include "scaler/protocol/dealer_connection.h"
#include "scaler/protocol/graph_plan.h"
#include "scaler/protocol/identity.h"
#include "scaler/protocol/message_limits.h"

namespace scaler::detail {
namespace {

using Clock = std::chrono::steady_clock;
// See ioLoop: submissions closer together than the gap count as a burst and wait this long to share a frame.
constexpr auto kBurstGap = std::chrono::microseconds(100);
constexpr auto kBurstWait = std::chrono::microseconds(50);
// After a burst of at least this many tasks, the idle client hands freed memory back to the system.
constexpr size_t kTrimAfterTasks = 10000;
// How long shutdown() waits for the scheduler's answer at most.
constexpr double kShutdownAnswerSeconds = 10;

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// What the user asked for since the I/O thread last looked, taken from under the lock.
struct UserRequests {
    std::vector<Submission> batch;
    std::vector<uint64_t> cancels;
    std::vector<GraphSubmission> graphs;
    std::vector<ObjectUpload> uploads;
    std::vector<ObjectDeletion> deletes;
};

// In the order the user made them: objects before the tasks that use them, a deletion after the tasks
// submitted before it. Leaves `requests` empty.
void sendInOrder(ClientSession& session, UserRequests& requests, CloseRequest closing) {
    std::vector<Submission>& batch = requests.batch;  // named: a lambda below captures it
    std::vector<ObjectUpload>& uploads = requests.uploads;
    std::vector<ObjectDeletion>& deletes = requests.deletes;
    for (auto& upload : uploads) session.upload(std::move(upload), Clock::now());
    uploads.clear();
    if (deletes.empty()) {
        if (closing == CloseRequest::none || !batch.empty()) session.submit(batch, Clock::now());
    } else {
        size_t sent = 0;
        const auto submitUpTo = [&](size_t position) {
            if (position <= sent) return;
            std::vector<Submission> part(std::make_move_iterator(batch.begin() + sent),
                                         std::make_move_iterator(batch.begin() + position));
            session.submit(part, Clock::now());
            sent = position;
        };
        for (const ObjectDeletion& deletion : deletes) {
            submitUpTo(deletion.position);
            session.deleteObjects(deletion.ids, deletion.all);
        }
        submitUpTo(batch.size());
        deletes.clear();
    }
    batch.clear();
    for (auto& graph : requests.graphs) session.submitGraph(graph, Clock::now());
    requests.graphs.clear();
    session.cancel(requests.cancels);
    requests.cancels.clear();
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
    close();
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
                                         secondsText(options_.connectTimeoutSeconds) + " s"
                                   : fatalError_;
    lock.unlock();
    close();
    throw SchedulerUnreachableError(reason);
}

void ClientCore::wake() {
    if (onIoThread()) {
        // a future's callback submitting on the I/O thread: it looks at the queue before it waits again
        selfWake_.store(true, std::memory_order_relaxed);
        return;
    }
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

Submission ClientCore::makeSubmission(const std::string& function, const SubmitOptions& options) const {
    if (function.empty()) throw std::invalid_argument("function name must not be empty");
    if (options.timeoutSeconds < 0) throw std::invalid_argument("timeout must not be negative");
    if (options.priority < INT16_MIN || options.priority > INT16_MAX) {
        throw std::invalid_argument("priority " + std::to_string(options.priority) +
                                    " is not in -32768..32767");
    }
    Submission s;
    s.function = function;
    s.capabilities = parseCapabilities(options.capabilities);
    s.timeoutMs = static_cast<uint32_t>(std::min(options.timeoutSeconds * 1000.0, 4.0e9));
    s.priority = static_cast<int16_t>(options.priority);
    s.profiling = options.profiling;
    return s;
}

bool ClientCore::needsObject(size_t bytes) const {
    // with room for the rest of the task; the scheduler drops a larger message unread
    return !fitsInOneMessage(bytes + 4096, schedulerMessageLimit_.load());
}

std::vector<Future> ClientCore::submitMany(const std::string& function, std::vector<std::string> payloads,
                                           const SubmitOptions& options) {
    const Submission common = makeSubmission(function, options);
    std::vector<Future> futures(payloads.size());
    // no size cliff: a payload too big for one message travels as an object (rare: checked first, apart)
    std::vector<uint8_t> asObject(payloads.size(), 0);
    size_t objects = 0;
    for (size_t i = 0; i < payloads.size(); ++i) {
        if (options.keepResult || needsObject(payloads[i].size())) {
            asObject[i] = 1;
            ++objects;
            Arguments arguments;  // not Arguments{...}: an initializer list would copy the payload
            arguments.items.emplace_back(std::move(payloads[i]));
            futures[i] = submitArguments(function, std::move(arguments), options);
        }
    }
    if (objects == payloads.size()) return futures;
    std::vector<Submission> batch;
    batch.reserve(payloads.size() - objects);
    for (size_t i = 0; i < payloads.size(); ++i) {
        if (asObject[i]) continue;
        Submission& s = batch.emplace_back();
        s.state = std::make_shared<FutureState>(nextTaskId_++);
        s.function = common.function;
        s.payload = std::move(payloads[i]);
        s.capabilities = common.capabilities;
        s.timeoutMs = common.timeoutMs;
        s.priority = common.priority;
        s.profiling = common.profiling;
        futures[i] = makeFuture(s.state);
    }
    queueAdmitted(batch);
    return futures;
}

bool ClientCore::onIoThread() const {
    return std::this_thread::get_id() == ioThreadId_.load(std::memory_order_relaxed);
}

SubmissionWindow::Deadline ClientCore::submitDeadline() const {
    if (options_.submitTimeoutSeconds <= 0) return std::nullopt;
    return Clock::now() + seconds(options_.submitTimeoutSeconds);
}

size_t ClientCore::admit(std::span<const uint64_t> bytes) {
    if (onIoThread()) {
        uint64_t total = 0;
        for (uint64_t b : bytes) total += b;
        window_.take(bytes.size(), total);
        return bytes.size();
    }
    return window_.reserve(bytes, submitDeadline());
}

void ClientCore::admitWhole(size_t tasks) {
    if (onIoThread()) {
        window_.take(tasks, 0);
        return;
    }
    window_.reserveWhole(tasks, submitDeadline());
}

void ClientCore::queueAdmitted(std::vector<Submission>& batch) {
    uint64_t single = 0;  // one submit: no allocation for its size
    std::vector<uint64_t> many;
    if (batch.size() == 1) {
        single = batch[0].shareBytes = submissionBytes(batch[0]);
    } else {
        many.resize(batch.size());
        for (size_t i = 0; i < batch.size(); ++i) many[i] = batch[i].shareBytes = submissionBytes(batch[i]);
    }
    const std::span<const uint64_t> bytes =
        batch.size() == 1 ? std::span<const uint64_t>(&single, 1) : std::span<const uint64_t>(many);
    size_t done = 0;
    while (done < batch.size()) {
        size_t n = 0;
        try {
            n = admit(bytes.subspan(done));
        } catch (const SubmitTimeoutError&) {
            for (size_t i = 0; i < done; ++i) requestCancel(batch[i].state->id);
            throw;
        }
        bool wasEmpty;
        {
            std::lock_guard lock(mutex_);
            if (closed_) {
                uint64_t taken = 0;
                for (size_t i = done; i < done + n; ++i) taken += bytes[i];
                window_.release(n, taken);
                throw SchedulerUnreachableError("client is disconnected");
            }
            wasEmpty = submissions_.empty() && cancels_.empty();
            for (size_t i = done; i < done + n; ++i) submissions_.push_back(std::move(batch[i]));
        }
        if (wasEmpty) wake();  // the I/O thread takes everything queued since, in one go
        done += n;
    }
}

std::vector<SubmissionArgument> ClientCore::convertArguments(
    Arguments arguments, const std::map<std::string, uint64_t, std::less<>>* keyIds,
    std::vector<uint64_t>& temporaryObjects) {
    std::vector<SubmissionArgument> out;
    out.reserve(arguments.items.size());
    for (Argument& argument : arguments.items) {
        SubmissionArgument converted;
        if (auto* bytes = std::get_if<std::string>(&argument)) {
            if (needsObject(bytes->size())) {
                const ObjectRef ref = sendObject(std::move(*bytes), "argument");
                temporaryObjects.push_back(ref.id);
                converted.kind = SubmissionArgument::Kind::object;
                converted.id = ref.id;
            } else {
                converted.bytes = std::move(*bytes);
            }
        } else if (auto* source = std::get_if<std::shared_ptr<const ByteSource>>(&argument)) {
            if (!*source) throw std::invalid_argument("an argument is an empty ByteSource");
            if (needsObject((*source)->bytes().size())) {
                const ObjectRef ref = sendObject(std::move(*source), "argument");
                temporaryObjects.push_back(ref.id);
                converted.kind = SubmissionArgument::Kind::object;
                converted.id = ref.id;
            } else {
                converted.bytes = std::string((*source)->bytes());
            }
        } else if (auto* object = std::get_if<ObjectRef>(&argument)) {
            if (!object->valid()) throw std::invalid_argument("an argument is an empty ObjectRef");
            converted.kind = SubmissionArgument::Kind::object;
            converted.id = object->id;
        } else {
            const std::string& key = std::get<GraphKey>(argument).key;
            if (keyIds == nullptr) {
                throw std::invalid_argument("GraphKey '" + key + "' outside a TaskGraph");
            }
            const auto found = keyIds->find(key);
            if (found == keyIds->end()) throw GraphError("unknown key '" + key + "'");
            converted.kind = SubmissionArgument::Kind::node;
            converted.id = found->second;
        }
        out.push_back(std::move(converted));
    }
    return out;
}

Future ClientCore::submitArguments(const std::string& function, Arguments arguments,
                                   const SubmitOptions& options) {
    std::vector<Arguments> one;
    one.push_back(std::move(arguments));
    return submitArgumentsMany(function, std::move(one), options).front();
}

std::vector<Future> ClientCore::submitArgumentsMany(const std::string& function, std::vector<Arguments> many,
                                                    const SubmitOptions& options) {
    const Submission common = makeSubmission(function, options);
    std::vector<Submission> batch;
    batch.reserve(many.size());
    std::vector<Future> futures;
    futures.reserve(many.size());
    std::vector<std::pair<size_t, std::vector<uint64_t>>> temporary;  // future index, its objects
    for (Arguments& arguments : many) {
        Submission& s = batch.emplace_back(common);
        std::vector<uint64_t> temporaryObjects;
        s.arguments = convertArguments(std::move(arguments), nullptr, temporaryObjects);
        s.hasArguments = true;
        s.state = std::make_shared<FutureState>(nextTaskId_++);
        if (options.keepResult) {
            s.resultObjectId = nextObjectId_++;
            s.state->keptObjectId = s.resultObjectId;
        }
        futures.push_back(makeFuture(s.state));
        if (!temporaryObjects.empty())
            temporary.emplace_back(futures.size() - 1, std::move(temporaryObjects));
    }
    try {
        queueAdmitted(batch);  // one wake-up per part the share admits
    } catch (const Error&) {
        // nothing of the call is left running: the objects made for its arguments go too
        std::vector<uint64_t> objects;
        for (auto& entry : temporary) objects.insert(objects.end(), entry.second.begin(), entry.second.end());
        if (!objects.empty()) deleteObjects(std::move(objects), false);
        throw;
    }
    for (auto& entry : temporary) {
        // the objects made for a task alone go when it ends
        futures[entry.first].then([weak = weak_from_this(), objects = entry.second](const Future&) {
            if (auto self = weak.lock()) self->deleteObjects(objects, false);
        });
    }
    return futures;
}

void ClientCore::queueGraph(GraphSubmission&& submission, size_t outputs,
                            const std::vector<uint64_t>& temporaryObjects) {
    try {
        admitWhole(outputs);  // a graph goes whole: counted by its outputs, held back, never split
    } catch (const Error&) {
        if (!temporaryObjects.empty()) deleteObjects(temporaryObjects, false);
        throw;
    }
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            window_.release(outputs, 0);
            throw SchedulerUnreachableError("client is disconnected");
        }
        // tasks queued before the graph go first, so a graph may use objects and results they produce
        graphs_.push_back(std::move(submission));
    }
    wake();
}

std::map<std::string, Future> ClientCore::submitGraph(const TaskGraph& graph,
                                                      const std::vector<std::string>& outputs) {
    // check what the scheduler would refuse, with the user's names, before sending anything
    std::map<std::string, uint64_t, std::less<>> keyIds;
    std::map<std::string, uint32_t, std::less<>> indexOf;
    const uint64_t firstId = nextTaskId_.fetch_add(graph.size());
    for (uint32_t i = 0; i < graph.size(); ++i) {
        keyIds.emplace(graph.nodes()[i].key, firstId + i);
        indexOf.emplace(graph.nodes()[i].key, i);
    }
    std::vector<std::vector<uint32_t>> dependencies(graph.size());
    for (uint32_t i = 0; i < graph.size(); ++i) {
        for (const Argument& argument : graph.nodes()[i].arguments.items) {
            if (const auto* key = std::get_if<GraphKey>(&argument)) {
                const auto found = indexOf.find(key->key);
                if (found == indexOf.end()) {
                    throw GraphError("node '" + graph.nodes()[i].key + "' needs key '" + key->key +
                                     "', which is not in the graph");
                }
                dependencies[i].push_back(found->second);
            }
        }
    }
    std::vector<uint32_t> outputIndex;
    for (const std::string& key : outputs) {
        const auto found = indexOf.find(key);
        if (found == indexOf.end()) throw GraphError("output key '" + key + "' is not a node of the graph");
        outputIndex.push_back(found->second);
    }
    const GraphPlan plan =
        planGraph(dependencies, outputIndex, [&](uint32_t i) { return "'" + graph.nodes()[i].key + "'"; });
    if (!plan.error.empty()) throw GraphError(plan.error);

    GraphSubmission submission;
    std::vector<uint64_t> temporaryObjects;
    std::vector<uint8_t> needed(graph.size(), 0);
    for (uint32_t i : plan.order) needed[i] = 1;
    for (uint32_t i = 0; i < graph.size(); ++i) {
        if (!needed[i]) continue;  // nothing asked for it: not sent at all
        const TaskGraph::Node& node = graph.nodes()[i];
        Submission s = makeSubmission(node.function, node.options);
        s.arguments = convertArguments(node.arguments, &keyIds, temporaryObjects);
        s.hasArguments = true;
        s.state = std::make_shared<FutureState>(firstId + i);
        submission.nodes.push_back(std::move(s));
    }
    std::map<std::string, Future> futures;
    for (uint32_t i : outputIndex) {
        submission.outputs.push_back(firstId + i);
        for (const Submission& s : submission.nodes) {
            if (s.state->id == firstId + i) futures.emplace(graph.nodes()[i].key, makeFuture(s.state));
        }
    }
    queueGraph(std::move(submission), futures.size(), temporaryObjects);
    if (!temporaryObjects.empty() && !futures.empty()) {
        std::vector<Future> all;
        all.reserve(futures.size());
        for (auto& [key, future] : futures) all.push_back(future);
        auto remaining = std::make_shared<std::atomic<size_t>>(all.size());
        for (Future& future : all) {
            future.then([weak = weak_from_this(), temporaryObjects, remaining](const Future&) {
                if (--*remaining > 0) return;
                if (auto self = weak.lock()) self->deleteObjects(temporaryObjects, false);
            });
        }
    }
    return futures;
}

ObjectRef ClientCore::sendObject(std::string bytes, std::string name) {
    return sendObject(std::make_shared<const StringSource>(std::move(bytes)), std::move(name));
}

ObjectRef ClientCore::sendObject(std::shared_ptr<const ByteSource> bytes, std::string name) {
    auto state = std::make_shared<UploadState>();
    ObjectRef ref{nextObjectId_++, bytes->bytes().size(), name};
    {
        std::lock_guard lock(mutex_);
        if (closed_) throw SchedulerUnreachableError("client is disconnected");
        uploads_.push_back({ref.id, std::move(name), std::move(bytes), state});
    }
    wake();
    std::unique_lock lock(state->mutex);
    state->changed.wait(lock, [&] { return state->done; });
    if (state->unreachable) throw SchedulerUnreachableError(state->error);
    if (!state->error.empty()) throw ObjectStoreError(state->error);
    return ref;
}

void ClientCore::deleteObjects(std::vector<uint64_t> ids, bool all) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        objectDeletes_.push_back({submissions_.size(), std::move(ids), all});
    }
    wake();
}

void ClientCore::requestCancel(uint64_t taskId) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        cancels_.push_back(taskId);
    }
    wake();
}

void ClientCore::close() {
    {
        std::lock_guard lock(mutex_);
        if (!closed_) {
            closed_ = true;
            closeRequest_ = CloseRequest::disconnect;
        }
    }
    wake();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ClientCore::shutdown() {
    uint64_t mine;
    {
        std::lock_guard lock(mutex_);
        if (closed_) throw SchedulerUnreachableError("client is disconnected");
        mine = ++shutdownRequests_;
    }
    wake();
    bool answered;
    bool accepted = false;
    {
        std::unique_lock lock(statusMutex_);
        answered =
            statusChanged_.wait_for(lock, seconds(std::min(options_.timeoutSeconds, kShutdownAnswerSeconds)),
                                    [&] { return shutdownAnsweredUpTo_ >= mine || ioFinished_; });
        answered = answered && shutdownAnsweredUpTo_ >= mine;
        accepted = shutdownAccepted_;
    }
    if (!answered) throw SchedulerUnreachableError("no answer to the shutdown request");
    // refused: the scheduler serves us as before
    if (!accepted) throw Error("the scheduler is protected and refused to shut down");
    close();
}

void ClientCore::publishStatus(const ClientSession& session, uint64_t shutdownsSent) {
    schedulerMessageLimit_ = session.schedulerMessageLimit();
    {
        std::lock_guard lock(statusMutex_);
        const bool unchanged = connected_ == session.connected() && fatalError_ == session.refusal() &&
                               shutdownAnswers_ == session.shutdownAnswers();
        if (unchanged) return;
        connected_ = session.connected();
        if (fatalError_.empty()) fatalError_ = session.refusal();
        if (shutdownAnswers_ != session.shutdownAnswers()) {
            // answers come in order; one answers every request sent before it
            shutdownAnswers_ = session.shutdownAnswers();
            shutdownAnsweredUpTo_ = shutdownsSent;
            shutdownAccepted_ = session.shutdownAnswer().value_or(false);
        }
    }
    statusChanged_.notify_all();
}

void ClientCore::ioLoop() {
    DealerConnection connection({identity_, address_, options_.curve, 2000});  // linger: let the goodbye out
    ClientSession session(connection, options_, address_, Clock::now(), window_, unmatchedResults_);
    session.keepFramesWith([&connection] { return connection.keepFrame(); });
    session.start(Clock::now());
    UserRequests requests;
    CloseRequest closing = CloseRequest::none;
    uint64_t shutdownsWanted = 0;
    uint64_t shutdownsSent = 0;
    size_t peakPending = 0;  // since memory was last handed back
    ioThreadId_.store(std::this_thread::get_id());
    auto lastSubmission = Clock::time_point{};
    for (;;) {
        const bool selfWoken = selfWake_.exchange(false, std::memory_order_relaxed);
        connection.wait(selfWoken ? std::chrono::milliseconds(0) : session.waitBudget(Clock::now()),
                        eventFd_);
        uint64_t counter = 0;
        (void)!read(eventFd_, &counter, sizeof counter);
        if (counter > 0 && !selfWoken) {
            // Submissions one at a time in quick succession (a loop of submit calls): let a few more arrive
            // so they share a frame. A lone submission (the last came long ago) goes at once.
            const auto now = Clock::now();
            if (now - lastSubmission < kBurstGap) std::this_thread::sleep_for(kBurstWait);
            lastSubmission = now;
        }
        {
            std::lock_guard lock(mutex_);
            requests.batch.swap(submissions_);
            requests.cancels.swap(cancels_);
            requests.graphs.swap(graphs_);
            requests.uploads.swap(uploads_);
            requests.deletes.swap(objectDeletes_);
            if (closing == CloseRequest::none) closing = closeRequest_;
            shutdownsWanted = shutdownRequests_;
        }
        sendInOrder(session, requests, closing);

        if (auto failure = connection.takeHandshakeFailure()) {
            // closed handshakes alone, once we were served, are a proxy whose scheduler restarts: the resend
            // path covers that; before, they mean a wrong key and waiting for the timeout would only hide it
            if (failure->certain || !session.connected()) session.refuse(failure->message);
        }
        // a malformed answer is dropped; the task's deadline or the client timeout still apply
        connection.receive(
            [&](wire::Message::Reader message) {
                session.onMessage(message, Clock::now());
                return true;
            },
            [](const std::string&) {});
        if (shutdownsWanted > shutdownsSent && closing == CloseRequest::none) {
            session.requestShutdown();
            shutdownsSent = shutdownsWanted;
        }
        const auto now = Clock::now();
        session.onTick(now);
        session.beginClose(closing);
        publishStatus(session, shutdownsSent);
        if (session.closeFinished()) break;
        const size_t pending = window_.pending();
        peakPending = std::max(peakPending, pending);
        if (pending == 0 && peakPending >= kTrimAfterTasks) {
            // a burst's task records are freed, but the allocator keeps the pages (a map of 300,000 kept
            // 380 MB of 480): hand them back once nothing is pending
            malloc_trim(0);
            peakPending = 0;
        }
    }
    session.failAll(Outcome::cancelled, "client disconnected before the task finished");
    window_.close("client is disconnected");
    if (!session.registered()) connection.setLinger(0);  // nobody to deliver the goodbye to
    connection.close();
    std::lock_guard lock(statusMutex_);
    ioFinished_ = true;
    statusChanged_.notify_all();
}

}  // namespace scaler::detail
