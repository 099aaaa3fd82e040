// scaler_worker_adapter_kubernetes against a stand-in API server (tests/kubernetes/fake_apiserver/server.mjs)
// that speaks HTTPS with a test CA, checks tokens and client certificates, validates every Pod with
// Kubernetes' own schemas and the official client's field lists, and runs each Pod's command as a local
// process, so the workers it starts really connect to the scheduler. The official client is run against the
// stand-in first, so it is the real API being spoken, not our adapter's idea of it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <httplib.h>

#include "scaler/adapters/http_client.h"
#include "scaler/adapters/kubernetes_api_client.h"
#include "scaler/client/client.h"
#include "scaler/client/errors.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;
namespace kube = scaler::adapters::kubernetes;
namespace fs = std::filesystem;

namespace {

const std::string kFake = SCALER_FAKE_KUBERNETES_DIR;

class KubernetesAdapterTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = tempDir();
        writeFile(dir_ + "/token", "adapter-token-1");
        fake_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{
                "/usr/bin/env", "node", kFake + "/server.mjs", "--port-file", dir_ + "/port", "--cert",
                kFake + "/tls/server.crt", "--key", kFake + "/tls/server.key", "--token-file",
                dir_ + "/token", "--client-ca", kFake + "/tls/ca.crt", "--path-map",
                "/usr/local/bin/=" + fs::path(binary("scaler_worker_group")).parent_path().string() + "/",
                "--log-dir", dir_},
            dir_ + "/fake-apiserver.log");
        ASSERT_TRUE(waitUntil([&] {
            std::ifstream in(dir_ + "/port"), control(dir_ + "/port.control");
            return static_cast<bool>(in >> port_) && static_cast<bool>(control >> controlPort_);
        })) << fake_->log();
        server_ = "https://127.0.0.1:" + std::to_string(port_);
        writeKubeconfig("user:\n    token: adapter-token-1");
    }

    void TearDown() override {
        adapters_.clear();
        fake_->signal(SIGTERM);  // it kills the Pod processes it started
        fake_->waitExit(5s);
    }

    static void writeFile(const std::string& path, const std::string& text) {
        std::ofstream out(path);
        out << text;
    }

    // A kubeconfig for the stand-in with this user section.
    void writeKubeconfig(const std::string& user, const std::string& path = {}) {
        writeFile(path.empty() ? dir_ + "/kubeconfig" : path,
                  "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: fake\n  cluster:\n"
                  "    server: " +
                      server_ + "\n    certificate-authority: " + kFake +
                      "/tls/ca.crt\n"
                      "users:\n- name: adapter\n  " +
                      user +
                      "\ncontexts:\n- name: test\n  context:\n"
                      "    cluster: fake\n    user: adapter\n    namespace: scaler-test\n");
    }

    std::vector<std::string> adapterArgs(const std::string& address, const std::string& adapterId) const {
        return {binary("scaler_worker_adapter_kubernetes"),
                address,
                "--adapter-id",
                adapterId,
                "--kubeconfig",
                dir_ + "/kubeconfig",
                "--image",
                "scaler-cpp-worker:test",
                "--heartbeat-interval-seconds",
                "0.5",
                "--shutdown-grace-seconds",
                "1",
                "--death-timeout-seconds",
                "10",
                "--workers-per-group",
                "2",
                "--reconcile-interval-seconds",
                "0.3",
                "--cpu-request",
                "100m",
                "--memory-limit",
                "512Mi",
                "--load",
                pluginPath()};
    }

    ChildProcess& startAdapter(const std::string& address, const std::string& adapterId,
                               std::vector<std::string> extra = {},
                               std::map<std::string, std::string> env = {}) {
        auto args = adapterArgs(address, adapterId);
        args.insert(args.end(), extra.begin(), extra.end());
        if (!env.empty()) {
            std::vector<std::string> withEnv{"/usr/bin/env"};
            for (const auto& [k, v] : env) withEnv.push_back(k + "=" + v);
            args.insert(args.begin(), withEnv.begin(), withEnv.end());
        }
        adapters_.push_back(std::make_unique<ChildProcess>(
            args, dir_ + "/k8s-adapter-" + adapterId + "-" + std::to_string(adapters_.size()) + ".log"));
        return *adapters_.back();
    }

    nlohmann::json control(const std::string& what, const nlohmann::json& body = nullptr) {
        adapters::HttpClient http({});
        adapters::HttpRequest request;
        request.method = body.is_null() ? "GET" : "POST";
        request.url = "http://127.0.0.1:" + std::to_string(controlPort_) + "/_control/" + what;
        if (!body.is_null()) request.body = body.dump();
        const auto response = http.send(request);
        EXPECT_TRUE(response.answered()) << response.transportError;
        return nlohmann::json::parse(response.body, nullptr, false);
    }

    size_t podsIn(const std::string& phase) {
        size_t n = 0;
        const auto state = control("state");  // not in the loop's head: a temporary's member would dangle
        for (const auto& p : state["pods"]) n += p["phase"] == phase && !p["terminating"].get<bool>();
        return n;
    }

    kube::KubernetesApiClient apiClient(const std::string& token) {
        kube::KubernetesClientOptions options;
        options.credentials.server = server_;
        options.credentials.caFile = kFake + "/tls/ca.crt";
        options.credentials.token = token;
        options.maxAttempts = 1;
        return kube::KubernetesApiClient(options);
    }

    std::string dir_;
    int port_ = 0, controlPort_ = 0;
    std::string server_;
    std::unique_ptr<ChildProcess> fake_;
    std::vector<std::unique_ptr<ChildProcess>> adapters_;
};

