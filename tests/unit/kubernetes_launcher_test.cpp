// KubernetesWorkerGroupLauncher against an in-memory API server, with invented time: the Pod it creates,
// a retried create, Pods deleted or evicted from outside, Pods that cannot start (reported FAILED with the
// reason), stops, adoption after a restart, and an API server that refuses or cannot be reached. The fake API
// server tests (tests/kubernetes) run the same launcher over HTTPS against Kubernetes' own schemas.
#include <gtest/gtest.h>

#include "scaler/adapters/kubernetes_worker_group_launcher.h"

using namespace scaler;
using namespace scaler::adapters;
using namespace scaler::adapters::kubernetes;
using namespace std::chrono_literals;
namespace labels = kubernetes_labels;

namespace {

class FakeApiServer : public KubernetesApi {
public:
    std::map<std::string, nlohmann::json> pods;  // by name
    std::vector<std::string> calls;
    bool down = false;
    bool forbidCreate = false;
    bool loseCreateAnswer = false;      // the Pod is created but the answer never arrives
    bool answerAlreadyExists = false;   // as a create retried after a lost answer sees it
    bool foreignPodOfThatName = false;  // someone else's Pod holds the name
    int uids = 0;

    ApiResult createPod(const std::string& ns, const nlohmann::json& pod) override {
        calls.push_back("create");
        if (down) return unreachable();
        if (forbidCreate)
            return status(403, "Forbidden",
                          "pods \"x\" is forbidden: exceeded quota: compute, requested: pods=1");
        const std::string name = pod["metadata"]["name"];
        if (pods.count(name)) return status(409, "AlreadyExists", "pods \"" + name + "\" already exists");
        nlohmann::json stored = pod;
        stored["metadata"]["namespace"] = ns;
        stored["metadata"]["uid"] = "uid-" + std::to_string(++uids);
        stored["status"] = {{"phase", "Pending"}};
        if (foreignPodOfThatName) stored["metadata"]["labels"] = {{"app", "other"}};
        pods[name] = stored;
        if (answerAlreadyExists || foreignPodOfThatName)
            return status(409, "AlreadyExists", "pods \"" + name + "\" already exists");
        if (loseCreateAnswer) {
            loseCreateAnswer = false;
            return unreachable();
        }
        return ok(stored);
    }
    ApiResult getPod(const std::string&, const std::string& name) override {
        calls.push_back("get");
        if (!pods.count(name)) return status(404, "NotFound", "pods \"" + name + "\" not found");
        return ok(pods[name]);
    }
    ApiResult listPods(const std::string&, const std::string& selector,
                       std::vector<nlohmann::json>& out) override {
        calls.push_back("list");
        if (down) return unreachable();
        const size_t eq = selector.find('=');
        for (const auto& [name, pod] : pods) {
            if (pod["metadata"]["labels"].value(selector.substr(0, eq), "") == selector.substr(eq + 1))
                out.push_back(pod);
        }
        return ok({{"kind", "PodList"}});
    }
    ApiResult deletePod(const std::string&, const std::string& name, int64_t grace,
                        const std::string& uid) override {
        calls.push_back("delete " + name + " " + std::to_string(grace));
        if (down) return unreachable();
        auto it = pods.find(name);
        if (it == pods.end()) return status(404, "NotFound", "not found");
        if (!uid.empty() && it->second["metadata"]["uid"] != uid)
            return status(409, "Conflict", "uid precondition");
        if (grace == 0) {
            pods.erase(it);
        } else {
            it->second["metadata"]["deletionTimestamp"] = "2026-12-07T00:00:00Z";
        }
        return ok({{"kind", "Pod"}});
    }
    std::string server() const override { return "https://fake:6443"; }

