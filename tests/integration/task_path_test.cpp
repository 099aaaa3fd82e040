// The task path end to end: real scheduler and worker processes, the real client, loopback ZeroMQ.
#include <gtest/gtest.h>

#include <fstream>

#include <mutex>
#include <set>
#include <thread>

#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

TEST(TaskPath, TenThousandEchoTasksThroughTwoWorkersReturnExactlyTheirPayloads) {
    TestCluster cluster;
    cluster.addWorker();
    cluster.addWorker();
    ASSERT_TRUE(cluster.waitForWorkers(2));
    Client client(cluster.address());
    std::vector<std::string> payloads;
    for (int i = 0; i < 10000; ++i) payloads.push_back("payload-" + std::to_string(i));
    const auto futures = client.map("echo", payloads);
    const auto results = Client::gather(futures);
    ASSERT_EQ(results.size(), payloads.size());
    EXPECT_EQ(results, payloads);
    const auto snapshot = cluster.snapshot();
    EXPECT_EQ(snapshot["tasks"]["succeeded"], 10000);
    EXPECT_EQ(snapshot["tasks"]["queued"], 0);
    // both workers did work
    uint64_t busiest = 0;
    for (const auto& w : snapshot["workers"]) busiest = std::max<uint64_t>(busiest, w["done"]);
    EXPECT_LT(busiest, 10000u);
}

TEST(TaskPath, FailuresCarryTheRemoteMessageAndTheWorkerSurvives) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    auto failing = client.submit("fail", "boom: disk full");
    try {
        failing.get();
        FAIL() << "expected TaskFailedError";
    } catch (const TaskFailedError& e) {
        EXPECT_STREQ(e.what(), "boom: disk full");
    }
    EXPECT_THROW(client.submit("no_such_function", "").get(), TaskFailedError);
    EXPECT_EQ(client.submit("echo", "still alive").get(), "still alive");
}

TEST(TaskPath, CommandTasksReturnExitCodeAndOutput) {
    TestCluster cluster;
    cluster.addWorker({"--allow-exec"});
    Client client(cluster.address());
    const ExecResult r =
        decodeExecResult(client.submitExec({"sh", "-c", "echo out; echo err >&2; exit 4"}).get());
    EXPECT_EQ(r.exitCode, 4);
    EXPECT_EQ(r.stdoutData, "out\n");
    EXPECT_EQ(r.stderrData, "err\n");
}

TEST(TaskPath, AWorkerRunsNoCommandUnlessToldTo) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    const std::string marker = tempDir() + "/exec-ran";
    try {
        client.submitExec({"sh", "-c", "touch " + marker}).get();
        ADD_FAILURE() << "an exec task ran on a worker without --allow-exec";
    } catch (const TaskFailedError& e) {
        EXPECT_NE(std::string(e.what()).find("start it with --allow-exec"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::ifstream(marker).good());
}

TEST(TaskPath, PluginFunctionsRun) {
    TestCluster cluster;
    cluster.addWorker({"--load", pluginPath()});
    Client client(cluster.address());
    EXPECT_EQ(client.submit("word_count", "three small words").get(), "3");
    EXPECT_EQ(client.submit("reverse", "abc").get(), "cba");
}

TEST(TaskPath, CapabilityTaskWaitsForAGpuWorkerThenRunsThere) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=no"});
    auto& cpu = cluster.addWorker({"--allow-exec"});
    ASSERT_TRUE(cluster.waitForWorkers(1));
    Client client(cluster.address());
    // the task reports its worker: the parent of the shell is the worker process
    SubmitOptions gpu;
    gpu.capabilities = "gpu";
    auto gpuTask = client.submitExec({"sh", "-c", "echo $PPID"}, gpu);
    auto plainTask = client.submitExec({"sh", "-c", "echo $PPID"});
    EXPECT_EQ(decodeExecResult(plainTask.get()).stdoutData, std::to_string(cpu.pid()) + "\n");
    EXPECT_FALSE(gpuTask.wait_for(std::chrono::milliseconds(500)));  // queued, not failed
    EXPECT_EQ(cluster.snapshot()["tasks"]["queued"], 1);
    auto& gpuWorker = cluster.addWorker({"--per-worker-capabilities", "gpu=1,linux", "--allow-exec"});
    EXPECT_EQ(decodeExecResult(gpuTask.get()).stdoutData, std::to_string(gpuWorker.pid()) + "\n");
}