nlohmann::json samplePod(const std::string& name) {
    return {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", name}, {"labels", {{"app", "check"}}}}},
        {"spec",
         {{"restartPolicy", "Never"},
          {"containers", {{{"name", "main"}, {"image", "busybox"}, {"command", {"/bin/sleep", "30"}}}}}}}};
}

}  // namespace

// The official client (@kubernetes/client-node: in-cluster config, CoreV1Api, its list/watch informer through
// a closed watch and a compaction) works against the stand-in: the API it serves is Kubernetes', not ours.
TEST_F(KubernetesAdapterTest, TheStandInServesTheOfficialClient) {
    const std::string sa = dir_ + "/sa";
    fs::create_directories(sa + "/var/run/secrets/kubernetes.io/serviceaccount");
    fs::copy_file(kFake + "/tls/ca.crt", sa + "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
    writeFile(sa + "/var/run/secrets/kubernetes.io/serviceaccount/token", "adapter-token-1");
    writeFile(sa + "/var/run/secrets/kubernetes.io/serviceaccount/namespace", "client-check");
    ChildProcess check({"/usr/bin/env", "node", kFake + "/client_check.mjs", std::to_string(port_), sa,
                        std::to_string(controlPort_)},
                       dir_ + "/client-check.log");
    const int status = check.waitExit(60s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << check.log() << fake_->log();
    EXPECT_NE(check.log().find("all checks passed"), std::string::npos) << check.log();
}

// What a real API server refuses, the stand-in refuses the same way, so the adapter is tested against it.
TEST_F(KubernetesAdapterTest, TheStandInRefusesWhatTheApiServerRefuses) {
    auto api = apiClient("adapter-token-1");
    EXPECT_EQ(apiClient("wrong-token").getPod("ns", "x").status, 401);
    EXPECT_TRUE(api.createPod("scaler-test", samplePod("fine")).ok);
    const auto duplicate = api.createPod("scaler-test", samplePod("fine"));
    EXPECT_EQ(duplicate.status, 409);
    EXPECT_EQ(duplicate.reason, "AlreadyExists");
    auto unknown = samplePod("unknown-field");
    unknown["spec"]["containers"][0]["cpus"] = 2;
    const auto strict = api.createPod("scaler-test", unknown);
    EXPECT_EQ(strict.status, 400);
    EXPECT_NE(strict.message.find("unknown field \"spec.containers[0].cpus\""), std::string::npos)
        << strict.message;
    auto badName = samplePod("Not_A_Name");
    const auto invalid = api.createPod("scaler-test", badName);
    EXPECT_EQ(invalid.status, 422);
    EXPECT_EQ(invalid.reason, "Invalid");
    EXPECT_EQ(invalid.causeFields, (std::vector<std::string>{"metadata.name"}));
    auto noImage = samplePod("no-image");
    noImage["spec"]["containers"][0].erase("image");
    EXPECT_EQ(api.createPod("scaler-test", noImage).causeFields,
              (std::vector<std::string>{"spec.containers[0].image"}));
    auto aboveLimit = samplePod("above-limit");
    aboveLimit["spec"]["containers"][0]["resources"] = {{"requests", {{"memory", "2Gi"}}},
                                                        {"limits", {{"memory", "1Gi"}}}};
    EXPECT_EQ(api.createPod("scaler-test", aboveLimit).status, 422);
    auto badRestart = samplePod("bad-restart");
    badRestart["spec"]["restartPolicy"] = "Sometimes";
    EXPECT_EQ(api.createPod("scaler-test", badRestart).status, 422);  // from Kubernetes' schema
    const auto wrongUid = api.deletePod("scaler-test", "fine", 0, "not-its-uid");
    EXPECT_EQ(wrongUid.status, 409);
    EXPECT_EQ(api.deletePod("scaler-test", "absent", 0, "").status, 404);
    adapters::HttpClientOptions tls;
    tls.caFile = kFake + "/tls/ca.crt";
    adapters::HttpClient raw(tls);
    adapters::HttpRequest request;
    request.method = "POST";
    request.url = server_ + "/api/v1/namespaces/scaler-test/pods";
    request.headers = {"Authorization: Bearer adapter-token-1", "Content-Type: application/yaml"};
    request.body = "kind: Pod";
    const auto yaml = raw.send(request);
    EXPECT_EQ(yaml.status, 415);
}

TEST_F(KubernetesAdapterTest, TasksCompleteOnPodsAndIdlePodsAreDeleted) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto& adapter =
        startAdapter(cluster.address(), "k8s-basic",
                     {"--max-worker-groups", "2", "--secret-volume", "scaler-worker-keys:/etc/scaler/keys"});
    Client client(cluster.address());
    const std::vector<std::string> payloads(30, "50");
    auto futures = client.map("sleep_ms", payloads);
    ASSERT_TRUE(waitUntil([&] { return !cluster.snapshot()["workers"].empty(); }))
        << adapter.log() << fake_->log();
    for (const auto& w : cluster.snapshot()["workers"]) {
        EXPECT_EQ(w["id"].get<std::string>().rfind("Worker|K8S|k8s-", 0), 0u) << w.dump();
    }
    EXPECT_EQ(Client::gather(futures), payloads);
    const auto snapshot = cluster.snapshot();
    ASSERT_EQ(snapshot["adapters"].size(), 1u);
    EXPECT_EQ(snapshot["adapters"][0]["kind"], "kubernetes");
    // what the adapter sent passed the stand-in's schema and Strict checks
    auto pods = control("state")["pods"];
    ASSERT_FALSE(pods.empty());
    EXPECT_EQ(pods[0]["namespace"], "scaler-test");  // the kubeconfig context's namespace
    EXPECT_EQ(pods[0]["spec"]["restartPolicy"], "Never");
    EXPECT_EQ(pods[0]["spec"]["volumes"][0]["secret"]["secretName"], "scaler-worker-keys");
    EXPECT_EQ(pods[0]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"], "/etc/scaler/keys");
    EXPECT_EQ(pods[0]["labels"]["scaler-cpp/adapter-id"], "k8s-basic");
    EXPECT_EQ(control("state")["counters"]["invalid"], 0);
    EXPECT_EQ(control("state")["counters"]["strictRefusals"], 0);
    // idle: the scheduler stops the group and the adapter deletes its Pod
    EXPECT_TRUE(waitUntil([&] { return control("state")["pods"].empty(); }, 30s)) << adapter.log();
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["worker_groups"].empty(); }));
    EXPECT_EQ(cluster.snapshot()["tasks"]["worker_died"], 0);
    EXPECT_EQ(adapter.log().find("adapter-token-1"), std::string::npos) << "the token was logged";
}

