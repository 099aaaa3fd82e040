#pragma once
// The scaling controller: worker adapters and their groups, the commands sent to them, policy evaluation
// under the governor, demand estimation, scaling events and their metrics. It sits beside the task router
// (SchedulerCore), which owns it and feeds it adapter messages and the time; the two talk only through
// TaskRouterPort. Single-threaded, no sockets: tests drive it with injected time.

#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/result.h"
#include "scaler/scheduler/ids.h"
#include "scaler/scheduler/scaling/adapter_bill.h"
#include "scaler/scheduler/scaling/demand_estimator.h"
#include "scaler/scheduler/scaling/latency_histogram.h"
#include "scaler/scheduler/scaling/scaling_governor.h"
#include "scaler/scheduler/scaling/scaling_policy.h"
#include "scaler/scheduler/scaling/scaling_schedule.h"
#include "scaler/scheduler/scaling/task_router_port.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

struct WorkerGroupRecord {
    std::string id;
    GroupPhase phase = GroupPhase::starting;  // starting/running are refreshed from connected workers
    CapabilityList capabilities;
    std::vector<std::string> workerIds;
    TimePoint createdAt{};
    TimePoint commandedAt{};  // when its start command was sent; unset for a group adopted from an inventory
    bool workerSeen = false;  // a worker of the group has connected (its start-up time is measured)
    bool failureReported = false;  // its adapter reported it FAILED, and the failed start was counted
    TimePoint drainDeadline{};
    // Its run is billed from its start command, else from when it was first seen (adopted).
    TimePoint billedFrom() const { return commandedAt != TimePoint{} ? commandedAt : createdAt; }
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
    // Consecutive inventories that no longer list a connected worker, by worker identity.
    std::unordered_map<std::string, uint8_t> missingFromInventory;
    double startupSeconds = 0;        // start command to first worker, smoothed; 0 until measured
    uint32_t failedStartsInARow = 0;  // launchFailed answers since its last successful start
    bool live = false;
    AdapterBill bill;  // what its groups have cost, by its billing model
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

// What the controller counts for the metrics endpoint: bounded label values only.
struct ScalingMetrics {
    std::map<std::pair<std::string, std::string>, uint64_t> decisions;               // (action, rule)
    std::map<std::pair<std::string, std::string>, LatencyHistogram> commandLatency;  // (adapter, command)
    // (adapter, command, status): commands that failed or went unanswered
    std::map<std::tuple<std::string, std::string, std::string>, uint64_t> commandFailures;
};

struct ScalingControllerConfig {
    std::string policy = "no";
    std::map<std::string, std::string> parameters;  // the policy content's extra keys
    std::vector<ScheduleRule> schedule;
    double intervalSeconds = 1;
    double adapterTimeoutSeconds = 30;
};

class ScalingController {
public:
    static constexpr std::chrono::seconds kStartBackoff{5};  // after a failed start on an adapter
    // After this many launch failures in a row on every adapter that could serve a capability set, its queued
    // tasks fail (when no connected worker can run them) rather than wait for workers that never come.
    static constexpr uint32_t kFailedStartsBeforeRejecting = 3;
    // ... and after that many, the adapter gets no start for this long (then one try).
    static constexpr std::chrono::seconds kFailingAdapterQuiet{60};
    static constexpr std::chrono::seconds kCommandTimeout{30};      // an unanswered command is given up
    static constexpr std::chrono::seconds kGroupStartTimeout{120};  // workers that never connect
    static constexpr size_t kMaxEvents = 64;                        // kept for the monitor

    // Throws std::invalid_argument for an unknown policy or a bad parameter.
    ScalingController(ScalingControllerConfig config, TaskRouterPort& router, AdapterOutbox& outbox,
                      TimePoint now, WallTime wallNow);

    void setNow(TimePoint now, WallTime wallNow) {
        now_ = now;
        wallNow_ = wallNow;
    }

