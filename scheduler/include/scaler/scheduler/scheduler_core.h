#pragma once
// The scheduler's logic: clients, workers and tasks. Single-threaded; fed decoded messages and the time by
// SchedulerServer (or a test), answers through a SchedulerOutbox. docs/architecture.md describes it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/scheduler/allocation_policy.h"
#include "scaler/scheduler/capability_set_registry.h"
#include "scaler/scheduler/client_task_index.h"
#include "scaler/scheduler/demand_estimator.h"
#include "scaler/scheduler/scaling_policy.h"
#include "scaler/scheduler/scheduler_config.h"
#include "scaler/scheduler/scaling_governor.h"
#include "scaler/scheduler/scheduler_metrics.h"
#include "scaler/scheduler/scheduler_outbox.h"
#include "scaler/scheduler/task_table.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

enum class PeerRole : uint8_t { client, worker, adapter };

// The roles a connection may act in: every role without authentication; with CURVE, the one its key's
// allow-list grants.
using RoleSet = uint8_t;
constexpr RoleSet roleBit(PeerRole role) {
    return static_cast<RoleSet>(1u << static_cast<unsigned>(role));
}
inline constexpr RoleSet kEveryRole = 0x7;

constexpr const char* roleName(PeerRole role) {
    return role == PeerRole::client ? "client" : role == PeerRole::worker ? "worker" : "adapter";
}

// The role whose peers send `which`; nullopt for messages only the scheduler sends.
std::optional<PeerRole> senderRole(wire::Message::Which which);

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
    TaskList assigned;  // oldest first; the oldest is taken to be running
    TimePoint lastSeen{};
    uint64_t lastAssignSequence = 0;  // ties between equally loaded workers go to the least recently used
    bool acceptingTasks = true;
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
    // Consecutive adapter heartbeats whose inventory no longer lists this worker (see
    // removeWorkersGoneFromInventory).
    uint8_t missingFromInventory = 0;
};

struct WorkerGroupRecord {
    std::string id;
    GroupPhase phase = GroupPhase::starting;  // starting/running are refreshed from connected workers
    CapabilityList capabilities;
    std::vector<std::string> workerIds;
    TimePoint createdAt{};
    TimePoint commandedAt{};  // when its start command was sent; unset for a group adopted from an inventory
    bool workerSeen = false;  // a worker of the group has connected (its start-up time is measured)
    TimePoint drainDeadline{};
};

struct PendingAdapterCommand {
    uint64_t requestId = 0;
    wire::WorkerAdapterCommandType command = wire::WorkerAdapterCommandType::START_WORKER_GROUP;
    CapabilityList capabilities;
    std::string groupId;
    TimePoint sentAt{};
};

struct AdapterRecord {
    PeerId peer = kNone;
    std::string identity;  // also the adapter id its workers report
    std::string kind;
    uint32_t maxGroups = 0;
    uint32_t priority = 0;  // tier (docs/scaling.md#tiers)
    uint32_t workersPerGroup = 1;
    CapabilityList capabilities;
    TimePoint lastSeen{};
    TimePoint startBlockedUntil{};
    std::map<std::string, WorkerGroupRecord> groups;
    std::vector<PendingAdapterCommand> pending;
    double startupSeconds = 0;  // start command to first worker, smoothed; 0 until measured
    bool live = false;
};

struct ScalingEventRecord {
    uint64_t unixMs;
    std::string adapterId;
    std::string action;
    std::string groupId;
    std::string reason;
};

// What the latest scaling evaluation saw and held back, for the monitor.
struct HeldScalingRecord {
    std::string adapterId, action, heldBecause, wantedBecause;
};
struct DemandRecord {
    DemandView demand;
    double supplyWorkers = 0, desiredWorkers = 0;
    std::string basis;
};

struct TaskStateCounts {
    uint64_t byState[static_cast<size_t>(TaskState::rejected) + 1] = {};
    uint64_t operator[](TaskState s) const { return byState[static_cast<size_t>(s)]; }
};

class SchedulerCore {
public:
    SchedulerCore(SchedulerConfig config, SchedulerOutbox& outbox, TimePoint now);