// README's scaling demo on Kubernetes: CPU and GPU demand at once, groups started as Pods by two adapters,
// nothing lost, idle Pods deleted; scaler_top and the dashboard show the adapters as kind kubernetes.
TEST_F(KubernetesAdapterTest, TheDemoWorkloadRunsOnPodsWithNothingLost) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=2"});
    auto& cpu = startAdapter(cluster.address(), "k8s-cpu", {"--max-worker-groups", "3"});
    auto& gpu = startAdapter(cluster.address(), "k8s-gpu",
                             {"--max-worker-groups", "1", "--per-worker-capabilities", "gpu"});
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["adapters"].size() == 2; }));
    ChildProcess dashboard(
        {binary("scaler_dashboard"), cluster.monitorAddress(), "--http-address", "127.0.0.1:0"},
        dir_ + "/dashboard.log");
    Client client(cluster.address());
    auto cpuTasks = client.map("sleep_ms", std::vector<std::string>(300, "40"));
    SubmitOptions onGpu;
    onGpu.capabilities = "gpu";
    auto gpuTasks = client.map("sleep_ms", std::vector<std::string>(20, "100"), onGpu);
    std::smatch port;
    ASSERT_TRUE(waitUntil([&] {
        const std::string log = dashboard.log();
        return std::regex_search(log, port, std::regex("dashboard at http://127\\.0\\.0\\.1:([0-9]+)/"));
    })) << dashboard.log();
    httplib::Client http("127.0.0.1", std::stoi(port[1].str()));
    EXPECT_TRUE(waitUntil([&] {
        auto state = http.Get("/api/state");
        return state && state->body.find("\"kind\":\"kubernetes\"") != std::string::npos;
    })) << "the dashboard does not show the kind";
    ChildProcess top({binary("scaler_top"), cluster.monitorAddress(), "--once", "--json", "--timeout", "5"},
                     dir_ + "/top.json");
    top.waitExit(10s);
    EXPECT_NE(top.log().find("\"kind\":\"kubernetes\""), std::string::npos) << top.log();
    EXPECT_EQ(Client::gather(cpuTasks), std::vector<std::string>(300, "40"));
    EXPECT_EQ(Client::gather(gpuTasks), std::vector<std::string>(20, "100"));
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 320; }));
    EXPECT_EQ(cluster.snapshot()["tasks"]["worker_died"], 0);
    EXPECT_TRUE(hasScalingEvent(cluster.snapshot(), "k8s-gpu", "start"));
    EXPECT_TRUE(waitUntil([&] { return control("state")["pods"].empty(); }, 60s)) << cpu.log() << gpu.log();
}