    // ---- from the router -------------------------------------------------------------------------------
    // A new adapter peer: its slot. The router has registered its identity as `peer`.
    AdapterSlot addAdapter(const std::string& identity, PeerId peer);
    void onAdapterHeartbeat(AdapterSlot slot, wire::WorkerAdapterHeartbeat::Reader heartbeat);
    // Taken, or why the response is dropped.
    Status onAdapterResponse(AdapterSlot slot, wire::WorkerAdapterCommandResponse::Reader response);
    // Adapter timeouts and the periodic evaluation; call at least every second.
    void onTick();
    // The router released this capability set's id: what was learnt of its demand goes with it.
    void forgetCapabilitySet(CapabilitySetId set) { estimator_.forget(set); }
    // Tasks arrived that no connected worker can run: evaluate soon rather than at the next interval.
    void noteUnservedDemand() {
        if (adapterCount_ > 0) urgent_ = true;
    }
    // Evaluates now if noteUnservedDemand asked for it (at most every 100 ms); called before dispatching.
    void evaluateIfUrgent();
    // A worker of a group connected: the first one's arrival measures the adapter's start-up time.
    void noteGroupWorkerConnected(std::string_view adapterId, std::string_view groupId);
    bool groupDraining(std::string_view adapterId, std::string_view groupId) const;

    // ---- for the monitor, the metrics and tests -------------------------------------------------------
    const AdapterRecord* findAdapter(std::string_view identity) const;
    const std::vector<AdapterRecord>& adapters() const { return adapters_; }
    size_t adapterCount() const { return adapterCount_; }
    const std::deque<ScalingEventRecord>& events() const { return events_; }
    const std::vector<std::string>& unschedulable() const { return unschedulable_; }
    const std::vector<HeldScalingRecord>& held() const { return held_; }
    const std::vector<DemandRecord>& demandSeen() const { return demandSeen_; }
    const ScalingMetrics& metrics() const { return metrics_; }
    // The snapshot the scaling policy sees now.
    ScalingSnapshot snapshot() const;

private:
    double secondsSinceStart() const;
    void evaluate();
    void recordEvaluation(const ScalingSnapshot& snapshot, const ScalingDecision& decision,
                          const std::vector<HeldCommand>& held);
    void noteUnschedulable(const ScalingDecision& decision);
    // Fails the queued tasks no adapter can start workers for (kFailedStartsBeforeRejecting); `why`: the
    // latest failure.
    void rejectWhatNoAdapterCanServe(const std::string& adapterId, const std::string& why);
    // A start that failed: answered launchFailed, or reported FAILED in the inventory afterwards. Backs off,
    // and opens the circuit after kFailedStartsBeforeRejecting launch failures in a row.
    void onStartFailed(AdapterRecord& adapter, const std::string& groupId, const std::string& why,
                       const std::string& label, bool launchFailure);
    void carryOut(const ScalingSnapshot& snapshot, const ScalingDecision& decision);
    void progressGroups();
    void expireCommands(AdapterRecord& adapter);
    void removeWorkersGoneFromInventory(AdapterRecord& adapter);
    void removeAdapter(AdapterSlot slot, std::string_view why);
    AdapterSlot slotOf(std::string_view identity) const;  // kNone: no live adapter by that name
    AdapterRecord* adapterById(std::string_view identity);
    // `rule`: the short name of the rule behind an event, the metrics label (the reason has the numbers).
    void beginDrain(AdapterRecord& adapter, WorkerGroupRecord& group, const std::string& reason,
                    const std::string& rule);
    void sendShutdown(AdapterRecord& adapter, WorkerGroupRecord& group, const std::string& reason,
                      const std::string& rule);
    void recordEvent(const std::string& adapterId, const std::string& action, const std::string& groupId,
                     const std::string& reason, const std::string& rule);

    ScalingControllerConfig config_;
    TaskRouterPort& router_;
    AdapterOutbox& outbox_;
    TimePoint now_;
    WallTime wallNow_;
    TimePoint startedAt_;
    std::unique_ptr<ScalingPolicy> policy_;
    ScalingGovernor governor_;   // after policy_: built from its parameters
    DemandEstimator estimator_;  // likewise
    std::vector<AdapterRecord> adapters_;
    std::vector<AdapterSlot> freeAdapterSlots_;
    size_t adapterCount_ = 0;
    uint64_t nextRequestId_ = 1;
    TimePoint nextEvaluation_;
    bool urgent_ = false;
    TimePoint lastUrgentEvaluation_{};
    std::deque<ScalingEventRecord> events_;
    std::vector<std::string> unschedulable_;
    std::vector<HeldScalingRecord> held_;   // from the latest evaluation
    std::vector<DemandRecord> demandSeen_;  // likewise
    std::string heldRulesLogged_;           // the held rules last logged at INFO
    ScalingMetrics metrics_;
};

}  // namespace scaler::scheduler
