#pragma once
// The task router: clients, workers and tasks, and the peers they connect as. Single-threaded; fed decoded
// messages and the time by SchedulerServer (or a test), answers through a SchedulerOutbox. It owns the
// scaling controller and serves it through TaskRouterPort (docs/architecture.md).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scaler/common/log_throttle.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/scheduler/config/scheduler_config.h"
#include "scaler/scheduler/graphs/task_graphs.h"
#include "scaler/scheduler/monitoring/task_stream.h"
#include "scaler/scheduler/objects/object_store.h"
#include "scaler/scheduler/routing/allocation_policy.h"
#include "scaler/scheduler/routing/capability_set_registry.h"
#include "scaler/scheduler/routing/client_task_index.h"
#include "scaler/scheduler/routing/peer_registry.h"
#include "scaler/scheduler/routing/scheduler_outbox.h"
#include "scaler/scheduler/routing/task_table.h"
#include "scaler/scheduler/routing/worker_fill_plan.h"
#include "scaler/scheduler/scaling/latency_histogram.h"
#include "scaler/scheduler/scaling/scaling_controller.h"
#include "scaler/scheduler/scaling/task_router_port.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

struct ClientRecord {
    PeerId peer = kNone;
    std::string identity;
    TaskList tasks;
    TimePoint lastSeen{};
    bool live = false;
};

struct WorkerRecord {
    PeerId peer = kNone;
    std::string identity;
    CapabilityList capabilities;
    uint32_t queueSize = 1;
    TaskList assigned;     // oldest first; the oldest is taken to be running
    uint32_t waiting = 0;  // running tasks waiting for tasks they submitted: each lends its slot
    TimePoint lastSeen{};
    uint64_t lastAssignSequence = 0;  // ties between equally loaded workers go to the least recently used
    bool acceptingTasks = true;
    uint64_t memoryLimit = 0;  // from its heartbeat; 0: unknown
    bool memoryFull = false;   // resident memory reached 90% of the limit and has not yet fallen under 80%
    bool live = false;
    // from the latest heartbeat
    uint32_t reportedQueued = 0;
    uint32_t reportedRunning = 0;
    uint64_t reportedCompleted = 0;
    ResourceSample resource;
    std::string adapterId;
    std::string workerGroupId;
    uint32_t pid = 0;
    std::string hostname;
    uint64_t objectsFetched = 0;
    uint64_t objectBytesFetched = 0;
    uint64_t objectCacheBytes = 0;
    uint64_t grantedObject =
        0;  // the object it last fetched for a task it holds: its next chunk is checked fast

    // Given new tasks, by dispatch or balancing, and counted as supply by scaling: not draining, and not
    // near its memory limit.
    bool takesNewTasks() const { return acceptingTasks && !memoryFull; }
};

// Tasks by state: live states count tasks in them now, terminal states count tasks that ended there. Changed
// only through enter (a task is born in a state) and move (a transition).
class TaskStateCounts {
public:
    uint64_t operator[](TaskState s) const { return byState_[static_cast<size_t>(s)]; }
    void enter(TaskState s) { ++byState_[static_cast<size_t>(s)]; }
    void move(TaskState from, TaskState to) {
        if (!isTerminal(from)) --byState_[static_cast<size_t>(from)];
        ++byState_[static_cast<size_t>(to)];
    }

private:
    uint64_t byState_[static_cast<size_t>(TaskState::rejected) + 1] = {};
};

class SchedulerCore final : private TaskRouterPort {
public:
    // Throws std::invalid_argument for a bad scaling policy (the config parser has checked it already).
    SchedulerCore(SchedulerConfig config, SchedulerOutbox& outbox, TimePoint now,
                  WallTime wallNow = WallClock::now());

    // The monotonic time drives timeouts; wall-clock time stamps events and picks scheduled floors. Without
    // a wall time it advances with the monotonic one (tests, the simulator).
    // A capability set no task or waiting graph node used for this long is freed (a name a client made up
    // does not hold one of the registry's ids for good); the release pass runs this often.
    static constexpr std::chrono::seconds kCapabilitySetIdleRelease{300};
    static constexpr std::chrono::seconds kCapabilitySetReleaseInterval{10};

