#include <gtest/gtest.h>

#include "scaler/scheduler/routing/priority_task_queue.h"

using namespace scaler::scheduler;

namespace {

class PriorityTaskQueueTest : public ::testing::Test {
protected:
    TaskIndex add(int16_t priority, bool front = false, ClientSlot client = kNone, uint64_t sequence = 0) {
        const TaskIndex index = tasks.allocate();
        tasks[index].priority = priority;
        tasks[index].client = client;
        tasks[index].sequence = sequence;
        front ? queue.pushFront(tasks, index) : queue.pushBack(tasks, index);
        return index;
    }
    std::vector<TaskIndex> drain() {
        std::vector<TaskIndex> order;
        while (!queue.empty()) {
            order.push_back(queue.head());
            queue.unlink(tasks, queue.head());
        }
        return order;
    }
    TaskTable tasks;
    PriorityTaskQueue queue;
};

TEST_F(PriorityTaskQueueTest, HighestPriorityFirstThenFirstInFirstOut) {
    const TaskIndex a = add(0), b = add(3), c = add(0), d = add(3), e = add(-1);
    EXPECT_EQ(queue.size(), 5u);
    EXPECT_EQ(queue.headPriority(), 3);
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{b, d, a, c, e}));
    EXPECT_EQ(queue.head(), kNone);
}

TEST_F(PriorityTaskQueueTest, PushFrontGoesAheadOnlyWithinItsPriority) {
    const TaskIndex a = add(5), b = add(1);
    const TaskIndex c = add(1, true);
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{a, c, b}));
}

TEST_F(PriorityTaskQueueTest, UnlinkingFromTheMiddleKeepsTheRestInOrder) {
    const TaskIndex a = add(2), b = add(2), c = add(7), d = add(2);
    queue.unlink(tasks, b);
    queue.unlink(tasks, c);  // its level empties and goes
    EXPECT_EQ(queue.size(), 2u);
    EXPECT_EQ(queue.headPriority(), 2);
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{a, d}));
}

TEST_F(PriorityTaskQueueTest, ClientsTakeTurnsWithinAPriority) {
    const TaskIndex a1 = add(0, false, 1), a2 = add(0, false, 1), a3 = add(0, false, 1),
                    a4 = add(0, false, 1);
    const TaskIndex b1 = add(0, false, 2);
    const TaskIndex c1 = add(0, false, 3), c2 = add(0, false, 3);
    const TaskIndex urgent = add(5, false, 3);  // priority still comes first
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{urgent, a1, b1, c1, a2, c2, a3, a4}));
}

TEST_F(PriorityTaskQueueTest, ANewcomerWaitsForOneTaskOfAFloodNotForTheFlood) {
    std::vector<TaskIndex> flood;
    for (int i = 0; i < 1000; ++i) flood.push_back(add(0, false, 1));
    for (int i = 0; i < 10; ++i) queue.unlink(tasks, queue.head());
    const TaskIndex newcomer = add(0, false, 2);
    EXPECT_EQ(queue.head(), flood[10]);
    queue.unlink(tasks, queue.head());
    EXPECT_EQ(queue.head(), newcomer);
    queue.unlink(tasks, queue.head());
    EXPECT_EQ(queue.head(), flood[11]);
    EXPECT_EQ(queue.size(), 989u);  // 1,000 - 11 of the flood
}

TEST_F(PriorityTaskQueueTest, TasksOfAClientThatHasGoneAreFoundAndTheOthersKeepTheirOrder) {
    const TaskIndex a1 = add(0, false, 1), a2 = add(0, false, 1);
    const TaskIndex b1 = add(0, false, 2), b2 = add(0, false, 2);
    const TaskIndex a3 = add(0, false, 1);
    for (TaskIndex a : {a1, a2, a3}) tasks[a].client = kNone;  // as SchedulerCore::removeClient does
    for (TaskIndex a : {a1, a2, a3}) queue.unlink(tasks, a);
    EXPECT_EQ(queue.size(), 2u);
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{b1, b2}));
}

TEST_F(PriorityTaskQueueTest, ATurnPassesOnlyWhenTheHeadGoes) {
    const TaskIndex a1 = add(0, false, 1), a2 = add(0, false, 1);
    const TaskIndex b1 = add(0, false, 2), b2 = add(0, false, 2);
    queue.unlink(tasks, a2);  // cancelled from behind the head: still client 1's turn
    EXPECT_EQ(queue.head(), a1);
    queue.unlink(tasks, b1);
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{a1, b2}));
}

TEST_F(PriorityTaskQueueTest, TheLeadingRunCountsWhatArrivedByAnotherQueuesHead) {
    add(0, false, 1, 1);
    add(0, false, 1, 2);
    add(0, false, 1, 7);
    add(0, false, 2, 3);
    add(0, false, 2, 9);
    add(-1, false, 1, 0);  // a lower priority is not part of the run
    EXPECT_EQ(queue.leadingRun(tasks, std::nullopt, 100), 5u);
    EXPECT_EQ(queue.leadingRun(tasks, std::nullopt, 4), 4u);
    EXPECT_EQ(queue.leadingRun(tasks, uint64_t{5}, 100), 3u);  // 1, 2 and 3
    EXPECT_EQ(queue.leadingRun(tasks, uint64_t{5}, 2), 2u);
}

}  // namespace

TEST_F(PriorityTaskQueueTest, ATaskNotInItsClientsLaneIsStillFoundByItsListsHead) {
    const TaskIndex a1 = add(0, false, 1), a2 = add(0, false, 1);
    const TaskIndex b1 = add(0, false, 2);
    tasks[a2].client = 7;  // no lane of client 7: found by its lane's head, the queue stays whole
    queue.unlink(tasks, a2);
    EXPECT_EQ(queue.size(), 2u);
    EXPECT_EQ(drain(), (std::vector<TaskIndex>{a1, b1}));
}
