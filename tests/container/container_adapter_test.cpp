// scaler_worker_adapter_container against a real Podman API service (the podman_service ctest fixture):
// real containers, real workers inside them, no static workers unless a test says so.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "scaler/adapters/docker_engine_client.h"
#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDockerHost = SCALER_TEST_DOCKER_HOST;
constexpr const char* kPluginInImage = "/usr/local/lib/scaler/libscaler_example_plugin.so";

class ContainerAdapterTest : public ::testing::Test {
protected:
    ContainerAdapterTest() : docker_(kDockerHost, std::chrono::seconds(30)) {}

    // Containers outlive a SIGKILLed adapter by design; the test removes what it made.
    void TearDown() override {
        adapters_.clear();
        for (const auto& id : adapterIds_) {
            for (const auto& c : containers(id)) docker_.removeContainer(c.id);
        }
    }

    ChildProcess& startAdapter(const std::string& address, const std::string& adapterId,
                               std::vector<std::string> extra = {}) {
        adapterIds_.push_back(adapterId);
        std::vector<std::string> args{binary("scaler_worker_adapter_container"),
                                      address,
                                      "--adapter-id",
                                      adapterId,
                                      "--heartbeat-interval-seconds",
                                      "0.5",
                                      "--shutdown-grace-seconds",
                                      "1",
                                      "--workers-per-group",
                                      "2",
                                      "--load",
                                      kPluginInImage};
        args.insert(args.end(), extra.begin(), extra.end());
        if (std::find(extra.begin(), extra.end(), "--docker-host") == extra.end()) {
            args.insert(args.end(), {"--docker-host", kDockerHost});
        }
        adapters_.push_back(std::make_unique<ChildProcess>(
            args,
            tempDir() + "/container-adapter-" + adapterId + "-" + std::to_string(adapters_.size()) + ".log"));
        return *adapters_.back();
    }

    // A listing the engine refused is an error, never taken for "no containers" (an early wait would end).
    std::vector<adapters::ContainerSummary> containers(const std::string& adapterId) {
        std::vector<adapters::ContainerSummary> out;
        const auto result = docker_.listContainers("scaler.adapter-id", adapterId, out);
        EXPECT_TRUE(result.ok) << result.error;
        if (!result.ok) out.push_back({"listing-failed", "unknown", {}});
        return out;
    }

    size_t running(const std::string& adapterId) {
        size_t n = 0;
        for (const auto& c : containers(adapterId)) n += c.state == "running";
        return n;
    }

    adapters::DockerEngineClient docker_;
    std::vector<std::string> adapterIds_;
    std::vector<std::unique_ptr<ChildProcess>> adapters_;
};

}  // namespace

TEST_F(ContainerAdapterTest, TasksRunInContainersAndTheIdleGroupIsStoppedAndRemoved) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    // an environment secret for the workers: passed to the container, never written to the log (even at
    // DEBUG)
    const std::string secret = "s3cr3t-token-never-logged";
    auto& adapter = startAdapter(
        cluster.address(), "ctr-basic",
        {"--max-worker-groups", "2", "--env", "SCALER_TEST_TOKEN=" + secret, "--logging-level", "DEBUG"});
    Client client(cluster.address());
    const std::vector<std::string> payloads(40, "50");
    auto futures = client.map("sleep_ms", payloads);
    // The workers run inside containers: their group is a container group and their pids are a new
    // namespace's.
    ASSERT_TRUE(waitUntil([&] { return !cluster.snapshot()["workers"].empty(); }, 60s));
    const auto during = cluster.snapshot();  // range-for over a temporary's member would dangle
    for (const auto& w : during["workers"]) {
        EXPECT_EQ(w["id"].get<std::string>().rfind("Worker|CTR|container-", 0), 0u) << w.dump();
        EXPECT_EQ(w["adapter_id"], "ctr-basic");
        EXPECT_LT(w["pid"].get<uint32_t>(), 100u) << "not in a pid namespace: " << w.dump();
    }
    EXPECT_GE(running("ctr-basic"), 1u);
    EXPECT_EQ(Client::gather(futures), payloads);
    EXPECT_EQ(client.submit("word_count", "one two three").get(), "3");  // the plugin inside the image

    // After the work: drained, shut down, container stopped and removed.
    EXPECT_TRUE(waitUntil([&] { return containers("ctr-basic").empty(); }, 60s));
    // the monitor snapshot is published once a second: it may still list the worker the engine has removed
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["workers"].empty(); }, 10s));
    const auto snapshot = cluster.snapshot();
    EXPECT_TRUE(hasScalingEvent(snapshot, "ctr-basic", "shutdown"));
    EXPECT_EQ(snapshot["tasks"]["succeeded"], 41);
    EXPECT_EQ(snapshot["tasks"]["worker_died"], 0);
    EXPECT_EQ(adapter.log().find(secret), std::string::npos) << "the --env secret was logged";
}

