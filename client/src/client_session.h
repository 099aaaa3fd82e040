#pragma once
// The client's protocol state machine: registration and heartbeats, task submissions in frames, results
// and cancel confirmations matched to futures, task deadlines, the scheduler-unreachable timeout, refusal,
// and the goodbye. Fed decoded messages and the time by ClientCore's I/O thread (or a test); sends through
// a FrameSink; never touches a socket or a lock of the user's side.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "future_state.h"
#include "object_uploader.h"
#include "scaler/client/client.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/frame_sink.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/protocol/scheduler_registration.h"
#include "scaler/wire/message.capnp.h"
#include "submission_window.h"

namespace scaler::detail {

// "30", "0.5": a timeout as a person writes it, for messages.
inline std::string secondsText(double seconds) {
    std::ostringstream out;
    out << seconds;
    return out.str();
}

struct SubmissionArgument {
    enum class Kind { bytes, object, node } kind = Kind::bytes;
    std::string bytes;
    uint64_t id = 0;  // object id, or the node's task id
};

struct Submission {
    std::shared_ptr<FutureState> state;
    std::string function;
    std::string payload;
    CapabilityList capabilities;
    uint32_t timeoutMs;
    int16_t priority = 0;
    bool profiling = false;
    bool hasArguments = false;  // `arguments` replaces `payload`
    std::vector<SubmissionArgument> arguments;
    uint64_t resultObjectId = 0;  // keep the result in the store under this object id
    uint64_t shareBytes = 0;      // what it holds of the client's byte share (submissionBytes), until it ends
};

// What a submission counts against the client's byte share: the bytes it carries to the scheduler.
inline uint64_t submissionBytes(const Submission& s) {
    uint64_t bytes = s.payload.size();
    for (const SubmissionArgument& argument : s.arguments) bytes += argument.bytes.size();
    return bytes;
}

// A graph in one message: `nodes` carry their keys as task ids; only `outputs` are awaited.
struct GraphSubmission {
    std::vector<Submission> nodes;
    std::vector<uint64_t> outputs;
};

enum class CloseRequest { none, disconnect };

class ClientSession {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;
    static constexpr size_t kMaxTasksPerFrame = 4096;

    // `window` counts the unfinished tasks (the session gives their room back as they end and sets the shares
    // the scheduler tells); `unmatchedResults` is read by user threads (Client::unmatchedResults, the soak).
    ClientSession(FrameSink& out, const ClientOptions& options, std::string address, TimePoint now,
                  SubmissionWindow& window, std::atomic<uint64_t>& unmatchedResults);

    // Registers: the first heartbeat.
    void start(TimePoint now);
    void submit(std::vector<Submission>& batch, TimePoint now);
    void submitGraph(GraphSubmission& graph, TimePoint now);
    void upload(ObjectUpload upload, TimePoint now);
    void deleteObjects(const std::vector<uint64_t>& ids, bool all);
    void cancel(const std::vector<uint64_t>& taskIds);
    void onMessage(wire::Message::Reader message, TimePoint now);
    // Where a large result's parts can stay without a copy: the received frame of the message being handled
    // (DealerConnection::keepFrame). Without one (unit tests) each part is copied.
    void keepFramesWith(std::function<std::shared_ptr<const zmq::message_t>()> keepFrame) {
        keepFrame_ = std::move(keepFrame);
    }
    // Task deadlines, the heartbeat when due, the unreachable timeout.
    void onTick(TimePoint now);
    // The scheduler will not serve us: every pending future fails with `why`; the first reason is kept.
    void refuse(const std::string& why);
    // Asks the scheduler to shut the cluster down; the answer comes as shutdownAnswer(). A refusal (a
    // protected scheduler) leaves the session as it was: the scheduler still serves us.
    void requestShutdown();
    // Sends the goodbye.
    void beginClose(CloseRequest how);
    // After beginClose: a disconnect is done at once.
    bool closeFinished() const;
    // Fails every pending future (the I/O thread is ending).
    void failAll(Outcome outcome, const std::string& message);

