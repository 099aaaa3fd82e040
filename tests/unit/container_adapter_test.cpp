// The container adapter's pure parts: option parsing, the create body, and errors without an engine.
#include <gtest/gtest.h>

#include "scaler/adapters/container_adapter_options.h"
#include "scaler/adapters/container_worker_group_launcher.h"
#include "scaler/adapters/docker_engine_client.h"

using namespace scaler;
using namespace scaler::adapters;

TEST(ContainerAdapterOptions, ByteSizesTakeSuffixesAndRejectGarbage) {
    EXPECT_EQ(parseByteSize("1024"), 1024u);
    EXPECT_EQ(parseByteSize("512m"), 512ull << 20);
    EXPECT_EQ(parseByteSize("4g"), 4ull << 30);
    EXPECT_EQ(parseByteSize("64k"), 64ull << 10);
    EXPECT_THROW(parseByteSize("lots"), std::invalid_argument);
    EXPECT_THROW(parseByteSize("12x"), std::invalid_argument);
    EXPECT_THROW(parseByteSize(""), std::invalid_argument);
}

TEST(ContainerAdapterOptions, TheDefaultAdapterIdIsStableAndDependsOnImageAndCapabilities) {
    const auto a = defaultContainerAdapterId("unix:///var/run/docker.sock", "img:1", "gpu");
    EXPECT_EQ(a, defaultContainerAdapterId("unix:///var/run/docker.sock", "img:1", "gpu"));
    EXPECT_NE(a, defaultContainerAdapterId("unix:///var/run/docker.sock", "img:2", "gpu"));
    EXPECT_NE(a, defaultContainerAdapterId("unix:///var/run/docker.sock", "img:1", ""));
    EXPECT_EQ(a.rfind("container-", 0), 0u);
}

TEST(ContainerWorkerGroupLauncher, TheCreateBodyRunsTheGroupWithLabelsAndLimits) {
    WorkerAdapterSettings settings;
    settings.schedulerAddress = "tcp://10.0.0.5:8516";
    settings.adapterId = "ctr-x";
    settings.capabilities = parseCapabilities("gpu=2,linux");
    ContainerOptions options;
    options.dockerHost = "unix:///nonexistent.sock";
    options.image = "my/worker:7";
    options.networkMode = "bridge";
    options.workerSchedulerAddress = "tcp://host.docker.internal:8516";
    options.environment = {"A=1"};
    options.mounts = {"/data:/data:ro"};
    options.cpus = 1.5;
    options.memoryBytes = 1ull << 30;
    options.extraHosts = {"host.docker.internal:host-gateway"};
    WorkerOptions worker;
    ContainerWorkerGroupLauncher launcher(settings, worker, options);
    const auto spec =
        launcher.containerSpec("g1", {"Worker|CTR|g1|0", "Worker|CTR|g1|1"}, parseCapabilities("gpu=2"));
    EXPECT_EQ(spec["Image"], "my/worker:7");
    const auto command = spec["Cmd"].get<std::vector<std::string>>();
    ASSERT_GE(command.size(), 8u);
    EXPECT_EQ(command[0], "/usr/local/bin/scaler_worker_group");
    EXPECT_EQ(command[2], "2");
    EXPECT_EQ(command[4], "Worker|CTR|g1|");
    EXPECT_EQ(command[5], "--");
    EXPECT_EQ(command[6], "tcp://host.docker.internal:8516");  // the address as the containers see it
    EXPECT_NE(std::find(command.begin(), command.end(), "gpu=2"), command.end());
    EXPECT_EQ(spec["Labels"]["scaler.adapter-id"], "ctr-x");
    EXPECT_EQ(spec["Labels"]["scaler.worker-group-id"], "g1");
    EXPECT_EQ(spec["Labels"]["scaler.worker-ids"], "Worker|CTR|g1|0,Worker|CTR|g1|1");
    EXPECT_EQ(spec["Labels"]["scaler.capabilities"], "gpu=2");
    EXPECT_EQ(spec["HostConfig"]["NetworkMode"], "bridge");
    EXPECT_EQ(spec["HostConfig"]["NanoCpus"], 1500000000);
    EXPECT_EQ(spec["HostConfig"]["Memory"], 1ull << 30);
    EXPECT_EQ(spec["HostConfig"]["Binds"][0], "/data:/data:ro");
    // Linux Docker defines host.docker.internal only when asked (bridge mode reaching the host)
    EXPECT_EQ(spec["HostConfig"]["ExtraHosts"][0], "host.docker.internal:host-gateway");
    EXPECT_EQ(spec["Env"][0], "A=1");
}