TEST(TaskPath, CancelStopsARunningTaskAndFreesTheWorker) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    auto sleeper = client.submit("sleep_ms", "60000");
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["workers"][0]["running"] == 1; }));
    EXPECT_TRUE(sleeper.cancel());
    EXPECT_THROW(sleeper.get(), TaskCancelledError);
    EXPECT_EQ(client.submit("echo", "next").get(), "next");
    EXPECT_EQ(cluster.snapshot()["tasks"]["cancelled"], 1);
}

TEST(TaskPath, CancelOfAFinishedTaskReturnsFalse) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    auto f = client.submit("echo", "x");
    EXPECT_EQ(f.get(), "x");
    EXPECT_FALSE(f.cancel());
}

TEST(TaskPath, ClientDisconnectCancelsItsTasks) {
    TestCluster cluster;
    cluster.addWorker({"--per-worker-task-queue-size", "2"});
    ASSERT_TRUE(cluster.waitForWorkers(1));
    {
        Client leaving(cluster.address());
        std::vector<Future> futures;
        for (int i = 0; i < 5; ++i) futures.push_back(leaving.submit("sleep_ms", "60000"));
        ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["workers"][0]["running"] == 1; }));
        leaving.disconnect();
        for (auto& f : futures) EXPECT_THROW(f.get(), TaskCancelledError);
    }
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["cancelled"] == 5; }));
    Client next(cluster.address());
    EXPECT_EQ(next.submit("echo", "free").get(), "free");
}

TEST(TaskPath, CallbacksAndTimeouts) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    std::atomic<int> called{0};
    auto f = client.submit("echo", "cb");
    f.then([&](const Future& done) {
        if (done.get() == "cb") ++called;
    });
    f.wait();
    EXPECT_TRUE(waitUntil([&] { return called == 1; }, std::chrono::seconds(5)));
    SubmitOptions quick;
    quick.timeoutSeconds = 0.3;
    EXPECT_THROW(client.submit("sleep_ms", "30000", quick).get(), TaskTimeoutError);
    EXPECT_EQ(client.submit("echo", "after timeout").get(), "after timeout");
}

TEST(TaskPath, ShutdownIsRefusedWhenProtectedAndObeyedOtherwise) {
    {
        TestCluster cluster({"--protected"});
        Client client(cluster.address());
        EXPECT_THROW(client.shutdown(), Error);
        EXPECT_TRUE(cluster.scheduler().running());
    }
    TestCluster cluster;
    auto& worker = cluster.addWorker();
    ASSERT_TRUE(cluster.waitForWorkers(1));
    Client client(cluster.address());
    client.shutdown();
    EXPECT_NE(cluster.scheduler().waitExit(std::chrono::seconds(10)), -1);
    EXPECT_NE(worker.waitExit(std::chrono::seconds(10)), -1);
}

TEST(TaskPath, UnreachableSchedulerIsATypedError) {
    ClientOptions options;
    options.connectTimeoutSeconds = 0.5;
    EXPECT_THROW(Client("tcp://127.0.0.1:" + std::to_string(pickFreePortPair()), options),
                 SchedulerUnreachableError);
}