    static ApiResult ok(nlohmann::json body) {
        ApiResult r;
        r.ok = true;
        r.status = 200;
        r.body = std::move(body);
        return r;
    }
    static ApiResult status(long code, std::string reason, std::string message) {
        ApiResult r;
        r.status = code;
        r.reason = std::move(reason);
        r.message = std::move(message);
        return r;
    }
    static ApiResult unreachable() {
        ApiResult r;
        r.message = "Failed to connect to fake port 6443: Connection refused";
        return r;
    }
};

class KubernetesLauncherTest : public ::testing::Test {
protected:
    KubernetesLauncherTest() {
        settings.schedulerAddress = "tcp://scheduler:8516";
        settings.adapterId = "k8s-a";
        settings.workersPerGroup = 2;
        worker.shutdownGraceSeconds = 20;
        options.ns = "workers";
        options.reconcileInterval = 2000ms;
        options.pendingTimeout = 300s;
        options.failedRetention = 60s;
    }
    KubernetesWorkerGroupLauncher& launcher() {
        if (!launcher_) {
            auto owned = std::make_unique<FakeApiServer>(std::move(seed));
            api = owned.get();
            launcher_ =
                std::make_unique<KubernetesWorkerGroupLauncher>(settings, worker, options, std::move(owned));
        }
        return *launcher_;
    }
    nlohmann::json& podOf(const std::string& groupId) { return api->pods.at(podNameOf(groupId)); }
    GroupInventoryEntry entry(const std::string& groupId) {
        for (auto& g : launcher().inventory())
            if (g.id == groupId) return g;
        return {};
    }

    WorkerAdapterSettings settings;
    WorkerOptions worker;
    KubernetesOptions options;
    FakeApiServer seed;
    FakeApiServer* api = nullptr;
    std::unique_ptr<KubernetesWorkerGroupLauncher> launcher_;
    AdapterTimePoint t0 = AdapterTimePoint{} + 1h;
};

}  // namespace

