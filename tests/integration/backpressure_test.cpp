// Overload: the scheduler's --max-queued-tasks shared among its clients, and the backpressure a client feels
// (submit waits while its share is full, or throws SubmitTimeoutError after
// ClientOptions::submitTimeoutSeconds).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "scaler/client/client.h"
#include "scaler/client/task_graph.h"
#include "scaler/tools/child_process.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;
using namespace std::chrono_literals;

namespace {
double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

TEST(Backpressure, ASubmitPastTheShareWaitsThenTimesOutAndNothingMoreReachesTheScheduler) {
    TestCluster cluster({"--max-queued-tasks", "20"});  // one client: a share of 10
    ClientOptions options;
    options.submitTimeoutSeconds = 0.5;
    Client client(cluster.address(), options);
    std::vector<Future> futures;
    for (int i = 0; i < 10; ++i) futures.push_back(client.submit("echo", std::to_string(i)));
    const auto before = std::chrono::steady_clock::now();
    try {
        (void)client.submit("echo", "one too many");
        FAIL() << "a submit past the client's share did not wait";
    } catch (const SubmitTimeoutError& e) {
        EXPECT_NE(std::string(e.what()).find("10 unfinished tasks of 10"), std::string::npos) << e.what();
    }
    EXPECT_GE(secondsSince(before), 0.45) << "it gave up before its timeout";
    EXPECT_THROW((void)client.map("echo", std::vector<std::string>(5, "x")), SubmitTimeoutError);
    TaskGraph graph;  // held back the same way, counted by its outputs
    graph.add("a", "echo", {std::string("A")});
    graph.add("b", "concat", {GraphKey{"a"}, std::string("B")});
    EXPECT_THROW((void)client.submitGraph(graph, {"b"}), SubmitTimeoutError);
    EXPECT_EQ(client.pendingTasks(), 10u);
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["queued"] == 10; }, 10s))
        << cluster.snapshot().dump();
    EXPECT_EQ(cluster.snapshot()["tasks"]["rejected"], 0) << "the client sent what it should have held";
    cluster.addWorker();
    for (int i = 0; i < 10; ++i) EXPECT_EQ(futures[i].get(), std::to_string(i));
    EXPECT_EQ(client.submit("echo", "room again").get(), "room again");
    EXPECT_EQ(client.submitGraph(graph, {"b"}).at("b").get(), "AB");
}

// Without the share the scheduler would reject everything past its limit; with it the map goes in parts.
TEST(Backpressure, AMapFarLargerThanTheLimitIsHandedOverInPartsAndEveryTaskRuns) {
    TestCluster cluster({"--max-queued-tasks", "100"});
    cluster.addWorker();
    Client client(cluster.address());
    std::vector<std::string> payloads;
    for (int i = 0; i < 3000; ++i) payloads.push_back(std::to_string(i));
    const auto results = Client::gather(client.map("echo", payloads));
    ASSERT_EQ(results.size(), payloads.size());
    for (size_t i = 0; i < results.size(); ++i) ASSERT_EQ(results[i], payloads[i]);
    EXPECT_EQ(cluster.snapshot()["tasks"]["rejected"], 0);
}

// One client floods; another's single task waits behind at most the flooder's share, not the whole flood.
TEST(Backpressure, AnotherClientsTaskIsServedLongBeforeAFloodEnds) {
    TestCluster cluster({"--max-queued-tasks", "300"});  // two clients: shares of 100
    cluster.addWorker({"--per-worker-task-queue-size", "4"});
    Client flooder(cluster.address());
    Client other(cluster.address());
    ASSERT_EQ(other.submit("echo", "warm").get(), "warm");
    std::atomic<bool> floodDone{false};
    const auto start = std::chrono::steady_clock::now();
    std::thread flood([&] {
        // 1,500 tasks of 2 ms on one worker: about 3 s of work, submitted as fast as the share allows
        Client::gather(flooder.map("sleep_ms", std::vector<std::string>(1500, "2")));
        floodDone = true;
    });
    ASSERT_TRUE(waitUntil([&] { return flooder.pendingTasks() >= 90; }, 10s)) << "the flood never filled";
    const auto submitted = std::chrono::steady_clock::now();
    EXPECT_EQ(other.submit("echo", "me too").get(), "me too");
    const double waited = secondsSince(submitted);
    const bool floodStillRunning = !floodDone;
    flood.join();
    const double flood_seconds = secondsSince(start);
    std::printf("another client's task during a flood: answered in %.2f s; the flood took %.2f s\n", waited,
                flood_seconds);
    EXPECT_TRUE(floodStillRunning) << "the other client's task waited for the whole flood";
    EXPECT_LT(waited, flood_seconds / 2);
}

// A large argument travels as an object made for its task alone; a submit that times out deletes it too.
TEST(Backpressure, ATimedOutSubmitLeavesNoObjectBehind) {
    TestCluster cluster({"--max-queued-tasks", "2", "--max-message-bytes", "65536"});  // a share of 1
    ClientOptions options;
    options.submitTimeoutSeconds = 0.3;
    Client client(cluster.address(), options);
    Future first = client.submit("echo", "fills the share");
    EXPECT_THROW((void)client.submit("length", Arguments{std::string(200000, 'x')}), SubmitTimeoutError);
    const int64_t after = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    // a snapshot taken after the throw (one from before the upload would show none either)
    EXPECT_TRUE(waitUntil(
        [&] {
            const auto snapshot = cluster.snapshot();
            return snapshot.value("timestamp_ms", int64_t{0}) > after && snapshot["objects"]["count"] == 0;
        },
        10s))
        << cluster.snapshot()["objects"].dump();
    cluster.addWorker();
    EXPECT_EQ(first.get(), "fills the share");
}

// What bounds a worker's socket: the scheduler sends a worker at most its queue of tasks, so a slow worker
// leaves the rest queued at the scheduler (where the shares bound them), not buffered on its connection; the
// ROUTER's high-water marks are unbounded on purpose and never reached (docs/reliability.md#overload).
TEST(Backpressure, ASlowWorkerIsSentNoMoreThanItsQueueAndTheRestWaitAtTheScheduler) {
    TestCluster cluster;
    cluster.addWorker({"--per-worker-task-queue-size", "3"});
    ASSERT_TRUE(cluster.waitForWorkers(1));
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(60, "50"));  // 3 s of work, one at a time
    uint64_t mostAssigned = 0, mostQueued = 0;
    ASSERT_TRUE(waitUntil(
        [&] {
            const auto snapshot = cluster.snapshot();
            for (const auto& worker : snapshot["workers"])
                mostAssigned = std::max(mostAssigned, worker["assigned"].get<uint64_t>());
            mostQueued = std::max(mostQueued, snapshot["tasks"]["queued"].get<uint64_t>());
            return snapshot["tasks"]["succeeded"].get<uint64_t>() == 60;
        },
        60s));
    EXPECT_GE(mostAssigned, 1u);
    EXPECT_LE(mostAssigned, 3u) << "the worker was sent more than its queue";
    EXPECT_GT(mostQueued, 0u) << "nothing waited at the scheduler while the worker was full";
    for (Future& f : futures) EXPECT_EQ(f.get(), "50");  // sleep_ms answers with what it slept
}