    std::chrono::milliseconds waitBudget(TimePoint now) const;
    bool connected() const { return connected_; }    // the scheduler has answered once
    bool registered() const { return registered_; }  // the scheduler knows us now
    const std::string& refusal() const { return refusal_; }
    // The latest answer to requestShutdown, and how many answers came: a new request is answered when the
    // count grows.
    std::optional<bool> shutdownAnswer() const { return shutdownAnswer_; }
    uint64_t shutdownAnswers() const { return shutdownAnswers_; }
    // Times this client sent its unfinished work again to a scheduler that had lost it.
    uint64_t resends() const { return resends_; }
    // The scheduler's --max-message-bytes from its latest echo; 0 until the first.
    uint64_t schedulerMessageLimit() const { return schedulerMessageLimit_; }
    size_t pending() const { return pending_.size(); }

private:
    // What the client keeps of an unfinished task, to send it again if the scheduler loses it.
    struct PendingTask {
        Submission submission;  // for a graph output only `state`: the graph keeps its nodes
        uint64_t graph = 0;     // non-zero: an output of graphs_[graph]
    };
    struct PendingGraph {
        GraphSubmission graph;
        size_t outputsLeft = 0;
    };
    struct LiveObject {
        ObjectUpload upload;
        uint32_t heldByTasks = 0;  // unfinished tasks and graphs that use it
        bool deleted = false;      // by the user; kept while tasks hold it
    };

    void sendHeartbeat(TimePoint now);
    void sendTasks(const std::vector<const Submission*>& tasks);
    void sendGraph(const GraphSubmission& graph, const std::vector<uint64_t>& outputs);
    // The scheduler holds nothing of ours: register afresh with `incarnation`, send every live object
    // again, then (resendIfReady, once they are stored) every unfinished task and graph.
    void startAfresh(uint64_t incarnation, TimePoint now);
    void resendIfReady();
    void holdObjects(const Submission& submission, int delta);
    void forgetRefusedObjects();
    void finish(uint64_t id, Outcome outcome, ResultStream result, std::string message,
                ResultTimings timings = {});
    void onResults(wire::Message::Reader message);
    // Adds one part of a large result; true (and `whole` set) when it was the last.
    bool collectResultPart(wire::TaskResult::Reader part, ResultStream& whole);
    void onCancelConfirms(wire::Message::Reader message);
    void awaitResult(Submission&& submission, TimePoint now);
    void onProtocolError(wire::ProtocolError::Reader error, TimePoint now);
    void failLateWork(TimePoint now);
    std::string unreachableMessage() const;

    FrameSink& out_;
    ObjectUploader uploader_{out_};
    const ClientOptions& options_;
    const std::string address_;
    SubmissionWindow& window_;
    std::atomic<uint64_t>& unmatchedResults_;
    ProcessResourceSampler sampler_;

    std::unordered_map<uint64_t, PendingTask> pending_;
    // Results too large for one message, arriving in parts (TaskResult.totalSize/offset), by task id.
    struct ArrivingResult {
        std::vector<ResultStream::Part> parts;
        uint64_t received = 0;
    };
    std::unordered_map<uint64_t, ArrivingResult> resultParts_;
    std::function<std::shared_ptr<const zmq::message_t>()> keepFrame_;
    std::unordered_map<uint64_t, PendingGraph> graphs_;
    uint64_t nextGraph_ = 1;
    std::map<uint64_t, LiveObject> objects_;  // every object sent and not deleted, by id: kept to resend
    SchedulerRegistration registration_;      // the scheduler our state is with
    bool resending_ = false;                  // objects going again; tasks wait for them (resendIfReady)
    uint64_t resends_ = 0;
    using Deadline = std::pair<TimePoint, uint64_t>;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
    bool connected_ = false;
    bool registered_ = false;
    std::string refusal_;
    std::optional<bool> shutdownAnswer_;
    TimePoint lastHeard_;
    TimePoint lastHeartbeat_{};
    TimePoint nextHeartbeat_{};
    uint32_t latencyUs_ = 0;
    uint64_t schedulerMessageLimit_ = 0;
    bool unreachableReported_ = false;
    // Work that came while the scheduler was silent past the timeout: each fails on its own deadline unless
    // the scheduler is heard from first (then the resend path takes it), so no call waits forever.
    std::deque<std::pair<TimePoint, uint64_t>> lateTasks_;
    std::deque<std::pair<TimePoint, uint64_t>> lateUploads_;
    uint64_t shutdownAnswers_ = 0;
    CloseRequest closing_ = CloseRequest::none;
};

}  // namespace scaler::detail
