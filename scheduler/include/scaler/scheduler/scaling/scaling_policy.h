#pragma once
// Scaling policies: pure functions from a snapshot of demand, workers and adapters to start/shutdown
// commands. SchedulerCore builds the snapshot every evaluation period and carries out the commands
// (docs/scaling.md). No sockets, no clocks: ages arrive in the snapshot.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scaler/protocol/capabilities.h"

namespace scaler::scheduler {

// What the scheduler has learnt about one capability set's arrivals and run times (DemandEstimator); the
// predictive policy sizes from it. All zero for a set it has not observed.
struct DemandEstimate {
    double arrivalRate = 0;          // tasks per second, smoothed (Holt level)
    double rateTrend = 0;            // change of arrivalRate per second (Holt trend)
    double meanDurationSeconds = 0;  // run time on a worker, smoothed
    uint64_t observedRunTimes = 0;   // finished tasks that reported a run time
    double quietSeconds = 0;         // since the last arrival
    double longestQuietSeconds =
        0;  // the longest quiet spell after which tasks came again (slowly forgotten)
};

struct DemandView {
    CapabilityList capabilities;  // what the tasks ask for
    uint64_t tasks = 0;           // live tasks with exactly these capabilities: queued or on a worker
    uint64_t queued = 0;          // of those, not yet on a worker
    DemandEstimate estimate;
    double runningAtLeastSeconds = 0;    // RoutedDemand's: a lower bound on run time before any task ends
    uint64_t ended = 0, endedBadly = 0;  // RoutedDemand's running totals
};

struct WorkerView {
    CapabilityList capabilities;
    uint32_t assigned = 0;
    std::string adapterId;  // empty for a worker no adapter started
    std::string groupId;
    bool acceptingTasks = true;  // false while its group drains
};

enum class GroupPhase { pending, starting, running, draining, stopping };

struct GroupView {
    std::string id;  // empty for a start the adapter has not answered yet
    GroupPhase phase = GroupPhase::starting;
    CapabilityList capabilities;
    uint32_t expectedWorkers = 0;
    uint32_t connectedWorkers = 0;
    uint32_t assignedTasks = 0;  // over its connected workers
    double ageSeconds = 0;
};

struct AdapterView {
    std::string id;
    uint32_t maxGroups = 0;
    uint32_t workersPerGroup = 1;
    CapabilityList capabilities;
    std::vector<GroupView> groups;  // including pending starts
    bool startAllowed = true;       // false during the back-off after a failed start
    uint32_t priority = 0;          // tier: lower fills first, higher drains first
    double startupSeconds = 0;      // observed start command to first worker, smoothed; 0 until seen
    double pricePerGroupHour = 0;   // its billing model's price (common/billing_model.h)
};

struct ScalingSnapshot {
    std::vector<DemandView> demand;
    std::vector<WorkerView> workers;
    std::vector<AdapterView> adapters;
};

struct ScalingCommand {
    enum class Action { start, shutdown } action = Action::start;
    size_t adapter = 0;           // index into ScalingSnapshot::adapters
    CapabilityList capabilities;  // start: what the group's workers should offer
    std::string groupId;          // shutdown
    std::string reason;           // the numbers behind the decision, for logs and the monitor
    std::string rule;             // the rule's short name (a metrics label): "ratio_above_upper", ...
};

// How a policy sized one capability set this evaluation: the inputs behind its commands, for the monitor.
struct DemandAssessment {
    CapabilityList capabilities;
    double supplyWorkers = 0;   // capable workers, booting ones included
    double desiredWorkers = 0;  // what the policy sized for
    std::string basis;          // how, with the numbers
};

struct ScalingDecision {
    std::vector<ScalingCommand> commands;
    std::vector<CapabilityList> unschedulable;  // demand nothing present or startable can serve
    std::vector<DemandAssessment> assessments;  // filled by the predictive policy
};

struct ScalingParameters {
    double upperTaskRatio = 10;       // tasks per worker above which a group starts
    double lowerTaskRatio = 1;        // below which an idle group stops
    double minGroupAgeSeconds = 5;    // a group younger than this is never stopped
    double drainTimeoutSeconds = 30;  // carried out by the scheduler, not the policy
    // Stability (ScalingGovernor); 0 turns each rule off.
    double scaleUpCooldownSeconds = 0;         // between starts on one adapter, across evaluations
    double scaleDownCooldownSeconds = 0;       // after any start or stop on the adapter, before a stop
    double scaleDownStabilizationSeconds = 0;  // no stop while more capacity was wanted this recently
    uint32_t minGroupsPerAdapter = 0;          // kept running (started if missing), demand or not
    uint32_t maxGroupsPerAdapter = 0;          // at most this many, below the adapter's own limit
    uint32_t maxStartsPerMinute = 0;           // launch-rate limit per adapter
    double maxCostPerHour = 0;  // a start that would take the adapters' cost an hour above this is held
    // Predictive sizing (PredictiveScalingPolicy, DemandEstimator).
    double targetBacklogSeconds = 5;  // queued work should be done within this, once new groups are up
    double rateWindowSeconds = 60;    // time constant of the arrival-rate and trend smoothing
    double targetUtilization = 0.8;   // steady-state workers = rate x duration / this
    uint32_t minObservations = 20;    // run times seen before a set is sized by forecast, not ratios
    // capability and predictive: start an adapter whose workers offer capabilities a set does not ask for
    // (a gpu adapter for plain tasks) for that set too. Off: only when no plain adapter could serve the set,
    // or the special one is in a cheaper tier.
    bool lendSpecialAdapters = false;
};

// profile=conservative|balanced|aggressive: documented presets of the stability parameters (docs/scaling.md);
// explicit parameters in the same policy content override them. Throws std::invalid_argument for another
// name.
void applyScalingProfile(std::string_view profile, ScalingParameters& parameters);

class ScalingPolicy {
public:
    virtual ~ScalingPolicy() = default;
    virtual std::string_view name() const = 0;
    virtual ScalingDecision decide(const ScalingSnapshot& snapshot) const = 0;
    const ScalingParameters& parameters() const { return parameters_; }

protected:
    explicit ScalingPolicy(ScalingParameters parameters) : parameters_(parameters) {}
    ScalingParameters parameters_;
};

// `parameters` are the policy content's extra keys (upper_task_ratio, lower_task_ratio,
// min_group_age_seconds, drain_timeout_seconds, profile, ...). Throws std::invalid_argument naming an unknown
// policy, an unknown parameter or a bad value.
std::unique_ptr<ScalingPolicy> makeScalingPolicy(std::string_view name,
                                                 const std::map<std::string, std::string>& parameters);

// `no`: never scales.
class NoScalingPolicy final : public ScalingPolicy {
public:
    explicit NoScalingPolicy(ScalingParameters p) : ScalingPolicy(p) {}
    std::string_view name() const override { return "no"; }
    ScalingDecision decide(const ScalingSnapshot&) const override { return {}; }
};

// `vanilla`: one pool; tasks per worker above upper starts a group, below lower stops an idle one.
class VanillaScalingPolicy final : public ScalingPolicy {
public:
    explicit VanillaScalingPolicy(ScalingParameters p) : ScalingPolicy(p) {}
    std::string_view name() const override { return "vanilla"; }
    ScalingDecision decide(const ScalingSnapshot& snapshot) const override;
};

// `capability`: the vanilla rule per capability set, starting groups with the capabilities the tasks need
// on adapters that offer them.
class CapabilityScalingPolicy final : public ScalingPolicy {
public:
    explicit CapabilityScalingPolicy(ScalingParameters p) : ScalingPolicy(p) {}
    std::string_view name() const override { return "capability"; }
    ScalingDecision decide(const ScalingSnapshot& snapshot) const override;
};

// `predictive`: per capability set, sizes supply from the smoothed arrival rate (with its trend over the
// start-up horizon), the mean run time and the queued work, so the backlog is done within
// target_backlog_seconds of new groups coming up; keeps the steady-state share while arrivals are expected
// to resume (quiet no longer than 1.5x the longest quiet spell they came back after) and stops every
// surplus idle group at once. Sets with fewer than min_observations run times use the capability rules.
class PredictiveScalingPolicy final : public ScalingPolicy {
public:
    explicit PredictiveScalingPolicy(ScalingParameters p) : ScalingPolicy(p) {}
    std::string_view name() const override { return "predictive"; }
    ScalingDecision decide(const ScalingSnapshot& snapshot) const override;
};

// `fixed_elastic`: adapters with max_worker_groups == 1 are primaries, started first (and restarted when
// lost) and never stopped; the others burst when demand exceeds what is running.
class FixedElasticScalingPolicy final : public ScalingPolicy {
public:
    explicit FixedElasticScalingPolicy(ScalingParameters p) : ScalingPolicy(p) {}
    std::string_view name() const override { return "fixed_elastic"; }
    ScalingDecision decide(const ScalingSnapshot& snapshot) const override;
};

}  // namespace scaler::scheduler