// Docker 29 refuses API versions below 1.44 (Podman answers any): the adapter asks the engine which versions
// it takes and uses one it accepts. A stand-in that answers like Docker 29 sits in front of the Podman
// service.
TEST_F(ContainerAdapterTest, AnEngineThatRefusesOldApiVersionsIsServedWithOneItAccepts) {
    const std::string dir = tempDir();
    const std::string upstream = std::string(kDockerHost).substr(std::strlen("unix://"));
    ChildProcess proxy(
        {"/usr/bin/env", "node", std::string(SCALER_TEST_SOURCE_DIR) + "/container/docker29_proxy.mjs",
         "--listen", dir + "/docker29.sock", "--upstream", upstream, "--log", dir + "/requests.log"},
        dir + "/proxy.log");
    ASSERT_TRUE(waitUntil([&] { return proxy.log().find("stand-in on") != std::string::npos; }))
        << proxy.log();
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto& adapter =
        startAdapter(cluster.address(), "ctr-docker29",
                     {"--max-worker-groups", "1", "--docker-host", "unix://" + dir + "/docker29.sock"});
    Client client(cluster.address());
    EXPECT_EQ(client.submit("echo", "through docker 29").get(), "through docker 29") << adapter.log();
    std::ifstream in(dir + "/requests.log");
    size_t versioned = 0;
    for (std::string line; std::getline(in, line);) {
        EXPECT_EQ(line.find("/v1.41/"), std::string::npos) << "a request Docker 29 refuses: " << line;
        versioned += line.find("/v1.44/") != std::string::npos;
    }
    EXPECT_GT(versioned, 0u) << "no request used the version the engine accepts";
    EXPECT_NE(adapter.log().find("1.44"), std::string::npos) << "the negotiated version is not in the log";
    std::ifstream again(dir + "/requests.log");
    bool pinged = false, unversionedVersion = false;
    for (std::string line; std::getline(again, line);) {
        pinged |= line == "GET /_ping";
        unversionedVersion |= line == "GET /version";  // deprecated by Docker's specification
    }
    EXPECT_TRUE(pinged) << "the version was not negotiated through /_ping as Docker's client does";
    EXPECT_FALSE(unversionedVersion);

    // the image script negotiates the same way, and would print the engine's words if it were refused. Into a
    // repository of its own: importing into scaler-cpp-worker replaced the fixture's image (the one with the
    // test plugin) and the container tests after this one failed.
    ChildProcess build(
        {"/bin/bash", std::string(SCALER_TEST_SOURCE_DIR) + "/../tools/scripts/build-worker-image.sh",
         "--bin-dir", fs::path(binary("scaler_worker")).parent_path().string(), "--tag",
         "scaler-docker29-import-check:latest", "--docker-host", "unix://" + dir + "/docker29.sock"},
        dir + "/build-image.log");
    const int status = build.waitExit(120s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << build.log();
    std::ifstream imports(dir + "/requests.log");
    bool importedAt144 = false;
    for (std::string line; std::getline(imports, line);) {
        importedAt144 |= line.rfind("POST /v1.44/images/create", 0) == 0;
        EXPECT_EQ(line.find("/v1.41/"), std::string::npos) << line;
    }
    EXPECT_TRUE(importedAt144) << build.log();
}

// Bridge networking on Podman: the workers reach a scheduler on this host by Podman's own name for it,
// host.containers.internal (Debian 12's Podman writes Docker's "host-gateway" into /etc/hosts literally, so
// the adapter warns about that spelling on Podman). The scheduler listens beyond loopback for this, without
// CURVE only because the test says so.
TEST_F(ContainerAdapterTest, OnABridgeNetworkWorkersReachTheHostSchedulerAsHostContainersInternal) {
    const std::string dir = tempDir();
    const uint16_t port = tools::pickFreePortPair();
    ChildProcess scheduler(
        {binary("scaler_scheduler"), "tcp://0.0.0.0:" + std::to_string(port), "--allow-unauthenticated",
         "--policy-content", "allocate=capability; scaling=capability"},
        dir + "/scheduler.log");
    const std::string address = "tcp://127.0.0.1:" + std::to_string(port);
    const std::string workerAddress = "tcp://host.containers.internal:" + std::to_string(port);
    Client client(address);
    auto future = client.submit("echo", "across the bridge");
    // Docker's spelling first: the workers cannot start, and the adapter says why
    auto& dockerSpelling =
        startAdapter(address, "ctr-bridge-gw",
                     {"--max-worker-groups", "1", "--network-mode", "bridge", "--worker-scheduler-address",
                      workerAddress, "--add-host", "scheduler.internal:host-gateway"});
    EXPECT_TRUE(waitUntil([&] {
        return dockerSpelling.log().find("host.containers.internal") != std::string::npos;
    })) << "no warning about host-gateway on Podman: "
        << dockerSpelling.log();
    dockerSpelling.signal(SIGTERM);
    dockerSpelling.waitExit(30s);
    auto& adapter = startAdapter(address, "ctr-bridge",
                                 {"--max-worker-groups", "1", "--network-mode", "bridge",
                                  "--worker-scheduler-address", workerAddress});
    ASSERT_TRUE(future.wait_for(std::chrono::seconds(90)))
        << "no worker on the bridge reached the scheduler: " << adapter.log();
    EXPECT_EQ(future.get(), "across the bridge") << adapter.log();
}

TEST_F(ContainerAdapterTest, ARestartedAdapterAdoptsTheContainersItLeftRunning) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto& first = startAdapter(cluster.address(), "ctr-restart", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(4, "2500"));
    std::string groupId;
    ASSERT_TRUE(waitUntil(
        [&] {
            const auto snapshot = cluster.snapshot();
            for (const auto& w : snapshot["workers"]) groupId = w["worker_group_id"].get<std::string>();
            return !groupId.empty();
        },
        60s));
    first.signal(SIGKILL);
    ASSERT_NE(first.waitExit(5s), -1);
    EXPECT_EQ(running("ctr-restart"), 1u);  // nothing stops a container when its adapter is killed

    auto& second = startAdapter(cluster.address(), "ctr-restart", {"--max-worker-groups", "1"});
    ASSERT_TRUE(waitUntil([&] {
        return second.log().find("adopted worker group '" + groupId + "'") != std::string::npos;
    })) << second.log();
    EXPECT_EQ(Client::gather(futures).size(), 4u);
    // The adopted group is the one the scheduler shuts down when idle: no orphan container remains.
    EXPECT_TRUE(waitUntil([&] { return containers("ctr-restart").empty(); }, 60s)) << second.log();
    const auto snapshot = cluster.snapshot();
    EXPECT_TRUE(hasScalingEvent(snapshot, "ctr-restart", "shutdown"));
    EXPECT_EQ(snapshot["tasks"]["succeeded"], 4);
    EXPECT_EQ(snapshot["tasks"]["worker_died"], 0);
    EXPECT_TRUE(second.running());
}

