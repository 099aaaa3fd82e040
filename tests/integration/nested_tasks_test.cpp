// Tasks that submit tasks (TaskContext::client) and wait on them, with fewer worker slots than waiting
// parents: the slot of a waiting parent is lent, so the cluster never deadlocks.
#include <gtest/gtest.h>

#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

TEST(NestedTasks, FibonacciFifteenCompletesOnTwoWorkersWithQueueSizeOne) {
    TestCluster cluster;
    cluster.addWorker({"--per-worker-task-queue-size", "1"});
    cluster.addWorker({"--per-worker-task-queue-size", "1"});
    ASSERT_TRUE(cluster.waitForWorkers(2));
    Client client(cluster.address());
    const auto started = std::chrono::steady_clock::now();
    Future fib = client.submit("fib_nested", "15");
    ASSERT_TRUE(fib.wait_for(std::chrono::seconds(120)))
        << "nested tasks stalled: " << cluster.snapshot()["tasks"].dump();
    EXPECT_EQ(fib.get(), "610");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // fib(15) makes 1,973 calls, each a task (the monitor publishes once a second: wait for the count)
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 1973; }, 10s))
        << cluster.snapshot()["tasks"].dump();
    std::printf("nested fib(15): 1973 tasks in %.2f s (%.0f tasks/s) on 2 workers with queue size 1\n",
                seconds, 1973 / seconds);
}
