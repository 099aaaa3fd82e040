#pragma once
// The one interface between the scaling controller and the task router (SchedulerCore implements it).
// The controller reads demand and workers through it and asks the router to act on workers; it never sees
// a task. Everything else the controller needs arrives as messages (adapter heartbeats and responses) or
// as calls from the router (a worker of a group connected, tasks no worker can run arrived).

#include <string>
#include <string_view>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/scheduler/ids.h"
#include "scaler/scheduler/scaling/demand_estimator.h"

namespace scaler::scheduler {

// One capability set tasks have asked for (every set the router has interned, live or not).
struct RoutedDemand {
    CapabilitySetId set = 0;
    const CapabilityList* capabilities = nullptr;
    uint64_t liveTasks = 0;  // queued or on a worker
    uint64_t queued = 0;     // of those, not yet on a worker
    const DemandCounters* counters = nullptr;
    // Tasks on workers and none finished for this long: each of them runs at least this long (0: none on a
    // worker). What the scaler knows of long tasks before the first one ends.
    double runningAtLeastSeconds = 0;
    // Tasks of this set that ended on a worker since the scheduler started, and of those the ones that did
    // not succeed (failed, worker died, timed out): the governor's circuit breaker.
    uint64_t ended = 0, endedBadly = 0;
};

// One connected worker as routing sees it. The views are valid until the router next changes.
struct RoutedWorker {
    std::string_view identity;
    const CapabilityList* capabilities = nullptr;
    uint32_t assigned = 0;
    std::string_view adapterId;  // empty: started by hand
    std::string_view groupId;
    bool acceptingTasks = true;
};

class TaskRouterPort {
public:
    virtual ~TaskRouterPort() = default;
    virtual std::vector<RoutedDemand> demand() const = 0;
    virtual std::vector<RoutedWorker> workers() const = 0;
    // A group drains: its workers take no new tasks and hand back those they have not started.
    virtual void drainGroup(std::string_view adapterId, std::string_view groupId) = 0;
    // The worker is dead (its adapter stopped listing it): its tasks go back to the queue now.
    virtual void removeDeadWorker(std::string_view identity, const std::string& why) = 0;
    // An adapter the controller forgot (timed out): its identity is free again.
    virtual void releaseAdapterPeer(const std::string& identity) = 0;
    // No adapter can start workers for `set`: unless a connected worker can run its tasks, the queued ones
    // fail now (rejected, with `why`) instead of waiting without end. How many failed.
    virtual size_t rejectQueuedWithoutWorker(CapabilitySetId set, const std::string& why) = 0;
};

// What the scaling controller sends; SchedulerOutbox implements it with the rest of the scheduler's sends.
class AdapterOutbox {
public:
    virtual ~AdapterOutbox() = default;
    virtual void sendAdapterHeartbeatEcho(PeerId adapter) = 0;
    virtual void sendAdapterCommand(PeerId adapter, uint64_t requestId,
                                    wire::WorkerAdapterCommandType command, std::string_view workerGroupId,
                                    const CapabilityList& capabilities) = 0;
};

}  // namespace scaler::scheduler