    void setNow(TimePoint now) { setNow(now, wallAtStart_ + (now - startedAt_)); }
    void setNow(TimePoint now, WallTime wallNow);
    TimePoint now() const { return now_; }
    WallTime wallNow() const { return wallNow_; }
    TimePoint startedAt() const { return startedAt_; }

    // One decoded frame from `identity`, whose connection may act in `allowedRoles`. A bad, misdirected or
    // unauthorised message is logged and dropped.
    // `peerKey`: under CURVE, the public key of the connection it came by (the identity is bound to the
    // first).
    void onMessage(std::string_view identity, wire::Message::Reader message,
                   RoleSet allowedRoles = kEveryRole, std::string_view peerKey = {});
    // A frame that never became a message (not one frame, not Cap'n Proto): counted and logged, throttled,
    // with the others.
    void onUndecodableFrame(std::string_view identity, std::string_view why) { dropMessage(identity, why); }
    // The peer's connection closed (ConnectionWatch): a worker is dead at once, its tasks go back to the
    // queue; clients and adapters keep their records (a client reconnects; an adapter's inventory speaks).
    void onConnectionClosed(std::string_view identity);
    // Timeouts and balancing; call at least every second.
    void onTick();
    // Assigns queued tasks to workers with room. Call after a batch of messages; cheap when idle.
    void dispatch();

    bool shutdownRequested() const { return shutdownRequested_; }
    // The process is stopping (SIGTERM): every client and worker is told at once, with `why`, that the tasks
    // they had here are forgotten. Returns how many tasks were on workers.
    uint64_t stopServing(std::string_view why);
    const SchedulerConfig& config() const { return config_; }
    const TaskStateCounts& counts() const { return counts_; }
    uint64_t queuedTasks() const { return counts_[TaskState::queued]; }
    size_t connectedWorkers() const { return workerCount_; }
    size_t connectedClients() const { return clientCount_; }
    uint64_t droppedMessages() const { return droppedMessages_; }
    TaskTable& tasks() { return tasks_; }
    const TaskTable& tasks() const { return tasks_; }
    // Slots of departed workers stay in the table with live == false.
    const std::vector<WorkerRecord>& workerTable() const { return workers_; }
    const std::vector<ClientRecord>& clientTable() const { return clients_; }
    const TaskStream& taskStream() const { return taskStream_; }
    const CapabilitySetRegistry& capabilitySets() const { return capabilitySets_; }
    const LatencyHistogram& taskLatency() const { return taskLatency_; }
    const ScalingController& scaling() const { return scaling_; }
    const ObjectStore& objects() const { return objects_; }
    const TaskGraphs& graphs() const { return graphs_; }

private:
    // TaskRouterPort, for the scaling controller
    std::vector<RoutedDemand> demand() const override;
    std::vector<RoutedWorker> workers() const override;
    void drainGroup(std::string_view adapterId, std::string_view groupId) override;
    void removeDeadWorker(std::string_view identity, const std::string& why) override;
    size_t rejectQueuedWithoutWorker(CapabilitySetId set, const std::string& why) override;
    void releaseAdapterPeer(const std::string& identity) override { peers_.release(identity); }

    // message handlers
    void routeMessage(std::string_view identity, wire::Message::Reader message, RoleSet allowedRoles,
                      std::string_view peerKey);
    void onClientHeartbeat(std::string_view identity, wire::ClientHeartbeat::Reader heartbeat);
    void onWorkerHeartbeat(std::string_view identity, wire::WorkerHeartbeat::Reader heartbeat);
    void onAdapterHeartbeat(std::string_view identity, wire::WorkerAdapterHeartbeat::Reader heartbeat);
    void onTasks(ClientSlot client, capnp::List<wire::Task>::Reader tasks);

    void onClientCancels(ClientSlot client, capnp::List<wire::TaskCancel>::Reader cancels);
    void onClientDisconnect(ClientSlot client, wire::ClientDisconnect::Reader request);
    void onTaskResults(WorkerSlot worker, capnp::List<wire::TaskResult>::Reader results);
    // One part of a result too large for a message: kept until the last; then the whole (and the parts are
    // forgotten). A bad part fails the task and gives nullopt, as do the parts before the last.
    std::optional<std::string> collectResultPart(TaskIndex index, wire::TaskResult::Reader part);
    // Whether the worker holds a task (queued there, running or waiting) with this object among its
    // arguments: a worker reads an object only for the tasks it was given.
    bool workerNeedsObject(WorkerSlot worker, uint64_t handle) const;
    void onCancelConfirms(WorkerSlot worker, capnp::List<wire::TaskCancelConfirm>::Reader confirms);
    void onWorkerDisconnectRequest(WorkerSlot worker);
    void onTaskWaiting(WorkerSlot worker, wire::TaskWaiting::Reader waiting);

