// The real TaskExecutor showing a function the tasks queued after its own (addTakingNextTask): which tasks,
// in what order they run, and what a cancel of a shown task does.
#include <gtest/gtest.h>

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "scaler/worker/task_executor.h"

using namespace scaler;
using namespace scaler::worker;

namespace {

ExecutorTask taskOf(uint64_t handle, const std::string& function, size_t argumentBytes = 1) {
    ExecutorTask task{handle, function, "", 0, false, true};
    task.arguments.push_back(ExecutorArgument{std::string(argumentBytes, 'x'), nullptr});
    return task;
}

class NextTasksTest : public ::testing::Test {
protected:
    NextTasksTest() {
        const auto record = [this](TaskContext& context, std::string_view) {
            std::unique_lock lock(mutex);
            std::vector<uint64_t> shown;
            for (const NextTask& next : context.nextTasks()) shown.push_back(next.handle);
            order.push_back(context.handle());
            shownTo[context.handle()] = shown;
            threads.insert(std::this_thread::get_id());
            if (context.handle() == 1) released.wait(lock, [this] { return release; });
            if (context.handle() == longTask) {
                lock.unlock();
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            return std::string("done");
        };
        registry.addTakingNextTask("f", record);
        registry.add("g", record);
    }

    void letTheFirstEnd() {
        {
            std::lock_guard lock(mutex);
            release = true;
        }
        released.notify_all();
    }

    std::map<uint64_t, ExecutorOutcome> outcomesOf(TaskExecutor& executor, size_t count) {
        std::map<uint64_t, ExecutorOutcome> outcomes;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (outcomes.size() < count && std::chrono::steady_clock::now() < deadline) {
            pollfd fd{executor.notifyFd(), POLLIN, 0};
            poll(&fd, 1, 100);
            for (ExecutorOutcome& outcome : executor.takeOutcomes())
                outcomes[outcome.handle] = std::move(outcome);
        }
        EXPECT_EQ(outcomes.size(), count) << "outcomes within 20 s";
        return outcomes;
    }

    FunctionRegistry registry;
    std::mutex mutex;
    std::condition_variable released;
    bool release = false;
    uint64_t longTask = 0;  // this task runs 5 ms
    std::vector<uint64_t> order;
    std::map<uint64_t, std::vector<uint64_t>> shownTo;
    std::set<std::thread::id> threads;
};

TEST_F(NextTasksTest, TheQueuedTasksOfTheSameFunctionAreShownAndRunNextInOrderOnTheSameThread) {
    TaskExecutor executor(registry);
    std::vector<ExecutorTask> tasks;
    for (uint64_t handle = 1; handle <= 4; ++handle) tasks.push_back(taskOf(handle, "f"));
    tasks.push_back(taskOf(5, "g"));  // another function: never shown to f
    tasks.push_back(taskOf(6, "f"));
    executor.submit(std::move(tasks));
    letTheFirstEnd();
    const auto outcomes = outcomesOf(executor, 6);
    for (const auto& [handle, outcome] : outcomes) EXPECT_EQ(outcome.payload, "done") << handle;
    std::lock_guard lock(mutex);
    EXPECT_EQ(order, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(shownTo[1], (std::vector<uint64_t>{2, 3, 4}));  // NextTask::kFirstTasks of them
    EXPECT_EQ(shownTo[2], (std::vector<uint64_t>{3, 4}));     // topped up only while f's tasks lead the queue
    EXPECT_EQ(shownTo[4], (std::vector<uint64_t>{}));
    EXPECT_EQ(shownTo[5], (std::vector<uint64_t>{}));  // g did not ask
    EXPECT_EQ(threads.size(), 1u);
}

TEST_F(NextTasksTest, AShownTaskCountsAsBegunAForcedCancelEndsItCancelled) {
    TaskExecutor executor(registry);
    std::vector<ExecutorTask> tasks;
    for (uint64_t handle = 1; handle <= 4; ++handle) tasks.push_back(taskOf(handle, "f"));
    executor.submit(std::move(tasks));
    // until task 1 has begun (and been shown the others), they are merely queued
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (executor.queued() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    ASSERT_EQ(executor.queued(), 0u);
    EXPECT_EQ(executor.runningCount(), 4u);  // neither queued nor done: counted as running
    EXPECT_EQ(executor.cancel(2, false), TaskExecution::CancelAnswer::cancelFailed);
    EXPECT_EQ(executor.cancel(3, true), TaskExecution::CancelAnswer::pending);
    // shown, not begun: not hung however long task 1 takes
    EXPECT_FALSE(
        executor.hungTask(TaskExecution::Clock::now() + std::chrono::hours(1), std::chrono::seconds(1)));
    letTheFirstEnd();
    const auto outcomes = outcomesOf(executor, 4);
    EXPECT_EQ(outcomes.at(2).kind, ExecutorOutcome::Kind::result);
    EXPECT_EQ(outcomes.at(3).kind, ExecutorOutcome::Kind::cancelled);
    EXPECT_EQ(outcomes.at(4).kind, ExecutorOutcome::Kind::result);
}

TEST(NextTask, AboutTwoMillisecondsOfWorkIsShownAheadAndAFewWhileNothingIsKnown) {
    EXPECT_EQ(NextTask::countFor(-1), NextTask::kFirstTasks);
    EXPECT_EQ(NextTask::countFor(0), NextTask::kMaxTasks);
    EXPECT_EQ(NextTask::countFor(30), NextTask::kMaxTasks);  // a Python no-op as the worker sees it
    EXPECT_EQ(NextTask::countFor(125), NextTask::kMaxTasks);
    EXPECT_EQ(NextTask::countFor(200), 10u);
    EXPECT_EQ(NextTask::countFor(1050), 1u);  // a 1 ms task: the next one waits in the other process
    EXPECT_EQ(NextTask::countFor(2000), 1u);
    EXPECT_EQ(NextTask::countFor(2001), 0u);  // longer: none taken from the scheduler's reach
    EXPECT_EQ(NextTask::countFor(1e6), 0u);
}

TEST_F(NextTasksTest, AfterALongTaskNoMoreAreTakenAhead) {
    longTask = 1;
    TaskExecutor executor(registry);
    std::vector<ExecutorTask> tasks;
    for (uint64_t handle = 1; handle <= 6; ++handle) tasks.push_back(taskOf(handle, "f"));
    executor.submit(std::move(tasks));
    letTheFirstEnd();
    outcomesOf(executor, 6);
    std::lock_guard lock(mutex);
    EXPECT_EQ(shownTo[1], (std::vector<uint64_t>{2, 3, 4}));  // nothing known yet
    EXPECT_EQ(shownTo[2], (std::vector<uint64_t>{3, 4}));     // those already shown, and no more
    EXPECT_EQ(shownTo[4], (std::vector<uint64_t>{}));
}

TEST_F(NextTasksTest, LargeTasksAreNotShown) {
    TaskExecutor executor(registry);
    std::vector<ExecutorTask> tasks;
    tasks.push_back(taskOf(1, "f"));
    tasks.push_back(taskOf(2, "f", NextTask::kMaxBytes));
    executor.submit(std::move(tasks));
    letTheFirstEnd();
    outcomesOf(executor, 2);
    std::lock_guard lock(mutex);
    EXPECT_EQ(shownTo[1], (std::vector<uint64_t>{}));
}

}  // namespace
