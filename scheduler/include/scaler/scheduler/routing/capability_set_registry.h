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
    std::vector<WorkerSlot> eligibleWorkers;  // kept current by the Dispatcher on worker join/leave
    uint64_t liveTasks = 0;                   // queued or on a worker: the scaling policy's demand
    // finished tasks of this set by terminal state (succeeded .. timedOut), for the metrics
    std::array<uint64_t, 5> finished{};
    DemandCounters counters;  // arrivals and run times, for the DemandEstimator
    // when its tasks on workers went from none to some, and when one of its tasks last finished on a worker:
    // a task given out since the later of the two and not finished has run at least that long
    std::chrono::steady_clock::time_point busySince{}, lastFinishAt{};
    bool live = true;  // false: released (no task or graph used it for a while); the id waits for reuse
    std::chrono::steady_clock::time_point lastUsed{};  // made, or its last live task ended
    uint32_t creator = UINT32_MAX;  // the client slot that brought it, for the per-client cap
};

class CapabilitySetRegistry {
public:
    static constexpr size_t kMaxSets = 4096;          // bounds memory against clients inventing sets
    static constexpr size_t kMaxSetsPerClient = 256;  // so one client cannot take every set from the others

    CapabilitySetRegistry();
    enum class Refusal { none, full, clientFull };
    // The set's id, a new one (reusing a released id first) brought by `client`, or nullopt with `refusal`.
    std::optional<CapabilitySetId> intern(const CapabilityList& capabilities, uint32_t client,
                                          std::chrono::steady_clock::time_point now, Refusal& refusal);
    CapabilitySetEntry& operator[](CapabilitySetId id) { return sets_[id]; }
    const CapabilitySetEntry& operator[](CapabilitySetId id) const { return sets_[id]; }
    // Ids handed out so far, released ones included: loops over ids skip entries that are not live.
    size_t size() const { return sets_.size(); }
    size_t liveSets() const { return sets_.size() - free_.size(); }
    // Releases every set but the empty one with no live task, not in `referenced` (waiting graph nodes use
    // it; indexed by id, may be shorter) and unused since `idleBefore`. Returns the ids released.
    std::vector<CapabilitySetId> releaseIdle(std::chrono::steady_clock::time_point idleBefore,
                                             const std::vector<uint8_t>& referenced);
    // The client's slot is free: the sets it brought no longer count against anyone.
    void forgetClient(uint32_t client);

private:
    std::vector<CapabilitySetEntry> sets_;
    std::vector<CapabilitySetId> free_;
    std::unordered_map<std::string, CapabilitySetId> byKey_;
};

}  // namespace scaler::scheduler
