#pragma once
// Interns the distinct capability sets tasks ask for. Each set has its own FIFO of queued tasks, so a task
// no worker can run waits without blocking tasks of other sets (the reference's head-of-line blocking).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scaler/protocol/capabilities.h"
#include "scaler/scheduler/routing/priority_task_queue.h"
#include "scaler/scheduler/routing/task_table.h"
#include "scaler/scheduler/scaling/demand_estimator.h"

namespace scaler::scheduler {

struct CapabilitySetEntry {
    CapabilityList capabilities;
    PriorityTaskQueue queue;
    std::vector<WorkerSlot> eligibleWorkers;  // kept current by SchedulerCore on worker join/leave
    uint64_t liveTasks = 0;                   // queued or on a worker: the scaling policy's demand
    // finished tasks of this set by terminal state (succeeded .. timedOut), for the metrics
    std::array<uint64_t, 5> finished{};
    DemandCounters counters;  // arrivals and run times, for the DemandEstimator
    // when its tasks on workers went from none to some, and when one of its tasks last finished on a worker:
    // a task given out since the later of the two and not finished has run at least that long
    std::chrono::steady_clock::time_point busySince{}, lastFinishAt{};
};

class CapabilitySetRegistry {
public:
    static constexpr size_t kMaxSets = 4096;  // bounds memory against clients inventing sets

    CapabilitySetRegistry();
    // nullopt when the registry is full.
    std::optional<CapabilitySetId> intern(const CapabilityList& capabilities);
    CapabilitySetEntry& operator[](CapabilitySetId id) { return sets_[id]; }
    const CapabilitySetEntry& operator[](CapabilitySetId id) const { return sets_[id]; }
    size_t size() const { return sets_.size(); }

private:
    std::vector<CapabilitySetEntry> sets_;
    std::unordered_map<std::string, CapabilitySetId> byKey_;
};

}  // namespace scaler::scheduler
