// The Dispatcher over its own tables: no SchedulerCore, no messages. Tasks are queued straight into their
// capability set's queue, workers are records, and what it sends is recorded.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scaler/scheduler/routing/dispatcher.h"
#include "scaler/scheduler/routing/scheduler_outbox.h"

namespace scaler::scheduler {
namespace {

using namespace std::chrono_literals;

class SentTasks : public DiscardingOutbox {
public:
    void sendTask(PeerId worker, uint64_t handle, size_t) override { sent.push_back({worker, handle}); }
    struct Sent {
        PeerId worker;
        uint64_t handle;
    };
    std::vector<Sent> sent;
};

class DispatcherTest : public ::testing::Test {
protected:
    void make(BalanceSettings balance = {}) {
        dispatcher =
            std::make_unique<Dispatcher>(*policy, balance, tasks, sets, workers, counts, outbox, now);
    }
    void SetUp() override { make(); }

    WorkerSlot addWorker(const std::string& caps = "", uint32_t queueSize = 10) {
        const auto slot = static_cast<WorkerSlot>(workers.size());
        WorkerRecord& w = workers.emplace_back();
        w.peer = slot;  // the recorded peer is the slot
        w.identity = "W" + std::to_string(slot);
        w.capabilities = parseCapabilities(caps);
        w.queueSize = queueSize;
        w.live = true;
        dispatcher->refreshAllEligibility();
        return slot;
    }
    CapabilitySetId setOf(const std::string& caps) {
        CapabilitySetRegistry::Refusal refusal;
        const auto before = sets.liveSets();
        const CapabilitySetId id = *sets.intern(parseCapabilities(caps), 0, now, refusal);
        if (sets.liveSets() != before) dispatcher->refreshEligibility(id);
        return id;
    }
    TaskIndex queue(const std::string& caps = "", int16_t priority = 0) {
        const TaskIndex index = tasks.allocate();
        TaskRecord& record = tasks[index];
        record.sequence = nextSequence++;
        record.capabilitySet = setOf(caps);
        record.priority = priority;
        record.state = TaskState::queued;
        counts.enter(TaskState::queued);
        ++sets[record.capabilitySet].liveTasks;
        sets[record.capabilitySet].queue.pushBack(tasks, index);
        return index;
    }
    // A run of `count` tasks of the default set was measured at `seconds` each.
    void measured(uint64_t count, double seconds) {
        DemandCounters& c = sets[setOf("")].counters;
        c.timedRuns += count;
        c.runSeconds += seconds * static_cast<double>(count);
    }
    std::map<PeerId, int> perWorker() const {
        std::map<PeerId, int> n;
        for (const auto& s : outbox.sent) ++n[s.worker];
        return n;
    }

