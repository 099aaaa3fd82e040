#pragma once
// How a run of queued tasks is shared among the workers that can take them, decided once per run instead of
// once per task: the least loaded workers are raised to a common level (water-filling), so a burst reaches a
// worker as one chunk (one frame) and the cost of choosing is per worker, not per task times workers.
// Each worker gets as many as picking the least loaded worker task by task would give it.

#include <cstdint>
#include <vector>

#include "scaler/scheduler/ids.h"

namespace scaler::scheduler {

struct FillCandidate {
    WorkerSlot worker;
    uint32_t tier;  // lower tiers are filled first (best fit: fewer capabilities); 0 when all are equal
    uint32_t load;  // tasks it holds now
    uint32_t room;  // tasks it may still take (> 0)
    uint64_t lastAssignSequence;  // ties between equal loads go to the least recently given work
};

struct FillShare {
    WorkerSlot worker;
    uint32_t tasks;
};

// The fill order: lower tier, then less loaded, then less recently given work.
inline bool fillsFirst(const FillCandidate& a, const FillCandidate& b) {
    if (a.tier != b.tier) return a.tier < b.tier;
    if (a.load != b.load) return a.load < b.load;
    return a.lastAssignSequence < b.lastAssignSequence;
}

// Shares up to `tasks` tasks (fewer when the rooms run out). The shares come lowest tier first, then least
// loaded first; no share is empty. With `minChunk` > 1 the run goes to only as many workers (first in that
// order) as give each about `minChunk` tasks, where their rooms allow: for short tasks a frame of many beats
// many frames of few, and the workers left out get the next run.
std::vector<FillShare> planFill(std::vector<FillCandidate> candidates, uint64_t tasks, uint32_t minChunk = 1);

}  // namespace scaler::scheduler