TEST_F(KubernetesAdapterTest, ARestartedAdapterAdoptsItsPods) {
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto& first = startAdapter(cluster.address(), "k8s-restart", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(4, "2000"));
    ASSERT_TRUE(waitUntil([&] { return podsIn("Running") == 1; })) << first.log() << control("state").dump();
    first.signal(SIGKILL);
    ASSERT_NE(first.waitExit(5s), -1);
    auto& second = startAdapter(cluster.address(), "k8s-restart", {"--max-worker-groups", "1"});
    EXPECT_TRUE(waitUntil([&] { return second.log().find("adopted worker group") != std::string::npos; }))
        << second.log();
    EXPECT_EQ(Client::gather(futures).size(), 4u);
    EXPECT_EQ(control("state")["counters"]["creates"], 1) << "the adopted Pod served; no second one";
}

TEST_F(KubernetesAdapterTest, APodDeletedFromOutsideHasItsTasksRequeued) {
    TestCluster cluster({"--policy-content",
                         "allocate=capability; scaling=capability; min_group_age_seconds=1",
                         "--worker-timeout-seconds", "2"});
    auto& adapter = startAdapter(cluster.address(), "k8s-deleted", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    auto futures = client.map("sleep_ms", std::vector<std::string>(4, "3000"));
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["running"] >= 1; })) << adapter.log();
    const std::string pod = control("state")["pods"][0]["name"];
    control("pod", {{"name", pod}, {"action", "delete"}});  // kubectl delete pod --force --grace-period=0
    EXPECT_TRUE(waitUntil([&] {
        return adapter.log().find("was deleted from outside") != std::string::npos;
    })) << adapter.log();
    EXPECT_EQ(Client::gather(futures).size(), 4u);
    EXPECT_GE(control("state")["counters"]["creates"], 2);
}