    // objects (docs/architecture.md#objects)
    void onObjectPut(ClientSlot client, wire::ObjectPut::Reader put);
    void onObjectDelete(ClientSlot client, wire::ObjectDelete::Reader request);
    void onObjectRequest(WorkerSlot worker, wire::ObjectRequest::Reader request);
    // Encodes a task's wire arguments; objects resolve to handles and are acquired. `nodeIndex` maps a graph
    // key to its node (nullptr outside a graph). Returns why not, having released what it acquired.
    std::optional<std::string> encodeArguments(ClientSlot client,
                                               capnp::List<wire::TaskArgument>::Reader args,
                                               const std::unordered_map<uint64_t, uint32_t>* nodeIndex,
                                               std::string& out);
    void releaseArgumentObjects(std::string_view encoded);

    // graphs (docs/architecture.md#graphs)
    void onTaskGraph(ClientSlot client, wire::TaskGraph::Reader graph);
    void releaseGraphNode(uint32_t graph, uint32_t node);
    // The node no longer needs its inputs' results (released or ended): each input with no other dependent
    // left drops its result.
    void forgetInputs(uint32_t graph, uint32_t node);
    void onGraphNodeFinished(GraphNodeRef ref, TaskState terminal, const std::string& error,
                             std::string_view payload);
    // Ends waiting nodes that can no longer run: each output among them is told `error` (or a cancel).
    void failDependents(GraphNodeRef from, TaskState terminal, const std::string& error);
    void endWaitingNode(GraphNodeRef ref, TaskState terminal, const std::string& error);
    void dropNodeResult(GraphNode& node);
    void cancelGraph(uint32_t graph);
    void dropGraph(uint32_t graph);

    // peers
    struct Admission {
        uint32_t slot;  // in clients_, workers_ or the scaling controller's adapters, by role
        bool isNew;
    };
    // A heartbeating peer of `role`: its record, registered now if new. nullopt (answered with a protocol
    // error and dropped) for a wrong version or an identity registered with another role.
    // `claimedIncarnation`, `fresh`: the heartbeat's scheduler incarnation and freshSession (see
    // ProtocolError.stateLost).
    std::optional<Admission> admitPeer(std::string_view identity, PeerRole role, uint32_t protocolVersion,
                                       uint64_t claimedIncarnation, bool fresh);
    bool checkVersion(std::string_view identity, uint32_t version);
    void dropMessage(std::string_view identity, std::string_view why);
    // A refused request, logged a few times per peer and kind in a window; the next line says how many were
    // not.
    void logRefusal(std::string_view identity, std::string_view kind, std::string_view text);
    // Notes the worker's memory against its limit; near it (90%, until under 80%) it gets no new tasks and
    // counts as no supply for scaling.
    void noteWorkerMemory(WorkerRecord& worker, uint64_t limit);
    void removeClient(ClientSlot client, std::string_view why);
    enum class WorkerExit { died, left };
    void removeWorker(WorkerSlot worker, WorkerExit how, std::string_view why);

