#pragma once
// The client's connection: a DEALER owned by one I/O thread. User threads hand it work through a locked
// queue and an eventfd; it answers through FutureStates.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client_session.h"
#include "future_state.h"
#include "scaler/client/client.h"
#include "scaler/client/task_graph.h"
#include "scaler/protocol/capabilities.h"
#include "submission_window.h"

namespace scaler::detail {

// Deletes keep their place among submissions: a task submitted before a delete still gets the object.
struct ObjectDeletion {
    size_t position;  // submissions queued before it
    std::vector<uint64_t> ids;
    bool all;
};

class ClientCore : public std::enable_shared_from_this<ClientCore> {
public:
    ClientCore(std::string address, ClientOptions options);
    ~ClientCore();
    // Starts the I/O thread and waits for the scheduler's first answer.
    void start();

    Future submit(const std::string& function, std::string payload, const SubmitOptions& options);
    // Payloads by value: submit() moves its one in; map() pays the copy it has to.
    std::vector<Future> submitMany(const std::string& function, std::vector<std::string> payloads,
                                   const SubmitOptions& options);
    Future submitArguments(const std::string& function, Arguments arguments, const SubmitOptions& options);
    std::vector<Future> submitArgumentsMany(const std::string& function, std::vector<Arguments> arguments,
                                            const SubmitOptions& options);
    std::map<std::string, Future> submitGraph(const TaskGraph& graph,
                                              const std::vector<std::string>& outputs);
    ObjectRef sendObject(std::string bytes, std::string name);
    ObjectRef sendObject(std::shared_ptr<const ByteSource> bytes, std::string name);
    void deleteObjects(std::vector<uint64_t> ids, bool all);
    void requestCancel(uint64_t taskId);
    // Leaves: the goodbye, then the I/O thread ends. Idempotent.
    void close();
    // Asks the scheduler to shut the cluster down and, when it accepts, closes. Throws Error when refused
    // (the client stays usable), SchedulerUnreachableError without an answer.
    void shutdown();

    const std::string& identity() const { return identity_; }
    size_t pending() const { return window_.pending(); }
    bool submitWouldWait(size_t tasks, size_t bytes) const { return window_.full(tasks, bytes); }
    uint64_t unmatchedResults() const { return unmatchedResults_.load(); }
    double timeoutSeconds() const { return options_.timeoutSeconds; }

private:
    // The fields every submission shares; throws std::invalid_argument naming a bad option.
    Submission makeSubmission(const std::string& function, const SubmitOptions& options) const;
    // Arguments in wire form: bytes too large for a task message go to the store first (and are deleted when
    // the task ends); graph keys resolve through `keyIds`.
    std::vector<SubmissionArgument> convertArguments(
        Arguments arguments, const std::map<std::string, uint64_t, std::less<>>* keyIds,
        std::vector<uint64_t>& temporaryObjects);
    // True when bytes of this size would not fit in one task message to the scheduler.
    bool needsObject(size_t bytes) const;
    // Room for the leading tasks of `bytes` in this client's share, waiting up to submitTimeoutSeconds for
    // it; on the I/O thread (a future's callback submitting) it never waits: nothing there would make room.
    size_t admit(std::span<const uint64_t> bytes);
    // The same for a graph's `tasks` outputs, all at once.
    void admitWhole(size_t tasks);
    // A submit from the I/O thread (a future's callback) never waits: nothing there would make room.
    bool onIoThread() const;
    // When a submit waiting for room gives up (ClientOptions::submitTimeoutSeconds), or never.
    SubmissionWindow::Deadline submitDeadline() const;
    // Admits `submission` (its `outputs` count against the share) and hands it to the I/O thread; the objects
    // made for its arguments are deleted when it cannot go.
    void queueGraph(GraphSubmission&& submission, size_t outputs,
                    const std::vector<uint64_t>& temporaryObjects);
    // Hands `batch` to the I/O thread in parts as the share makes room; on a timeout the parts already
    // handed over are cancelled and SubmitTimeoutError is thrown, so nothing of the call is left running.
    void queueAdmitted(std::vector<Submission>& batch);
    void ioLoop();
    // Hands what the session learnt to the threads waiting in start() and close().
    void publishStatus(const ClientSession& session, uint64_t shutdownsSent);
    void wake();
    Future makeFuture(std::shared_ptr<FutureState> state);

    const std::string address_;
    const ClientOptions options_;
    std::string identity_;
    int eventFd_ = -1;
    std::atomic<std::thread::id> ioThreadId_{};
    std::atomic<bool> selfWake_{false};  // work queued by the I/O thread itself: do not wait before taking it
    std::thread thread_;
    std::atomic<uint64_t> nextTaskId_{1};
    std::atomic<uint64_t> nextObjectId_{1};
    SubmissionWindow window_;
    std::atomic<uint64_t> unmatchedResults_{0};
    std::atomic<uint64_t> schedulerMessageLimit_{0};  // from the session, for checks on user threads

    // handed from user threads to the I/O thread
    std::mutex mutex_;
    std::vector<Submission> submissions_;
    std::vector<uint64_t> cancels_;
    std::vector<GraphSubmission> graphs_;
    std::vector<ObjectUpload> uploads_;
    std::vector<ObjectDeletion> objectDeletes_;
    CloseRequest closeRequest_ = CloseRequest::none;
    uint64_t shutdownRequests_ = 0;
    bool closed_ = false;

    // connection status, for the constructor and shutdown()
    std::mutex statusMutex_;
    std::condition_variable statusChanged_;
    bool connected_ = false;
    bool ioFinished_ = false;
    std::string fatalError_;
    uint64_t shutdownAnswers_ = 0;       // answers the session has had
    uint64_t shutdownAnsweredUpTo_ = 0;  // requests (counted by shutdownRequests_) answered
    bool shutdownAccepted_ = false;      // the latest answer
};

}  // namespace scaler::detail