TEST_F(KubernetesAdapterTest, APodThatCannotPullItsImageFailsItsStartAndTheWaitingClientIsTold) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    control("fault", {{"kind", "imagePullBackOff"}, {"count", 100}});
    auto& adapter = startAdapter(cluster.address(), "k8s-pull", {"--pending-timeout-seconds", "1"});
    Client client(cluster.address());
    auto future = client.submit("echo", "never runs");
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(cluster.snapshot(), "k8s-pull", "start failed", "ImagePullBackOff");
    })) << adapter.log();
    try {
        future.get();
        ADD_FAILURE() << "a task no Pod could start for succeeded";
    } catch (const TaskRejectedError& e) {
        EXPECT_NE(std::string(e.what()).find("ImagePullBackOff: Back-off pulling image"), std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(waitUntil([&] { return control("state")["pods"].empty(); })) << "the stuck Pods were deleted";
}

TEST_F(KubernetesAdapterTest, ThrottlingAndServerErrorsAreRetriedAndAQuotaRefusalIsReported) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    control("fault", {{"kind", "throttle429"}, {"count", 2}});
    control("fault", {{"kind", "error500"}, {"count", 2}});
    auto& adapter = startAdapter(cluster.address(), "k8s-retry", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    EXPECT_EQ(client.submit("echo", "after retries").get(), "after retries");
    EXPECT_NE(adapter.log().find("429 TooManyRequests"), std::string::npos) << adapter.log();
    EXPECT_NE(adapter.log().find("500 InternalError"), std::string::npos) << adapter.log();

    TestCluster quotaCluster({"--policy-content", "allocate=capability; scaling=capability"});
    control("fault", {{"kind", "quota403"}, {"count", 100}});
    auto& quota = startAdapter(quotaCluster.address(), "k8s-quota");
    Client quotaClient(quotaCluster.address());
    auto waiting = quotaClient.submit("echo", "x");
    EXPECT_TRUE(waitUntil([&] {
        return hasScalingEvent(quotaCluster.snapshot(), "k8s-quota", "start failed", "exceeded quota");
    })) << quota.log();
}

TEST_F(KubernetesAdapterTest, AClientCertificateAndAnExecPluginAuthenticate) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    writeKubeconfig("user:\n    client-certificate: " + kFake + "/tls/client.crt\n    client-key: " + kFake +
                    "/tls/client.key");
    auto& cert = startAdapter(cluster.address(), "k8s-cert", {"--max-worker-groups", "1"});
    Client client(cluster.address());
    EXPECT_EQ(client.submit("echo", "by certificate").get(), "by certificate") << cert.log();

    const std::string plugin = dir_ + "/credential-plugin.sh";
    writeFile(plugin,
              "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
              "\"ExecCredential\",\"status\":{\"token\":\"'$(cat " +
                  dir_ + "/token)'\"}}'\n");
    fs::permissions(plugin, fs::perms::owner_all);
    TestCluster execCluster({"--policy-content", "allocate=capability; scaling=capability"});
    writeKubeconfig("user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: " +
                    plugin + "\n      interactiveMode: Never");
    auto& exec = startAdapter(execCluster.address(), "k8s-exec", {"--max-worker-groups", "1"});
    Client execClient(execCluster.address());
    EXPECT_EQ(execClient.submit("echo", "by plugin").get(), "by plugin") << exec.log();
}

TEST_F(KubernetesAdapterTest, InClusterATokenThatChangesIsReadAgain) {
    const std::string sa = dir_ + "/serviceaccount";
    fs::create_directories(sa);
    fs::copy_file(kFake + "/tls/ca.crt", sa + "/ca.crt");
    writeFile(sa + "/token", "adapter-token-1");
    writeFile(sa + "/namespace", "in-cluster");
    TestCluster cluster(
        {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=1"});
    auto args = adapterArgs(cluster.address(), "k8s-incluster");
    args.erase(args.begin() + 4, args.begin() + 6);  // no --kubeconfig
    args.insert(args.begin(), {"/usr/bin/env", "KUBERNETES_SERVICE_HOST=127.0.0.1",
                               "KUBERNETES_SERVICE_PORT=" + std::to_string(port_),
                               "SCALER_KUBERNETES_SERVICEACCOUNT_DIR=" + sa, "KUBECONFIG=", "HOME=" + dir_});
    args.insert(args.end(), {"--max-worker-groups", "1"});
    ChildProcess adapter(args, dir_ + "/k8s-incluster.log");
    Client client(cluster.address());
    EXPECT_EQ(client.submit("echo", "first token").get(), "first token") << adapter.log();
    EXPECT_EQ(control("state")["pods"][0]["namespace"], "in-cluster");
    // the token rotates (kubelet writes a new bound token): the old one is refused, the adapter reads it
    // again
    writeFile(dir_ + "/token", "adapter-token-2");
    writeFile(sa + "/token", "adapter-token-2");
    EXPECT_TRUE(waitUntil([&] { return control("state")["counters"]["unauthorized"] >= 1; }))
        << adapter.log();
    EXPECT_TRUE(waitUntil([&] { return control("state")["pods"].empty(); }, 30s)) << adapter.log();
    EXPECT_EQ(client.submit("echo", "second token").get(), "second token") << adapter.log();
    EXPECT_EQ(adapter.log().find("adapter-token"), std::string::npos) << "a token was logged";
}

TEST_F(KubernetesAdapterTest, FlagsTheServerWouldRefuseAreRefusedAtStartUp) {
    auto args = adapterArgs("tcp://127.0.0.1:1", "k8s-flags");
    *(std::find(args.begin(), args.end(), "--cpu-request") + 1) = "2 cores";
    ChildProcess bad(args, dir_ + "/bad-flags.log");
    const int status = bad.waitExit(10s);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << bad.log();
    EXPECT_EQ(bad.log(),
              "scaler_worker_adapter_kubernetes: error: --cpu-request: '2 cores' is not a Kubernetes "
              "quantity (for example 500m or 2 for CPU, 512Mi or 4Gi for memory)\n");
}