TEST_F(ContainerAdapterTest, AMissingImageFailsTheStartClearlyAndTheSchedulerKeepsServing) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    auto& adapter =
        startAdapter(cluster.address(), "ctr-noimage", {"--image", "scaler-no-such-image:latest"});
    Client client(cluster.address());
    auto future = client.submit("echo", "still served");
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "ctr-noimage", "start failed", "no such image");
    })) << adapter.log();
    EXPECT_NE(adapter.log().find("image 'scaler-no-such-image:latest'"), std::string::npos) << adapter.log();
    EXPECT_TRUE(adapter.running());
    EXPECT_TRUE(containers("ctr-noimage").empty());
    cluster.addWorker();
    EXPECT_EQ(future.get(), "still served");
}

TEST_F(ContainerAdapterTest, AnUnreachableEngineFailsTheStartAndTheAdapterKeepsRunning) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    auto& adapter =
        startAdapter(cluster.address(), "ctr-nosocket", {"--docker-host", "unix:///nonexistent/docker.sock"});
    Client client(cluster.address());
    auto future = client.submit("echo", "x");
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "ctr-nosocket", "start failed", "cannot be used");
    })) << adapter.log();
    EXPECT_NE(adapter.log().find("cannot list this adapter's containers"), std::string::npos)
        << adapter.log();
    EXPECT_TRUE(adapter.running());
    cluster.addWorker();
    EXPECT_EQ(future.get(), "x");
}
