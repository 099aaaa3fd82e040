#pragma once
// The task router: routes each decoded message to the part that handles it and runs the task state machine
// between them. Peers live in a PeerTable, placement and balancing in a Dispatcher, and what else a task's
// end means (statistics, kept results, graph nodes) in TaskEndObservers. Single-threaded; fed decoded
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

#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/protocol/result.h"
#include "scaler/scheduler/config/scheduler_config.h"
#include "scaler/scheduler/graphs/task_graphs.h"
#include "scaler/scheduler/objects/object_store.h"
#include "scaler/scheduler/routing/allocation_policy.h"
#include "scaler/scheduler/routing/capability_set_registry.h"
#include "scaler/scheduler/routing/client_share.h"
#include "scaler/scheduler/routing/client_task_index.h"
#include "scaler/scheduler/routing/dispatcher.h"
#include "scaler/scheduler/routing/kept_results.h"
#include "scaler/scheduler/routing/peer_refusal_log.h"
#include "scaler/scheduler/routing/peer_table.h"
#include "scaler/scheduler/routing/result_assembly.h"
#include "scaler/scheduler/routing/scheduler_outbox.h"
#include "scaler/scheduler/routing/task_end_observer.h"
#include "scaler/scheduler/routing/task_state_counts.h"
#include "scaler/scheduler/routing/task_statistics.h"
#include "scaler/scheduler/routing/task_table.h"
#include "scaler/scheduler/scaling/latency_histogram.h"
#include "scaler/scheduler/scaling/scaling_controller.h"
#include "scaler/scheduler/scaling/task_router_port.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

class SchedulerCore final : private TaskRouterPort, private TaskEndObserver {
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
    void onUndecodableFrame(std::string_view identity, std::string_view why) {
        refusals_.drop(identity, why);
    }
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
    size_t connectedWorkers() const { return peerTable_.workerCount(); }
    size_t connectedClients() const { return peerTable_.clientCount(); }
    // What --max-queued-tasks and --max-queued-bytes bound: every live task and the bytes they carry.
    uint64_t unfinishedTasks() const { return tasks_.liveCount(); }
    uint64_t unfinishedTaskBytes() const { return tasks_.liveBodyBytes(); }
    // Each client's share of those limits now (told in every heartbeat echo).
    ClientShare clientShare() const {
        return scheduler::clientShare(config_.maxQueuedTasks, config_.maxQueuedBytes,
                                      peerTable_.clientCount());
    }
    uint64_t droppedMessages() const { return refusals_.dropped(); }
    TaskTable& tasks() { return tasks_; }
    const TaskTable& tasks() const { return tasks_; }
    // Slots of departed workers stay in the table with live == false.
    const std::vector<WorkerRecord>& workerTable() const { return workers_; }
    const std::vector<ClientRecord>& clientTable() const { return clients_; }
    const PeerTable& peerTable() const { return peerTable_; }
    const Dispatcher& dispatcher() const { return dispatcher_; }
    const TaskStream& taskStream() const { return statistics_.stream(); }
    const CapabilitySetRegistry& capabilitySets() const { return capabilitySets_; }
    const LatencyHistogram& taskLatency() const { return statistics_.latency(); }
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
    void releaseAdapterPeer(const std::string& identity) override { peerTable_.releaseAdapter(identity); }

    // TaskEndObserver, for graph nodes (graph_routing.cpp)
    void onTaskEnding(const TaskRecord& record, TaskEnd& end) override;
    void onTaskEnded(const TaskEnd& end) override;

    // message handlers
    void routeMessage(std::string_view identity, wire::Message::Reader message, RoleSet allowedRoles,
                      std::string_view peerKey);
    // Under CURVE: the connection's key lets it act in the message's role, and speak for this identity.
    bool senderMayAct(std::string_view identity, wire::Message::Which which, RoleSet allowedRoles,
                      std::string_view peerKey, const PeerRegistry::Entry* peer);
    // A registered peer's message, to its handler; `slot` is in its role's table.
    void handleFromPeer(std::string_view identity, uint32_t slot, wire::Message::Reader message);
    void onClientHeartbeat(std::string_view identity, wire::ClientHeartbeat::Reader heartbeat);
    void onWorkerHeartbeat(std::string_view identity, wire::WorkerHeartbeat::Reader heartbeat);
    void onAdapterHeartbeat(std::string_view identity, wire::WorkerAdapterHeartbeat::Reader heartbeat);
    void onTasks(ClientSlot client, capnp::List<wire::Task>::Reader tasks);

