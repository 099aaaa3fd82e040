// The scaling controller with real native adapters: no static workers anywhere in this file.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

namespace {

size_t groupsWith(const nlohmann::json& snapshot, const std::string& capabilities) {
    size_t n = 0;
    for (const auto& g : snapshot["worker_groups"])
        n += g["capabilities"] == capabilities && g["state"] != "stopping";
    return n;
}

bool alive(pid_t pid) {
    return kill(pid, 0) == 0;
}

}  // namespace

TEST(Scaling, TasksCompleteThroughGroupsTheNativeAdapterStartsAndStops) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    cluster.addNativeAdapter("plain", {"--max-worker-groups", "3"});
    Client client(cluster.address());
    std::vector<std::string> payloads;
    for (int i = 0; i < 200; ++i) payloads.push_back(std::to_string(10 + i % 20));
    EXPECT_EQ(Client::gather(client.map("sleep_ms", payloads)), payloads);
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 200; }));
    auto snapshot = cluster.snapshot();
    EXPECT_TRUE(hasScalingEvent(snapshot, "plain", "start"));
    // idle groups are drained and shut down; nothing was lost on the way
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["workers"].empty(); }, std::chrono::seconds(30)));
    snapshot = cluster.snapshot();
    EXPECT_TRUE(hasScalingEvent(snapshot, "plain", "shutdown"));
    EXPECT_EQ(snapshot["tasks"]["succeeded"], 200);
    EXPECT_EQ(snapshot["tasks"]["worker_died"], 0);
    EXPECT_EQ(snapshot["adapters"].size(), 1u);
}

TEST(Scaling, GpuTasksGetAGpuGroupThatStopsWhenIdleWhileCpuWorkContinues) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    cluster.addNativeAdapter("cpu", {"--max-worker-groups", "2"});
    cluster.addNativeAdapter("gpu", {"--max-worker-groups", "1", "--per-worker-capabilities", "gpu"});
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].size() == 2; }));
    Client client(cluster.address());
    const auto cpuWork = client.map("sleep_ms", std::vector<std::string>(6, "4000"));
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["running"] == 6; }));
    SubmitOptions gpu;
    gpu.capabilities = "gpu";
    const auto gpuWork = client.map("sleep_ms", std::vector<std::string>(2, "200"), gpu);
    EXPECT_EQ(Client::gather(gpuWork).size(), 2u);
    bool sawGpuGroup = false;
    ASSERT_TRUE(waitUntil(
        [&] {
            const auto s = cluster.snapshot();
            sawGpuGroup |= groupsWith(s, "gpu") > 0;
            return sawGpuGroup && groupsWith(s, "gpu") == 0 && hasScalingEvent(s, "gpu", "shutdown");
        },
        std::chrono::seconds(20)));
    EXPECT_GT(cluster.snapshot()["tasks"]["running"], 0);  // the CPU work is still going
    EXPECT_EQ(Client::gather(cpuWork).size(), 6u);
}

TEST(Scaling, FixedElasticStartsThePrimaryFirstAndBurstsToTheSecondary) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=fixed_elastic; min_group_age_seconds=1"});
    cluster.addNativeAdapter("primary", {"--max-worker-groups", "1"});
    cluster.addNativeAdapter("secondary", {"--max-worker-groups", "2"});
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].size() == 2; }));
    Client client(cluster.address());
    const auto futures = client.map("sleep_ms", std::vector<std::string>(150, "20"));
    EXPECT_EQ(Client::gather(futures).size(), 150u);
    const auto snapshot = cluster.snapshot();
    ASSERT_FALSE(snapshot["scaling_events"].empty());
    EXPECT_EQ(snapshot["scaling_events"][0]["adapter_id"], "primary");
    EXPECT_EQ(snapshot["scaling_events"][0]["action"], "start");
    EXPECT_TRUE(hasScalingEvent(snapshot, "secondary", "start"));
    // the primary's group stays; secondaries go when idle
    EXPECT_TRUE(waitUntil(
        [&] {
            const auto s = cluster.snapshot();
            return s["worker_groups"].size() == 1 && s["worker_groups"][0]["adapter_id"] == "primary";
        },
        std::chrono::seconds(30)));
}