    // tasks
    // The fields of a new task; `body` is the payload or the encoded arguments.
    struct NewTask {
        uint64_t clientTaskId = 0;
        std::string_view functionName;
        std::string_view body;
        bool hasArguments = false;
        CapabilitySetId capabilitySet = 0;
        uint32_t timeoutMs = 0;
        int16_t priority = 0;
        bool profiling = false;
        uint32_t arrivedMs = 0;
    };
    // The checks every task takes, plain or a graph node: function name, priority, capability set (interned;
    // `previous` saves parsing runs of equal sets). Fills those fields; returns why the task is refused.
    std::optional<std::string> checkTask(ClientSlot client, wire::Task::Reader task,
                                         CapabilitySetId& previous, NewTask& fields);
    // Frees capability sets no task or waiting graph node used for kCapabilitySetIdleRelease.
    void releaseIdleCapabilitySets();
    // Queues a task; kNone and `why` when refused (queue full, duplicate id).
    TaskIndex createTask(ClientSlot client, const NewTask& task, std::string& why);
    struct Outcome {
        std::string_view payload;
        std::string_view error;
        TaskTimings timings;
    };
    // Runs the state machine for one event and the new state's entry action. False: event not allowed.
    bool apply(TaskIndex index, TaskEvent event, const Outcome& outcome);
    void setState(TaskRecord& record, TaskState state);
    void enqueue(TaskIndex index, bool front);
    void assign(TaskIndex index, WorkerSlot worker);
    void detachFromWorker(TaskIndex index);
    // Terminal: tells the client (when it is still here) and frees the record.
    // A sample of finished tasks for the dashboard (TaskStream).
    void noteInTaskStream(const TaskRecord& record, TaskState terminal, uint64_t durationUs);
    void finish(TaskIndex index, TaskState terminal, const Outcome& outcome);
    // Answers a task the scheduler refuses, and logs it (throttled).
    void rejectTask(ClientSlot client, uint64_t clientTaskId, std::string_view why);
    // The answer alone: for many refusals that one log line explains (a graph's outputs).
    void answerRejected(ClientSlot client, uint64_t clientTaskId, std::string_view why);
    void applyWorkerLoss(TaskIndex index, WorkerExit how);
    // The worker reported that the process it ran the task in died (WORKER_DIED from a worker): counted as
    // a worker death of this task alone.
    void applyTaskProcessLoss(TaskIndex index, std::string_view why);
    // A death of the task's worker (or of the process it ran the task in: `cause`): queued again, or failed
    // once past the retry limit.
    void countWorkerDeath(TaskIndex index, std::string_view cause);
    // the workers that may take `set`'s next tasks now, into fillCandidates_
    void collectFillCandidates(CapabilitySetId set);
    uint64_t leadingRun(CapabilitySetId set, CapabilitySetId rival, uint64_t limit) const;
    uint32_t minChunkOf(CapabilitySetId set) const;
    void refreshEligibility(CapabilitySetId set);
    void refreshAllEligibility();
    void balance();

    SchedulerConfig config_;
    SchedulerOutbox& outbox_;
    std::unique_ptr<AllocationPolicy> policy_;
    TimePoint now_;
    TimePoint startedAt_;
    WallTime wallNow_;
    WallTime wallAtStart_;
    LatencyHistogram taskLatency_;  // from arrival at the scheduler to the result leaving it
    TaskStream taskStream_;

    PeerRegistry peers_;
    TaskTable tasks_;
    ClientTaskIndex clientTaskIndex_{tasks_};
    CapabilitySetRegistry capabilitySets_;
    std::vector<ClientRecord> clients_;
    std::vector<WorkerRecord> workers_;
    std::vector<ClientSlot> freeClientSlots_;
    std::vector<WorkerSlot> freeWorkerSlots_;
    size_t clientCount_ = 0;
    size_t workerCount_ = 0;

    TaskStateCounts counts_;
    uint64_t nextSequence_ = 1;
    uint64_t droppedMessages_ = 0;
    // Large results arriving in parts, by task handle; their bytes count against the object store's limit.
    std::unordered_map<uint64_t, std::string> resultParts_;
    uint64_t resultPartBytes_ = 0;
    LogThrottle refusalLog_;
    LogThrottle stateLostLog_{std::chrono::seconds(10), 1};
    uint64_t stateLostAnswers_ = 0;  // heartbeats that named a scheduler state this one does not hold
    bool dispatchNeeded_ = false;
    bool shutdownRequested_ = false;
    TimePoint nextBalance_;
    TimePoint nextSetRelease_{};
    int balanceStreak_ = 0;
    std::vector<uint8_t> setBlocked_;            // dispatch scratch
    std::vector<FillCandidate> fillCandidates_;  // dispatch scratch

    ObjectStore objects_;
    TaskGraphs graphs_;
    std::unordered_map<TaskIndex, GraphNodeRef> graphNodeOfTask_;
    std::unordered_map<TaskIndex, uint64_t> keptResultOf_;  // task -> the client's object id for its result

    ScalingController scaling_;  // last: built from the members above
};

}  // namespace scaler::scheduler
