#include <gtest/gtest.h>

#include <map>
#include <random>

#include "scaler/scheduler/routing/worker_fill_plan.h"

using namespace scaler::scheduler;

namespace {

std::map<WorkerSlot, uint32_t> counts(const std::vector<FillShare>& shares) {
    std::map<WorkerSlot, uint32_t> out;
    for (const auto& s : shares) {
        EXPECT_GT(s.tasks, 0u) << "worker " << s.worker;
        out[s.worker] += s.tasks;
    }
    return out;
}

// The rule the plan replaces: each task to the lowest tier, then least loaded, then least recently used.
std::map<WorkerSlot, uint32_t> taskByTask(std::vector<FillCandidate> candidates, uint64_t tasks) {
    std::map<WorkerSlot, uint32_t> out;
    uint64_t sequence = 1'000'000;
    for (uint64_t t = 0; t < tasks; ++t) {
        FillCandidate* best = nullptr;
        for (auto& c : candidates) {
            if (c.room == 0) continue;
            if (!best || c.tier < best->tier ||
                (c.tier == best->tier &&
                 (c.load < best->load ||
                  (c.load == best->load && c.lastAssignSequence < best->lastAssignSequence))))
                best = &c;
        }
        if (!best) break;
        ++best->load;
        --best->room;
        best->lastAssignSequence = ++sequence;
        ++out[best->worker];
    }
    return out;
}

}  // namespace

TEST(WorkerFillPlan, RaisesTheLeastLoadedToACommonLevel) {
    // loads 0, 2, 5 with room 10 each; 6 tasks: 0 -> 4 and 2 -> 4 takes exactly 6
    const auto shares = planFill({{0, 0, 5, 10, 0}, {1, 0, 0, 10, 0}, {2, 0, 2, 10, 0}}, 6);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{1, 4}, {2, 2}}));
    EXPECT_EQ(shares.front().worker, 1u) << "least loaded first";
}

TEST(WorkerFillPlan, ABurstOverManyEqualWorkersGoesOutInEqualChunks) {
    std::vector<FillCandidate> idle;
    for (WorkerSlot w = 0; w < 1024; ++w) idle.push_back({w, 0, 0, 1000, w});
    const auto shares = planFill(idle, 4096);
    ASSERT_EQ(shares.size(), 1024u);
    for (const auto& s : shares) EXPECT_EQ(s.tasks, 4u);
}

TEST(WorkerFillPlan, AMinimumChunkUsesFewerWorkersWithLargerShares) {
    std::vector<FillCandidate> idle;
    for (WorkerSlot w = 0; w < 1024; ++w) idle.push_back({w, 0, 0, 1000, w});
    const auto shares = planFill(idle, 4096, 64);
    ASSERT_EQ(shares.size(), 64u);
    for (size_t i = 0; i < shares.size(); ++i) {
        EXPECT_EQ(shares[i].tasks, 64u);
        EXPECT_EQ(shares[i].worker, i) << "the least recently used first";
    }
}

TEST(WorkerFillPlan, AMinimumChunkStillTakesMoreWorkersWhenTheirRoomIsShort) {
    // 100 tasks in chunks of 50 would use 2 workers, but each has room for 30: 4 are needed
    std::vector<FillCandidate> workers;
    for (WorkerSlot w = 0; w < 8; ++w) workers.push_back({w, 0, 0, 30, w});
    const auto shares = planFill(workers, 100, 50);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{0, 25}, {1, 25}, {2, 25}, {3, 25}}));
}

TEST(WorkerFillPlan, AMinimumChunkPrefersTheLeastLoaded) {
    const auto shares = planFill({{0, 0, 9, 100, 0}, {1, 0, 0, 100, 5}, {2, 0, 3, 100, 1}}, 20, 10);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{1, 11}, {2, 9}}));
}

TEST(WorkerFillPlan, TheRemainderGoesToTheLeastRecentlyUsed) {
    const auto shares = planFill({{0, 0, 1, 5, 30}, {1, 0, 1, 5, 10}, {2, 0, 1, 5, 20}}, 4);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{0, 1}, {1, 2}, {2, 1}}));
}

TEST(WorkerFillPlan, RoomCapsAShareAndTheRestGoesElsewhere) {
    const auto shares = planFill({{0, 0, 0, 1, 0}, {1, 0, 3, 10, 0}}, 5);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{0, 1}, {1, 4}}));
}

TEST(WorkerFillPlan, MoreTasksThanRoomFillsEveryWorker) {
    const auto shares = planFill({{0, 0, 0, 2, 0}, {1, 0, 7, 3, 0}}, 100);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{0, 2}, {1, 3}}));
}

TEST(WorkerFillPlan, ALowerTierIsFilledBeforeAHigherOne) {
    // best fit: the plain worker (tier 0) takes all it can although the gpu worker (tier 1) is idle
    const auto shares = planFill({{0, 1, 0, 10, 0}, {1, 0, 4, 6, 0}}, 8);
    EXPECT_EQ(counts(shares), (std::map<WorkerSlot, uint32_t>{{0, 2}, {1, 6}}));
    EXPECT_EQ(shares.front().worker, 1u);
}

TEST(WorkerFillPlan, NoCandidatesOrNoTasksGiveNoShares) {
    EXPECT_TRUE(planFill({}, 10).empty());
    EXPECT_TRUE(planFill({{0, 0, 0, 10, 0}}, 0).empty());
}

TEST(WorkerFillPlan, GivesEachWorkerWhatTaskByTaskPickingWould) {
    std::mt19937 random(7);
    for (int round = 0; round < 2000; ++round) {
        std::vector<FillCandidate> candidates;
        const uint32_t n = 1 + random() % 12;
        for (WorkerSlot w = 0; w < n; ++w) {
            candidates.push_back({w, static_cast<uint32_t>(random() % 2), static_cast<uint32_t>(random() % 6),
                                  static_cast<uint32_t>(1 + random() % 6),
                                  static_cast<uint64_t>(random() % 100)});
        }
        const uint64_t tasks = 1 + random() % 40;
        EXPECT_EQ(counts(planFill(candidates, tasks)), taskByTask(candidates, tasks)) << "round " << round;
        if (HasFailure()) break;
    }
}
