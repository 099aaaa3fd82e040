#include <gtest/gtest.h>

#include <numeric>

#include "scaler/scheduler/routing/allocation_policy.h"

using namespace scaler;
using namespace scaler::scheduler;

namespace {

// Builds a worker with `load` tasks; every task but the oldest is movable. Task ids are worker*1000+k.
BalanceWorker worker(uint32_t id, const CapabilityList& caps, uint32_t load, const CapabilityList& taskCaps) {
    BalanceWorker w{id, &caps, load, {}};
    for (uint32_t k = load; k-- > 1;) w.movable.push_back({id * 1000 + k, &taskCaps});
    return w;
}

std::vector<uint32_t> finalLoads(const std::vector<BalanceWorker>& workers,
                                 const std::vector<TaskMove>& moves) {
    std::vector<uint32_t> loads;
    for (const auto& w : workers) loads.push_back(w.load);
    for (const auto& m : moves) {
        --loads[m.fromWorker];
        ++loads[m.toWorker];
    }
    return loads;
}

const CapabilityList kNone_{};
const CapabilityList kGpu = parseCapabilities("gpu");
const CapabilityList kLinux = parseCapabilities("linux");

}  // namespace

TEST(Balance, ReferenceExampleOneLoadedWorkerSevenIdle) {
    // reference §4.1: one worker with 8 tasks, 7 idle workers: all 7 queued tasks move
    std::vector<BalanceWorker> workers{worker(0, kNone_, 8, kNone_)};
    for (uint32_t i = 1; i < 8; ++i) workers.push_back(worker(i, kNone_, 0, kNone_));
    const auto moves = planBalance(EvenLoadAllocationPolicy{}, workers, 100);
    EXPECT_EQ(moves.size(), 7u);
    const auto loads = finalLoads(workers, moves);
    for (uint32_t l : loads) EXPECT_EQ(l, 1u);
}

TEST(Balance, NothingMovesWithoutAnIdleWorker) {
    std::vector<BalanceWorker> workers{worker(0, kNone_, 9, kNone_), worker(1, kNone_, 1, kNone_)};
    EXPECT_TRUE(planBalance(EvenLoadAllocationPolicy{}, workers, 100).empty());
}

TEST(Balance, AnIdleWorkerThatTakesNoTasksReceivesNone) {
    // near its memory limit: idle, but dispatch gives it nothing, so no move is planned toward it
    std::vector<BalanceWorker> workers{worker(0, kNone_, 6, kNone_), worker(1, kNone_, 0, kNone_),
                                       worker(2, kNone_, 0, kNone_)};
    workers[1].mayReceive = false;
    const auto moves = planBalance(EvenLoadAllocationPolicy{}, workers, 100);
    ASSERT_FALSE(moves.empty());
    for (const auto& m : moves) EXPECT_EQ(m.toWorker, 2u);
    workers[2].mayReceive = false;
    EXPECT_TRUE(planBalance(EvenLoadAllocationPolicy{}, workers, 100).empty());
}

TEST(Balance, FewerTasksThanWorkersStillSpreads) {
    // reference bug §12.8: avg < 1 made idle workers look balanced, so nothing moved
    std::vector<BalanceWorker> workers{worker(0, kNone_, 3, kNone_)};
    for (uint32_t i = 1; i < 5; ++i) workers.push_back(worker(i, kNone_, 0, kNone_));
    const auto moves = planBalance(CapabilityAllocationPolicy{}, workers, 100);
    EXPECT_EQ(moves.size(), 2u);
    const auto loads = finalLoads(workers, moves);
    EXPECT_EQ(*std::max_element(loads.begin(), loads.end()), 1u);
}

TEST(Balance, ReferenceInfiniteLoopCaseTerminatesEvenly) {
    // reference bug §12.8: loads (0,0,3,3,3,4) looped forever
    std::vector<BalanceWorker> workers;
    const uint32_t loads[] = {0, 0, 3, 3, 3, 4};
    for (uint32_t i = 0; i < 6; ++i) workers.push_back(worker(i, kNone_, loads[i], kNone_));
    const auto moves = planBalance(CapabilityAllocationPolicy{}, workers, 1000);
    const auto after = finalLoads(workers, moves);
    EXPECT_EQ(std::accumulate(after.begin(), after.end(), 0u), 13u);
    EXPECT_LE(*std::max_element(after.begin(), after.end()) - *std::min_element(after.begin(), after.end()),
              1u);
}

TEST(Balance, CapabilityTasksOnlyMoveToWorkersThatCanRunThem) {
    std::vector<BalanceWorker> workers{worker(0, kGpu, 5, kGpu), worker(1, kLinux, 0, kNone_)};
    EXPECT_TRUE(planBalance(CapabilityAllocationPolicy{}, workers, 100).empty());
    // even_load too: a task that asks for a capability never moves where it is missing
    EXPECT_TRUE(planBalance(EvenLoadAllocationPolicy{}, workers, 100).empty());
    workers.push_back(worker(2, kGpu, 0, kNone_));
    const auto moves = planBalance(CapabilityAllocationPolicy{}, workers, 100);
    ASSERT_FALSE(moves.empty());
    for (const auto& m : moves) EXPECT_EQ(m.toWorker, 2u);
}

TEST(Balance, RunningTaskNeverMoves) {
    std::vector<BalanceWorker> workers{worker(0, kNone_, 1, kNone_), worker(1, kNone_, 0, kNone_)};
    EXPECT_TRUE(planBalance(EvenLoadAllocationPolicy{}, workers, 100).empty());
}

TEST(Balance, MoveLimitIsRespected) {
    std::vector<BalanceWorker> workers{worker(0, kNone_, 100, kNone_)};
    for (uint32_t i = 1; i < 50; ++i) workers.push_back(worker(i, kNone_, 0, kNone_));
    EXPECT_EQ(planBalance(EvenLoadAllocationPolicy{}, workers, 10).size(), 10u);
}
