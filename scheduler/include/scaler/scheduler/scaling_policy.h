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

struct DemandView {
    CapabilityList capabilities;  // what the tasks ask for
    uint64_t tasks = 0;           // live tasks with exactly these capabilities: queued or on a worker
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
};

struct ScalingDecision {
    std::vector<ScalingCommand> commands;
    std::vector<CapabilityList> unschedulable;  // demand nothing present or startable can serve
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
};

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
// min_group_age_seconds, drain_timeout_seconds). Throws std::invalid_argument naming an unknown policy,
// an unknown parameter or a bad value.
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

// `fixed_elastic`: adapters with max_worker_groups == 1 are primaries, started first (and restarted when
// lost) and never stopped; the others burst when demand exceeds what is running.
class FixedElasticScalingPolicy final : public ScalingPolicy {
public:
    explicit FixedElasticScalingPolicy(ScalingParameters p) : ScalingPolicy(p) {}
    std::string_view name() const override { return "fixed_elastic"; }
    ScalingDecision decide(const ScalingSnapshot& snapshot) const override;
};

}  // namespace scaler::scheduler