    void onClientCancels(ClientSlot client, capnp::List<wire::TaskCancel>::Reader cancels);
    void onClientDisconnect(ClientSlot client, wire::ClientDisconnect::Reader request);
    void onTaskResults(WorkerSlot worker, capnp::List<wire::TaskResult>::Reader results);
    // One part of a result too large for a message: kept until the last; then true with the whole in `whole`.
    // A bad part fails the task.
    bool collectResultPart(TaskIndex index, wire::TaskResult::Reader part, std::string& whole);
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
    // key to its node (nullptr outside a graph). Refused having released what it acquired.
    Status encodeArguments(ClientSlot client, capnp::List<wire::TaskArgument>::Reader args,
                           const std::unordered_map<uint64_t, uint32_t>* nodeIndex, std::string& out);
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
    std::optional<PeerTable::Admission> admit(std::string_view identity, PeerRole role,
                                              uint32_t protocolVersion, uint64_t claimedIncarnation,
                                              bool fresh) {
        return peerTable_.admit(identity, role, protocolVersion, claimedIncarnation, fresh, now_);
    }
    void dropMessage(std::string_view identity, std::string_view why) { refusals_.drop(identity, why); }
    void logRefusal(std::string_view identity, std::string_view kind, std::string_view text) {
        refusals_.refuse(identity, kind, text, now_);
    }
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
    // `previous` saves parsing runs of equal sets). Fills those fields, or says why the task is refused.
    Status checkTask(ClientSlot client, wire::Task::Reader task, CapabilitySetId& previous, NewTask& fields);
    // Frees capability sets no task or waiting graph node used for kCapabilitySetIdleRelease.
    void releaseIdleCapabilitySets();
    // Queues a task: its index, or why it is refused (queue full, duplicate id).
    Result<TaskIndex> createTask(ClientSlot client, const NewTask& task);
    using Outcome = TaskOutcome;
    // Runs the state machine for one event and the new state's entry action. False: event not allowed.
    bool apply(TaskIndex index, TaskEvent event, const Outcome& outcome);
    void setState(TaskRecord& record, TaskState state) { setTaskState(counts_, record, state); }
    void enqueue(TaskIndex index, bool front);
    void assign(TaskIndex index, WorkerSlot worker);
    void detachFromWorker(TaskIndex index);
    // Terminal: tells the observers and the client (when it is still here) and frees the record.
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
    void removeExpiredPeers();

    SchedulerConfig config_;
    SchedulerOutbox& outbox_;
    std::unique_ptr<AllocationPolicy> policy_;
    TimePoint now_;
    TimePoint startedAt_;
    WallTime wallNow_;
    WallTime wallAtStart_;
    PeerRefusalLog refusals_;
    PeerTable peerTable_;
    std::vector<ClientRecord>& clients_;  // peerTable_'s, read here on every message
    std::vector<WorkerRecord>& workers_;
    TaskTable tasks_;
    ClientTaskIndex clientTaskIndex_{tasks_};
    CapabilitySetRegistry capabilitySets_;
    TaskStateCounts counts_;
    uint64_t nextSequence_ = 1;
    ResultAssembly resultParts_;
    bool dispatchNeeded_ = false;
    bool shutdownRequested_ = false;
    TimePoint nextSetRelease_{};

    ObjectStore objects_;
    TaskGraphs graphs_;
    std::unordered_map<TaskIndex, GraphNodeRef> graphNodeOfTask_;
    GraphNodeRef endingNode_;  // between onTaskEnding and onTaskEnded: the graph node whose task ends
    Dispatcher dispatcher_;
    TaskStatistics statistics_;
    KeptResults keptResults_{objects_};
    TaskEndObserver* const taskEndObservers_[3] = {&statistics_, &keptResults_, this};

    ScalingController scaling_;  // last: built from the members above
};

}  // namespace scaler::scheduler
