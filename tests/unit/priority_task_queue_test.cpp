#include <gtest/gtest.h>

#include "scaler/scheduler/routing/priority_task_queue.h"

using namespace scaler::scheduler;

namespace {

class PriorityTaskQueueTest : public ::testing::Test {
protected:
    TaskIndex add(int16_t priority, bool front = false) {
        const TaskIndex index = tasks.allocate();
        tasks[index].priority = priority;
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

}  // namespace