TEST(Scaling, KilledAdapterTakesItsWorkersAlongAndARestartedOneServesWithoutLoss) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability",
                         "--worker-timeout-seconds", "3", "--worker-adapter-timeout-seconds", "2"});
    auto* adapter = &cluster.addNativeAdapter("native", {"--max-worker-groups", "2"});
    Client client(cluster.address());
    std::vector<std::string> payloads(40, "300");
    const auto futures = client.map("sleep_ms", payloads);
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["workers"].size() >= 1; }));
    std::vector<pid_t> pids;
    const auto before = cluster.snapshot();  // not a temporary: the loop outlives the expression
    for (const auto& w : before["workers"]) pids.push_back(w["pid"]);
    adapter->signal(SIGKILL);
    // its workers follow it (parent-death signal) and hand their tasks back
    ASSERT_TRUE(waitUntil([&] {
        for (pid_t pid : pids) {
            if (alive(pid)) return false;
        }
        return true;
    }));
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].empty(); }));
    cluster.addNativeAdapter("native", {"--max-worker-groups", "2"});
    EXPECT_EQ(Client::gather(futures), payloads);
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 40; }));
    EXPECT_EQ(cluster.snapshot()["tasks"]["worker_died"], 0);
}

TEST(Scaling, AdapterRefusesCapabilitiesItDoesNotOffer) {
    // capability scaling never asks for them; vanilla never asks for any: check the adapter's own guard by
    // giving the gpu task to an adapter that only has linux
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    cluster.addNativeAdapter("linux-only", {"--per-worker-capabilities", "linux"});
    Client client(cluster.address());
    SubmitOptions gpu;
    gpu.capabilities = "gpu";
    auto f = client.submit("echo", "x", gpu);
    ASSERT_TRUE(waitUntil([&] { return !cluster.snapshot()["unschedulable"].empty(); }));
    EXPECT_EQ(cluster.snapshot()["unschedulable"][0], "gpu");
    EXPECT_TRUE(cluster.snapshot()["workers"].empty());
    EXPECT_FALSE(f.ready());
}

// Issue 21's measured case (the reference's PR #939): 15 tasks of 6 s, room for 8 groups. The ideal is about
// 12 s (two rounds); the task ratio alone gave 3 workers and 32 s.
// Dear capacity kept for its own work: plain tasks beyond the CPU adapter's room do not start the gpu
// adapter's groups unless the operator lends them (lend_special_adapters=1).
TEST(Scaling, TheGpuAdapterIsStartedForPlainTasksOnlyWhenLent) {
    for (const bool lend : {false, true}) {
        TestCluster cluster({"--policy-content", std::string("allocate=capability; scaling=capability") +
                                                     (lend ? "; lend_special_adapters=1" : "")});
        cluster.addNativeAdapter("cpu", {"--max-worker-groups", "1"});
        cluster.addNativeAdapter("gpu", {"--max-worker-groups", "2", "--per-worker-capabilities", "gpu"});
        ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].size() == 2; }));
        Client client(cluster.address());
        // 30 tasks / ratio 5 want 6 workers; the CPU adapter has room for one
        EXPECT_EQ(Client::gather(client.map("sleep_ms", std::vector<std::string>(30, "150"))).size(), 30u);
        const auto snapshot = cluster.snapshot();
        size_t cpuStarts = 0, gpuStarts = 0;
        for (const auto& e : snapshot["scaling_events"]) {
            if (e["action"] != "start") continue;
            (e["adapter_id"] == "gpu" ? gpuStarts : cpuStarts) += 1;
            EXPECT_NE(e["reason"].get<std::string>().find("{}"), std::string::npos)
                << "a start names the demand it serves: " << e["reason"];
        }
        EXPECT_EQ(cpuStarts, 1u) << "lend " << lend;
        if (lend) {
            EXPECT_GE(gpuStarts, 1u) << "lent: the gpu adapter helps with plain work";
        } else {
            EXPECT_EQ(gpuStarts, 0u) << "not lent: the gpu adapter stays for gpu work";
        }
    }
}