TEST(TaskPath, ManyThreadsShareOneClient) {
    TestCluster cluster;
    cluster.addWorker();
    cluster.addWorker();
    Client client(cluster.address());
    constexpr int kThreads = 8, kPerThread = 500;
    std::vector<std::thread> threads;
    std::atomic<int> correct{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<Future> futures;
            for (int i = 0; i < kPerThread; ++i)
                futures.push_back(client.submit("echo", std::to_string(t * kPerThread + i)));
            for (int i = 0; i < kPerThread; ++i) {
                if (futures[i].get() == std::to_string(t * kPerThread + i)) ++correct;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(correct, kThreads * kPerThread);
    EXPECT_EQ(client.pendingTasks(), 0u);
}

TEST(TaskPath, PrioritiesOrderABacklogOnAWorker) {
    TestCluster cluster;
    cluster.addWorker({"--per-worker-task-queue-size", "1"});  // the backlog waits at the scheduler
    ASSERT_TRUE(cluster.waitForWorkers(1));
    Client client(cluster.address());
    SubmitOptions first;
    first.priority = 100;  // runs first whatever arrives with it
    std::vector<Future> futures{client.submit("sleep_ms", "300", first)};
    std::mutex mutex;
    std::vector<std::string> finished;
    const std::vector<int32_t> priorities = {0, 3, 1, 3, 2, 0, 1, 3, -1, 2};
    for (size_t i = 0; i < priorities.size(); ++i) {
        SubmitOptions options;
        options.priority = priorities[i];
        futures.push_back(
            client.submit("echo", std::to_string(priorities[i]) + "/" + std::to_string(i), options));
        futures.back().then([&](const Future& f) {
            std::lock_guard lock(mutex);
            finished.push_back(f.get());
        });
    }
    for (const Future& f : futures) f.wait();
    // callbacks run just after the futures complete
    EXPECT_TRUE(waitUntil(
        [&] {
            std::lock_guard lock(mutex);
            return finished.size() == priorities.size();
        },
        5s));
    std::lock_guard lock(mutex);
    EXPECT_EQ(finished, (std::vector<std::string>{"3/1", "3/3", "3/7", "2/4", "2/9", "1/2", "1/6", "0/0",
                                                  "0/5", "-1/8"}));
}

TEST(TaskPath, ProfilingReportsCpuTimeAndPeakMemory) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    SubmitOptions profiled;
    profiled.profiling = true;
    Future sleeper = client.submit("sleep_ms", "100", profiled);
    sleeper.get();
    const TaskProfile profile = sleeper.profile();
    EXPECT_GE(profile.duration, std::chrono::milliseconds(100));
    EXPECT_LT(profile.cpuTime, std::chrono::milliseconds(50)) << "sleeping is not CPU work";
    EXPECT_GT(profile.peakMemoryBytes, 1u << 20);  // a worker process is at least a few MiB
    Future plain = client.submit("sleep_ms", "10");
    plain.get();
    EXPECT_EQ(plain.profile().peakMemoryBytes, 0u);
    EXPECT_GE(plain.profile().duration, std::chrono::milliseconds(10));
}

TEST(TaskPath, APayloadOverTheSchedulersLimitTravelsAsAnObjectAndIsFreedAfter) {
    TestCluster cluster({"--max-message-bytes", "1048576"});
    cluster.addWorker();
    Client client(cluster.address());
    // 2 MiB through a scheduler that takes 1 MiB messages: no size cliff, the client sends it as an object
    const std::string big(2u << 20, 'x');
    uint64_t hash = 1469598103934665603ull;  // the checksum function's FNV-1a
    for (unsigned char c : big) hash = (hash ^ c) * 1099511628211ull;
    EXPECT_EQ(client.submit("checksum", std::string(big)).get(),
              std::to_string(big.size()) + " " + std::to_string(hash));
    // the object made for that task alone is deleted when the task ends
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["objects"]["count"] == 0; }, 10s))
        << cluster.snapshot()["objects"].dump();
    // many tasks that fit one by one still arrive, in frames the scheduler takes
    std::vector<std::string> payloads(20, std::string(200u << 10, 'y'));
    const auto results = Client::gather(client.map("echo", payloads));
    EXPECT_EQ(results, payloads);
}