    void setNow(TimePoint now) { now_ = now; }
    TimePoint now() const { return now_; }

    // One decoded frame from `identity`, whose connection may act in `allowedRoles`. A bad, misdirected or
    // unauthorised message is logged and dropped.
    void onMessage(std::string_view identity, wire::Message::Reader message,
                   RoleSet allowedRoles = kEveryRole);
    // Timeouts and balancing; call at least every second.
    void onTick();
    // Assigns queued tasks to workers with room. Call after a batch of messages; cheap when idle.
    void dispatch();

    void writeSnapshot(wire::MonitorSnapshot::Builder snapshot) const;
    // The Prometheus text exposition of the scheduler's state and counters (scheduler_core_metrics.cpp).
    std::string renderMetrics() const;

    bool shutdownRequested() const { return shutdownRequested_; }
    const TaskStateCounts& counts() const { return counts_; }
    uint64_t queuedTasks() const { return counts_[TaskState::queued]; }
    size_t connectedWorkers() const { return workerCount_; }
    size_t connectedClients() const { return clientCount_; }
    uint64_t droppedMessages() const { return droppedMessages_; }
    TaskTable& tasks() { return tasks_; }
    const WorkerRecord* findWorker(std::string_view identity) const;
    const AdapterRecord* findAdapter(std::string_view identity) const;
    const std::deque<ScalingEventRecord>& scalingEvents() const { return scalingEvents_; }
    // The snapshot the scaling policy sees now (exposed for tests and the monitor).
    ScalingSnapshot scalingSnapshot() const;
    const SchedulerConfig& config() const { return config_; }

private:
    struct PeerEntry {
        PeerRole role;
        uint32_t slot;  // ClientSlot or WorkerSlot
        PeerId peer;
    };
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    // message handlers
    void onClientHeartbeat(std::string_view identity, wire::ClientHeartbeat::Reader heartbeat);
    void onWorkerHeartbeat(std::string_view identity, wire::WorkerHeartbeat::Reader heartbeat);
    void onTasks(ClientSlot client, capnp::List<wire::Task>::Reader tasks);
    void onClientCancels(ClientSlot client, capnp::List<wire::TaskCancel>::Reader cancels);
    void onClientDisconnect(ClientSlot client, wire::ClientDisconnect::Reader request);
    void onTaskResults(WorkerSlot worker, capnp::List<wire::TaskResult>::Reader results);
    void onCancelConfirms(WorkerSlot worker, capnp::List<wire::TaskCancelConfirm>::Reader confirms);
    void onWorkerDisconnectRequest(WorkerSlot worker);

    // worker adapters and scaling (scheduler_core_scaling.cpp)
    void onAdapterHeartbeat(std::string_view identity, wire::WorkerAdapterHeartbeat::Reader heartbeat);
    void onAdapterResponse(uint32_t adapter, wire::WorkerAdapterCommandResponse::Reader response);
    void removeAdapter(uint32_t adapter, std::string_view why);
    // A worker whose adapter stops listing it (the process exited) is dead: handled at once instead of
    // after the worker timeout.
    void removeWorkersGoneFromInventory(const AdapterRecord& adapter);
    void evaluateScaling();
    // Keeps what the evaluation saw and held back for the monitor, and logs held commands.
    void recordEvaluation(const ScalingSnapshot& snapshot, const ScalingDecision& decision,
                          const std::vector<HeldCommand>& held);
    void progressGroups();
    // `rule`: the short name of the rule behind an event, the metrics label (the reason has the numbers).
    void beginDrain(AdapterRecord& adapter, WorkerGroupRecord& group, const std::string& reason,
                    const std::string& rule);
    void sendShutdown(AdapterRecord& adapter, WorkerGroupRecord& group, const std::string& reason,
                      const std::string& rule);
    void recordEvent(const std::string& adapterId, const std::string& action, const std::string& groupId,
                     const std::string& reason, const std::string& rule);
    bool groupDraining(std::string_view adapterId, std::string_view groupId) const;
    // A worker of a group connected: the first one's arrival measures the adapter's start-up time.
    void noteGroupWorkerConnected(std::string_view adapterId, std::string_view groupId);