namespace {
// Issue 21's case (the reference took 50-57 s): returns the makespan and the groups started.
std::pair<double, size_t> runFifteenSixSecondTasks(const std::string& policy) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=" + policy});
    cluster.addNativeAdapter("cpu", {"--max-worker-groups", "8"});
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].size() == 1; }));
    Client client(cluster.address());
    const auto start = std::chrono::steady_clock::now();
    Client::gather(client.map("sleep_ms", std::vector<std::string>(15, "6000")));
    const double makespan = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto snapshot = cluster.snapshot();
    size_t starts = 0;
    for (const auto& e : snapshot["scaling_events"]) starts += e["action"] == "start";
    std::printf("15 x 6 s tasks, room for 8 groups, %s: makespan %.1f s, %zu groups started\n",
                policy.c_str(), makespan, starts);
    return {makespan, starts};
}
}  // namespace

TEST(Scaling, FifteenSixSecondTasksWithRoomForEightGroupsFinishNearTheIdeal) {
    const auto [makespan, starts] = runFifteenSixSecondTasks("predictive");
    EXPECT_GT(starts, 3u) << "only the task ratio's groups were started";
    EXPECT_LT(makespan, 24.0) << "generous: 15 s is the target, 30 s the old behaviour";
}

TEST(Scaling, TheCapabilityPolicyGivesTasksKnownToRunLongAWorkerEach) {
    const auto [makespan, starts] = runFifteenSixSecondTasks("capability");
    EXPECT_GT(starts, 3u) << "only the task ratio's groups were started";
    EXPECT_LT(makespan, 26.0) << "generous: 30 s by the task ratio alone";
}

TEST(Scaling, TheCheaperTierIsStartedFirst) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    // without tiers the adapter with more room would be chosen
    cluster.addNativeAdapter("dear", {"--priority", "5", "--max-worker-groups", "4"});
    cluster.addNativeAdapter("cheap", {"--priority", "1", "--max-worker-groups", "1"});
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].size() == 2; }));
    for (const auto& a : cluster.snapshot()["adapters"]) {
        EXPECT_EQ(a["priority"], a["id"] == "dear" ? 5 : 1) << a.dump();
    }
    Client client(cluster.address());
    EXPECT_EQ(client.submit("echo", "tiered").get(), "tiered");
    ASSERT_TRUE(waitUntil([&] { return hasScalingEvent(cluster.snapshot(), "cheap", "start"); }));
    EXPECT_FALSE(hasScalingEvent(cluster.snapshot(), "dear", "start"));
}

TEST(Scaling, AnAdapterWhoseWorkersCannotStartReportsWhyInsteadOfRestartingThemForever) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    // a library that is not a plugin: every worker would exit 2 at start-up
    auto& adapter = cluster.addNativeAdapter("broken", {"--load", "/lib/x86_64-linux-gnu/libz.so.1"});
    Client client(cluster.address());
    auto future = client.submit("echo", "never runs");
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "broken", "start failed", "no scaler_register_functions");
    })) << adapter.log();
    EXPECT_TRUE(cluster.snapshot()["worker_groups"].empty()) << "no group was started for workers that die";
    EXPECT_TRUE(cluster.snapshot()["workers"].empty());
    // after three failed starts (backing off between them) the client is told, not left waiting
    const auto started = std::chrono::steady_clock::now();
    try {
        future.get();
        ADD_FAILURE() << "a task no worker could start for succeeded";
    } catch (const TaskRejectedError& e) {
        EXPECT_NE(std::string(e.what()).find("adapter 'broken' failed its last 3 starts"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("no scaler_register_functions"), std::string::npos) << e.what();
    }
    std::printf("the client was told %.1f s after the first failed start\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    // and the adapter is not asked again and again: its circuit is open for a quiet minute
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "broken", "circuit open", "3 starts failed in a row");
    }));
}