TEST_F(KubernetesLauncherTest, APodPerGroupNamedAfterItWithLabelsAnnotationsAndNoRestarts) {
    options.cpuRequest = "500m";
    options.memoryLimit = "1Gi";
    const auto started = launcher().startGroup(parseCapabilities("gpu=1"), t0);
    ASSERT_EQ(started.status, wire::WorkerAdapterCommandStatus::SUCCESS) << started.message;
    const auto& pod = podOf(started.groupId);
    EXPECT_EQ(pod["metadata"]["name"], "scaler-" + started.groupId);
    EXPECT_EQ(pod["metadata"]["labels"][labels::kAdapterId], "k8s-a");
    EXPECT_EQ(pod["metadata"]["labels"][labels::kGroupId], started.groupId);
    EXPECT_EQ(pod["metadata"]["annotations"][labels::kCapabilities], "gpu=1");
    EXPECT_EQ(pod["metadata"]["annotations"][labels::kWorkerIds],
              "Worker|K8S|" + started.groupId + "|0,Worker|K8S|" + started.groupId + "|1");
    EXPECT_EQ(pod["spec"]["restartPolicy"], "Never");
    EXPECT_EQ(pod["spec"]["automountServiceAccountToken"], false);
    EXPECT_EQ(pod["spec"]["terminationGracePeriodSeconds"], 30);  // the workers' 20 s and a margin
    EXPECT_EQ(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"], "500m");
    EXPECT_EQ(pod["spec"]["containers"][0]["resources"]["limits"]["memory"], "1Gi");
    const auto command = pod["spec"]["containers"][0]["command"];
    EXPECT_EQ(command[0], "/usr/local/bin/scaler_worker_group");
    EXPECT_NE(std::find(command.begin(), command.end(), "tcp://scheduler:8516"), command.end());
    EXPECT_EQ(entry(started.groupId).state, wire::WorkerGroupState::STARTING);
    podOf(started.groupId)["status"]["phase"] = "Running";
    launcher().poll(t0 + 2s);
    EXPECT_EQ(entry(started.groupId).state, wire::WorkerGroupState::RUNNING);
}

TEST_F(KubernetesLauncherTest, ARetriedCreateThatFindsItsPodIsAStartOnlyWithOurLabels) {
    launcher();
    api->answerAlreadyExists = true;
    const auto retried = launcher().startGroup({}, t0);
    EXPECT_EQ(retried.status, wire::WorkerAdapterCommandStatus::SUCCESS) << retried.message;
    EXPECT_EQ(api->pods.size(), 1u);  // one Pod for the group, never two
    api->answerAlreadyExists = false;
    api->foreignPodOfThatName = true;
    const auto foreign = launcher().startGroup({}, t0);
    EXPECT_EQ(foreign.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(foreign.message.find("is not this adapter's"), std::string::npos) << foreign.message;
}

TEST_F(KubernetesLauncherTest, APodWhoseCreateAnswerWasLostIsDeletedAtTheNextCheck) {
    launcher();
    api->loseCreateAnswer = true;
    const auto lost = launcher().startGroup({}, t0);
    EXPECT_EQ(lost.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_EQ(api->pods.size(), 1u);
    launcher().poll(t0 + 2s);
    EXPECT_TRUE(api->pods.empty());  // not a group the scheduler knows: nothing may run in it
}

TEST_F(KubernetesLauncherTest, APodDeletedFromOutsideEndsItsGroupAndAnEvictedOneIsStopping) {
    const auto a = launcher().startGroup({}, t0);
    const auto b = launcher().startGroup({}, t0);
    podOf(a.groupId)["status"]["phase"] = "Running";
    podOf(b.groupId)["status"]["phase"] = "Running";
    launcher().poll(t0 + 2s);
    api->pods.erase(podNameOf(a.groupId));
    podOf(b.groupId)["metadata"]["deletionTimestamp"] = "2026-12-07T00:00:00Z";
    launcher().poll(t0 + 4s);
    const auto inventory = launcher().inventory();
    ASSERT_EQ(inventory.size(), 1u);
    EXPECT_EQ(inventory[0].id, b.groupId);
    EXPECT_EQ(inventory[0].state, wire::WorkerGroupState::STOPPING);
}

TEST_F(KubernetesLauncherTest, AFinishedPodIsDeletedAndItsEndingLogged) {
    const auto started = launcher().startGroup({}, t0);
    podOf(started.groupId)["status"] = {
        {"phase", "Failed"},
        {"containerStatuses",
         {{{"name", "workers"}, {"state", {{"terminated", {{"exitCode", 137}, {"reason", "OOMKilled"}}}}}}}}};
    EXPECT_NE(podEnding(podOf(started.groupId)).find("exit code 137 (OOMKilled"), std::string::npos);
    // ended before it ever ran: a failed start
    launcher().poll(t0 + 2s);
    EXPECT_EQ(entry(started.groupId).state, wire::WorkerGroupState::FAILED);
    EXPECT_NE(entry(started.groupId).message.find("OOMKilled"), std::string::npos);
    EXPECT_FALSE(api->pods.count(podNameOf(started.groupId)));

    const auto running = launcher().startGroup({}, t0);
    podOf(running.groupId)["status"]["phase"] = "Running";
    launcher().poll(t0 + 4s);
    podOf(running.groupId)["status"]["phase"] = "Succeeded";
    launcher().poll(t0 + 6s);
    EXPECT_TRUE(entry(running.groupId).id.empty());  // gone: the scheduler requeues what it ran
    EXPECT_FALSE(api->pods.count(podNameOf(running.groupId)));
}

TEST_F(KubernetesLauncherTest, APodThatCannotPullItsImageIsDeletedAfterThePendingTimeoutAndReportedFailed) {
    const auto started = launcher().startGroup({}, t0);
    podOf(started.groupId)["status"] = {
        {"phase", "Pending"},
        {"containerStatuses",
         {{{"name", "workers"},
           {"state",
            {{"waiting",
              {{"reason", "ImagePullBackOff"},
               {"message", "Back-off pulling image \"scaler-cpp-worker:nope\""}}}}}}}}};
    launcher().poll(t0 + 299s);
    EXPECT_EQ(entry(started.groupId).state, wire::WorkerGroupState::STARTING);
    launcher().poll(t0 + 301s);
    const auto failed = entry(started.groupId);
    EXPECT_EQ(failed.state, wire::WorkerGroupState::FAILED);
    EXPECT_NE(failed.message.find("ImagePullBackOff: Back-off pulling image"), std::string::npos)
        << failed.message;
    EXPECT_FALSE(api->pods.count(podNameOf(started.groupId)));
    // reported for a while, then forgotten; it never counts against the adapter's capacity
    launcher().poll(t0 + 359s);
    EXPECT_EQ(launcher().inventory().size(), 1u);
    launcher().poll(t0 + 362s);
    EXPECT_TRUE(launcher().inventory().empty());
}

TEST_F(KubernetesLauncherTest, AnUnschedulablePodSaysWhy) {
    nlohmann::json pod = {{"status",
                           {{"phase", "Pending"},
                            {"conditions",
                             {{{"type", "PodScheduled"},
                               {"status", "False"},
                               {"reason", "Unschedulable"},
                               {"message", "0/3 nodes are available: 3 Insufficient cpu."}}}}}}};
    EXPECT_EQ(podStartProblem(pod), "Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.");
    EXPECT_EQ(podStartProblem(nlohmann::json{{"status", {{"phase", "Pending"}}}}), "");
}

TEST_F(KubernetesLauncherTest, AStopDeletesWithGraceAndTheUidThenWithoutGraceWhenStuck) {
    const auto started = launcher().startGroup({}, t0);
    podOf(started.groupId)["status"]["phase"] = "Running";
    EXPECT_EQ(launcher().stopGroup(started.groupId, t0 + 1s).status,
              wire::WorkerAdapterCommandStatus::SUCCESS);
    EXPECT_EQ(launcher().stopGroup(started.groupId, t0 + 2s).status,
              wire::WorkerAdapterCommandStatus::SUCCESS);
    EXPECT_EQ(
        std::count(api->calls.begin(), api->calls.end(), "delete " + podNameOf(started.groupId) + " 30"), 1);
    EXPECT_EQ(entry(started.groupId).state, wire::WorkerGroupState::STOPPING);
    launcher().poll(t0 + 60s);  // terminating, within its grace and margin
    EXPECT_EQ(std::count(api->calls.begin(), api->calls.end(), "delete " + podNameOf(started.groupId) + " 0"),
              0);
    launcher().poll(t0 + 62s);  // a node that is gone never confirms: deleted without grace
    EXPECT_EQ(std::count(api->calls.begin(), api->calls.end(), "delete " + podNameOf(started.groupId) + " 0"),
              1);
    launcher().poll(t0 + 64s);
    EXPECT_TRUE(launcher().inventory().empty());
}

TEST_F(KubernetesLauncherTest, ARestartedAdapterAdoptsLivePodsAndDeletesFinishedOnes) {
    {
        auto first = std::make_unique<FakeApiServer>();
        FakeApiServer* shared = first.get();
        KubernetesWorkerGroupLauncher before(settings, worker, options, std::move(first));
        const auto a = before.startGroup(parseCapabilities("gpu=1"), t0);
        const auto b = before.startGroup({}, t0);
        shared->pods.at(podNameOf(a.groupId))["status"]["phase"] = "Running";
        shared->pods.at(podNameOf(b.groupId))["status"]["phase"] = "Succeeded";
        seed = *shared;
    }
    seed.pods["other"] = {{"metadata", {{"name", "other"}, {"labels", {{labels::kAdapterId, "k8s-b"}}}}},
                          {"status", {{"phase", "Running"}}}};
    launcher().poll(t0 + 1min);
    const auto inventory = launcher().inventory();
    ASSERT_EQ(inventory.size(), 1u);
    EXPECT_EQ(inventory[0].state, wire::WorkerGroupState::RUNNING);
    EXPECT_EQ(formatCapabilities(inventory[0].capabilities), "gpu=1");
    EXPECT_EQ(inventory[0].workerIds.size(), 2u);
    EXPECT_EQ(api->pods.size(), 2u);  // the finished one deleted; another adapter's left alone
    EXPECT_TRUE(api->pods.count("other"));
}

TEST_F(KubernetesLauncherTest, RefusalsAndOutagesFailTheStartWithTheServersWords) {
    seed.forbidCreate = true;
    const auto forbidden = launcher().startGroup({}, t0);
    EXPECT_EQ(forbidden.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(forbidden.message.find("403 Forbidden"), std::string::npos) << forbidden.message;
    EXPECT_NE(forbidden.message.find("exceeded quota"), std::string::npos) << forbidden.message;
    api->down = true;
    KubernetesWorkerGroupLauncher fresh(settings, worker, options, std::make_unique<FakeApiServer>(*api));
    const auto down = fresh.startGroup({}, t0);
    EXPECT_EQ(down.status, wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_NE(down.message.find("Connection refused"), std::string::npos) << down.message;
}

TEST_F(KubernetesLauncherTest, ExitingDeletesEveryPodAndWaitsForThemToGo) {
    const auto a = launcher().startGroup({}, t0);
    const auto b = launcher().startGroup({}, t0);
    launcher().beginStopAll(t0 + 1s);
    for (const auto& g : launcher().inventory()) EXPECT_EQ(g.state, wire::WorkerGroupState::STOPPING);
    api->pods.erase(podNameOf(a.groupId));
    launcher().poll(t0 + 1500ms);
    ASSERT_EQ(launcher().inventory().size(), 1u);
    launcher().forceStopAll();
    EXPECT_TRUE(launcher().inventory().empty());
    EXPECT_TRUE(api->pods.count(podNameOf(b.groupId)));  // Kubernetes finishes its graceful deletion
}