    // peers
    const PeerEntry* findPeer(std::string_view identity) const;
    PeerId registerPeer(const std::string& identity, PeerRole role, uint32_t slot);
    struct Admission {
        uint32_t slot;  // in clients_, workers_ or adapters_, by role
        bool isNew;
    };
    // A heartbeating peer of `role`: its record, registered now if new. nullopt (answered with a protocol
    // error and dropped) for a wrong version or an identity registered with another role.
    std::optional<Admission> admitPeer(std::string_view identity, PeerRole role, uint32_t protocolVersion);
    void releasePeer(const std::string& identity);
    bool checkVersion(std::string_view identity, uint32_t version);
    void dropMessage(std::string_view identity, std::string_view why);
    void removeClient(ClientSlot client, std::string_view why);
    enum class WorkerExit { died, left };
    void removeWorker(WorkerSlot worker, WorkerExit how, std::string_view why);

    // tasks
    struct Outcome {
        std::string_view payload;
        std::string_view error;
        uint64_t durationUs = 0;
    };
    // Runs the state machine for one event and the new state's entry action. False: event not allowed.
    bool apply(TaskIndex index, TaskEvent event, const Outcome& outcome);
    void setState(TaskRecord& record, TaskState state);
    void enqueue(TaskIndex index, bool front);
    void assign(TaskIndex index, WorkerSlot worker);
    void detachFromWorker(TaskIndex index);
    // Terminal: tells the client (when it is still here) and frees the record.
    void finish(TaskIndex index, TaskState terminal, std::string_view payload, std::string_view error,
                uint64_t durationUs);
    void rejectTask(ClientSlot client, uint64_t clientTaskId, std::string_view why);
    void applyWorkerLoss(TaskIndex index, WorkerExit how);
    WorkerSlot pickWorker(CapabilitySetId set) const;
    void refreshEligibility(CapabilitySetId set);
    void refreshAllEligibility();
    void balance();

    SchedulerConfig config_;
    SchedulerOutbox& outbox_;
    std::unique_ptr<AllocationPolicy> policy_;
    TimePoint now_;
    TimePoint startedAt_;
    SchedulerMetrics metrics_;

    TaskTable tasks_;
    ClientTaskIndex clientTaskIndex_;
    CapabilitySetRegistry capabilitySets_;
    std::vector<ClientRecord> clients_;
    std::vector<WorkerRecord> workers_;
    std::vector<ClientSlot> freeClientSlots_;
    std::vector<WorkerSlot> freeWorkerSlots_;
    std::unordered_map<std::string, PeerEntry, StringHash, std::equal_to<>> peers_;
    std::vector<PeerId> freePeerIds_;
    PeerId nextPeerId_ = 0;
    size_t clientCount_ = 0;
    size_t workerCount_ = 0;

    TaskStateCounts counts_;
    uint64_t nextSequence_ = 1;
    uint64_t droppedMessages_ = 0;
    bool dispatchNeeded_ = false;
    bool shutdownRequested_ = false;
    TimePoint nextBalance_;
    int balanceStreak_ = 0;
    std::vector<uint8_t> setBlocked_;  // dispatch scratch

    std::unique_ptr<ScalingPolicy> scalingPolicy_;
    ScalingGovernor governor_;  // after scalingPolicy_: built from its parameters
    DemandEstimator estimator_;  // likewise
    std::vector<AdapterRecord> adapters_;
    std::vector<uint32_t> freeAdapterSlots_;
    size_t adapterCount_ = 0;
    uint64_t nextRequestId_ = 1;
    TimePoint nextScaling_;
    bool scalingUrgent_ = false;  // tasks arrived that no connected worker can run
    TimePoint lastUrgentScaling_{};
    std::deque<ScalingEventRecord> scalingEvents_;  // the latest, for the monitor
    std::vector<std::string> unschedulable_;
    std::vector<HeldScalingRecord> heldScaling_;  // from the latest evaluation
    std::vector<DemandRecord> demandSeen_;        // likewise
    std::string heldRulesLogged_;                 // the held rules last logged at INFO
};

}  // namespace scaler::scheduler