    std::unique_ptr<AllocationPolicy> policy = makeAllocationPolicy("capability");
    TaskTable tasks;
    CapabilitySetRegistry sets;
    std::vector<WorkerRecord> workers;
    TaskStateCounts counts;
    SentTasks outbox;
    PeerTime now = PeerTime{} + 1000s;
    uint64_t nextSequence = 1;
    std::unique_ptr<Dispatcher> dispatcher;
};

TEST_F(DispatcherTest, ShortTasksGoOutInChunksToFewerWorkers) {
    for (int w = 0; w < 8; ++w) addWorker("", 1000);
    measured(1, 10e-6);  // 10 µs: 100 tasks make a millisecond
    EXPECT_EQ(dispatcher->minChunkOf(setOf("")), 100u);
    for (int i = 0; i < 150; ++i) queue();
    dispatcher->dispatch(now);
    const auto n = perWorker();
    EXPECT_EQ(n.size(), 2u) << "150 tasks in chunks of about 100: two workers";
    for (const auto& [worker, count] : n) EXPECT_EQ(count, 75) << worker;
    EXPECT_EQ(counts[TaskState::assigned], 150u);
    EXPECT_EQ(counts[TaskState::queued], 0u);
}

TEST_F(DispatcherTest, LongTasksAndTasksOfUnknownLengthAreSpreadOneByOne) {
    for (int w = 0; w < 8; ++w) addWorker("", 1000);
    EXPECT_EQ(dispatcher->minChunkOf(setOf("")), 1u) << "no task has finished yet";
    for (int i = 0; i < 16; ++i) queue();
    dispatcher->dispatch(now);
    EXPECT_EQ(perWorker().size(), 8u);
    measured(1, 2.0);
    EXPECT_EQ(dispatcher->minChunkOf(setOf("")), 1u);
}

TEST_F(DispatcherTest, ChunksAreCappedAt256Tasks) {
    measured(1, 1e-9);
    EXPECT_EQ(dispatcher->minChunkOf(setOf("")), 256u);
}

TEST_F(DispatcherTest, HigherPrioritiesRunFirstAndEqualOnesInArrivalOrder) {
    const TaskIndex low = queue("", 0);
    const TaskIndex highGpu = queue("gpu", 5);
    const TaskIndex high = queue("", 5);
    const TaskIndex lowLater = queue("", 0);
    addWorker("gpu", 4);
    dispatcher->dispatch(now);
    ASSERT_EQ(outbox.sent.size(), 4u);
    EXPECT_EQ(outbox.sent[0].handle, tasks.handleOf(highGpu));
    EXPECT_EQ(outbox.sent[1].handle, tasks.handleOf(high));
    EXPECT_EQ(outbox.sent[2].handle, tasks.handleOf(low));
    EXPECT_EQ(outbox.sent[3].handle, tasks.handleOf(lowLater));
}

TEST_F(DispatcherTest, ATaskNoWorkerCanRunWaitsWithoutBlockingOthers) {
    addWorker("", 10);
    const TaskIndex gpu = queue("gpu");
    const TaskIndex plain = queue("");
    dispatcher->dispatch(now);
    ASSERT_EQ(outbox.sent.size(), 1u);
    EXPECT_EQ(outbox.sent[0].handle, tasks.handleOf(plain));
    EXPECT_EQ(tasks[gpu].state, TaskState::queued);
    addWorker("gpu", 10);
    dispatcher->dispatch(now);
    ASSERT_EQ(outbox.sent.size(), 2u);
    EXPECT_EQ(outbox.sent[1].handle, tasks.handleOf(gpu));
    EXPECT_EQ(outbox.sent[1].worker, 1u);
}

TEST_F(DispatcherTest, AWorkerFullOrNearItsMemoryLimitTakesNothing) {
    const WorkerSlot small = addWorker("", 1);
    const WorkerSlot full = addWorker("", 10);
    workers[full].memoryFull = true;
    for (int i = 0; i < 3; ++i) queue();
    dispatcher->dispatch(now);
    ASSERT_EQ(outbox.sent.size(), 1u);
    EXPECT_EQ(outbox.sent[0].worker, small);
    EXPECT_EQ(counts[TaskState::queued], 2u);
    // a waiting task lends its slot
    workers[small].waiting = 1;
    dispatcher->dispatch(now);
    EXPECT_EQ(outbox.sent.size(), 2u);
}

TEST_F(DispatcherTest, AJoiningWorkerIsBalancedTowardAtTheNextTickKnownImbalancesOnlyWhenSeenTwice) {
    make({1.0, 2});
    const WorkerSlot busy = addWorker("", 10);
    for (int i = 0; i < 8; ++i) queue();
    dispatcher->dispatch(now);
    ASSERT_EQ(workers[busy].assigned.size, 8u);
    EXPECT_TRUE(dispatcher->balanceIfDue(now + 500ms).empty()) << "not due yet";

    addWorker("", 10);
    dispatcher->expectImbalance(now);
    const auto moves = dispatcher->balanceIfDue(now + 100ms);
    EXPECT_FALSE(moves.empty()) << "a new worker: moved at the next tick, not after two rounds";
    for (const TaskMove& m : moves) EXPECT_EQ(tasks[m.task].worker, busy);

    // with no join, the same imbalance must be seen in two rounds in a row
    EXPECT_TRUE(dispatcher->balanceIfDue(now + 1100ms).empty());
    EXPECT_FALSE(dispatcher->balanceIfDue(now + 2100ms).empty());
}

TEST_F(DispatcherTest, NoBalancingWhenItIsOff) {
    addWorker("", 10);
    for (int i = 0; i < 8; ++i) queue();
    dispatcher->dispatch(now);
    addWorker("", 10);
    dispatcher->expectImbalance(now);
    EXPECT_TRUE(dispatcher->balanceIfDue(now + 10s).empty());
}

}  // namespace
}  // namespace scaler::scheduler