TEST(ContainerWorkerGroupLauncher, AStartWithoutAnEngineFailsWithAClearMessage) {
    WorkerAdapterSettings settings;
    settings.schedulerAddress = "tcp://127.0.0.1:1";
    settings.adapterId = "ctr-y";
    ContainerOptions options;
    options.dockerHost = "unix:///nonexistent/docker.sock";
    ContainerWorkerGroupLauncher launcher(settings, WorkerOptions{}, options);
    const auto result = launcher.startGroup({}, AdapterTimePoint{});
    EXPECT_EQ(result.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(result.message.find("unix:///nonexistent/docker.sock"), std::string::npos) << result.message;
    EXPECT_TRUE(launcher.inventory().empty());
    EXPECT_EQ(launcher.stopGroup("nope", AdapterTimePoint{}).status,
              wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND);
}

TEST(DockerEngineClient, RejectsHostsItCannotSpeakTo) {
    EXPECT_THROW(DockerEngineClient("ssh://somewhere", std::chrono::seconds(1)), std::invalid_argument);
    EXPECT_THROW(DockerEngineClient("unix://", std::chrono::seconds(1)), std::invalid_argument);
    DockerEngineClient client("unix:///nonexistent/docker.sock", std::chrono::seconds(1));
    std::vector<ContainerSummary> listed;
    const auto result = client.listContainers("scaler.adapter-id", "x", listed);
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.status, 0);
    EXPECT_NE(result.error.find("cannot reach the container engine"), std::string::npos) << result.error;
}

TEST(DockerEngineClient, TheApiVersionIsNegotiatedWithinWhatBothSidesSpeak) {
    EXPECT_EQ(negotiateApiVersion("1.41", "1.24"), "1.41");  // Podman 4, Docker 20.10
    EXPECT_EQ(negotiateApiVersion("1.43", "1.12"), "1.43");
    EXPECT_EQ(negotiateApiVersion("1.52", "1.44"), "1.44");  // Docker 29: refuses 1.41, newer than we know
    EXPECT_EQ(negotiateApiVersion("1.60", "1.50"), "1.50");  // never below the engine's minimum
    EXPECT_EQ(negotiateApiVersion("", ""), "1.41");          // an engine that does not say
    EXPECT_EQ(negotiateApiVersion("1.9", "1.5"), "1.9");     // versions compare as numbers, not text
}

TEST(DockerEngineClient, AnUnusableSocketNamesItsCause) {
    const auto missing = checkUnixSocket("/nonexistent/docker.sock");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.why().find("no socket at /nonexistent/docker.sock"), std::string::npos)
        << missing.why();
    EXPECT_TRUE(checkUnixSocket("/dev/null"));  // present and usable (for root as well as others)
}

TEST(ContainerAdapterOptions, LimitsDockerRefusesAreRefusedAtStartUp) {
    const auto finish = [](const std::string& memory, double cpus, std::vector<std::string> hosts) {
        ContainerAdapterCommandLine o;
        o.adapter.settings.schedulerAddress = "tcp://127.0.0.1:8516";
        o.container.image = "img";
        o.memoryText = memory;
        o.container.cpus = cpus;
        o.container.extraHosts = std::move(hosts);
        try {
            finishContainerAdapterOptions(o);
            return std::string();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
    };
    EXPECT_NE(finish("4m", 0, {}).find("6 MiB"), std::string::npos);
    EXPECT_EQ(finish("64m", 0, {}), "");
    EXPECT_NE(finish("", 100000, {}).find("--cpus"), std::string::npos);
    EXPECT_NE(finish("", 0, {"no-colon"}).find("--add-host"), std::string::npos);
    EXPECT_EQ(finish("", 0, {"host.docker.internal:host-gateway"}), "");
}
