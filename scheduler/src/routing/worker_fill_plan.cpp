#include "scaler/scheduler/routing/worker_fill_plan.h"

#include <algorithm>

namespace scaler::scheduler {
namespace {

// Tasks the tier takes when every worker is raised to `level`, capped by its room.
uint64_t takenAtLevel(const FillCandidate* begin, const FillCandidate* end, uint64_t level) {
    uint64_t taken = 0;
    for (const FillCandidate* c = begin; c != end; ++c) {
        if (level > c->load) taken += std::min<uint64_t>(c->room, level - c->load);
    }
    return taken;
}

// Fills one tier (candidates of equal tier, sorted by load then recency) with up to `tasks`; returns the
// number given.
uint64_t fillTier(const FillCandidate* begin, const FillCandidate* end, uint64_t tasks,
                  std::vector<FillShare>& shares) {
    uint64_t top = 0;  // a level at which every worker is full
    for (const FillCandidate* c = begin; c != end; ++c)
        top = std::max<uint64_t>(top, uint64_t{c->load} + c->room);
    if (takenAtLevel(begin, end, top) <= tasks) {
        uint64_t given = 0;
        for (const FillCandidate* c = begin; c != end; ++c) {
            shares.push_back({c->worker, c->room});
            given += c->room;
        }
        return given;
    }
    // the lowest level that takes at least `tasks`: taken(level) is monotonic, so bisect
    uint64_t low = begin->load, high = top;  // taken(low) == 0 < tasks <= taken(high)
    while (high - low > 1) {
        const uint64_t mid = low + (high - low) / 2;
        (takenAtLevel(begin, end, mid) >= tasks ? high : low) = mid;
    }
    // everyone up to `low`, then one more each to the least recently used workers that can still rise
    uint64_t extra = tasks - takenAtLevel(begin, end, low);
    std::vector<const FillCandidate*> rising;
    for (const FillCandidate* c = begin; c != end; ++c) {
        if (high > c->load && low - std::min<uint64_t>(low, c->load) < c->room) rising.push_back(c);
    }
    // Task by task, a worker given work in this run is more recently used than one that was not, and of two
    // given work the one that started lower got its last task later: so the most loaded go first.
    std::stable_sort(rising.begin(), rising.end(), [](const FillCandidate* a, const FillCandidate* b) {
        if (a->load != b->load) return a->load > b->load;
        return a->lastAssignSequence < b->lastAssignSequence;
    });
    std::vector<bool> bonus(static_cast<size_t>(end - begin), false);
    for (size_t i = 0; i < rising.size() && extra > 0; ++i, --extra)
        bonus[static_cast<size_t>(rising[i] - begin)] = true;
    for (const FillCandidate* c = begin; c != end; ++c) {
        const uint64_t base = low > c->load ? std::min<uint64_t>(c->room, low - c->load) : 0;
        const uint64_t share = base + (bonus[static_cast<size_t>(c - begin)] ? 1 : 0);
        if (share > 0) shares.push_back({c->worker, static_cast<uint32_t>(share)});
    }
    return tasks;
}

}  // namespace

std::vector<FillShare> planFill(std::vector<FillCandidate> candidates, uint64_t tasks, uint32_t minChunk) {
    std::vector<FillShare> shares;
    std::sort(candidates.begin(), candidates.end(), fillsFirst);
    if (minChunk > 1) {
        size_t used = static_cast<size_t>((tasks + minChunk - 1) / minChunk);
        uint64_t room = 0;
        for (size_t i = 0; i < candidates.size() && i < used; ++i) room += candidates[i].room;
        for (; used < candidates.size() && room < tasks; ++used) room += candidates[used].room;
        if (used < candidates.size()) candidates.resize(used);
    }
    const FillCandidate* begin = candidates.data();
    const FillCandidate* const end = begin + candidates.size();
    while (begin != end && tasks > 0) {
        const FillCandidate* tierEnd = begin;
        while (tierEnd != end && tierEnd->tier == begin->tier) ++tierEnd;
        tasks -= fillTier(begin, tierEnd, tasks, shares);
        begin = tierEnd;
    }
    return shares;
}

}  // namespace scaler::scheduler
