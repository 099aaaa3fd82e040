// The Kubernetes adapter's pure parts: the server's naming and quantity rules, flags refused at start-up,
// kubeconfig and in-cluster credentials, ExecCredential parsing, Status answers, Retry-After.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "scaler/adapters/kubernetes_adapter_options.h"
#include "scaler/adapters/kubernetes_api_client.h"
#include "scaler/adapters/kubernetes_credentials.h"
#include "scaler/adapters/kubernetes_rules.h"

using namespace scaler;
using namespace scaler::adapters;
using namespace scaler::adapters::kubernetes;
namespace fs = std::filesystem;

TEST(KubernetesRules, NamesFollowDns1123) {
    EXPECT_TRUE(checkDns1123Subdomain("scaler-k8s-0a1b.workers"));
    EXPECT_FALSE(checkDns1123Subdomain("Scaler"));
    EXPECT_FALSE(checkDns1123Subdomain("-scaler"));
    EXPECT_FALSE(checkDns1123Subdomain("a..b"));
    EXPECT_FALSE(checkDns1123Subdomain(std::string(254, 'a')));
    EXPECT_TRUE(checkDns1123Label("team-a"));
    EXPECT_FALSE(checkDns1123Label("team.a"));
    EXPECT_FALSE(checkDns1123Label(std::string(64, 'a')));
    EXPECT_EQ(checkDns1123Label("team.a").why(), "it may hold only lowercase letters, digits and '-'");
}

TEST(KubernetesRules, LabelKeysAndValues) {
    EXPECT_TRUE(checkLabelValue(""));
    EXPECT_TRUE(checkLabelValue("Abc_1.2-x"));
    EXPECT_FALSE(checkLabelValue("a b"));
    EXPECT_FALSE(checkLabelValue("-a"));
    EXPECT_FALSE(checkLabelValue(std::string(64, 'a')));
    EXPECT_TRUE(checkLabelKey("app.kubernetes.io/name"));
    EXPECT_TRUE(checkLabelKey("team"));
    EXPECT_FALSE(checkLabelKey("Bad_Prefix/x"));
    EXPECT_FALSE(checkLabelKey("prefix/"));
    EXPECT_FALSE(checkLabelKey(""));
}

TEST(KubernetesRules, QuantitiesAsTheServerReadsThem) {
    EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("500m")), 0.5);
    EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("2")), 2);
    EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("1.5Gi")), 1.5 * 1073741824.0);
    EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("128M")), 128e6);
    EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity("1e3")), 1000);
    EXPECT_DOUBLE_EQ(static_cast<double>(*parseQuantity(".5")), 0.5);
    for (const char* bad : {"2 cores", "", "Gi", "1.2.3", "5GB", "1e", "m"}) {
        EXPECT_FALSE(parseQuantity(bad)) << bad;
    }
}

namespace {

std::string startUpError(std::vector<std::string> args) {
    KubernetesAdapterCommandLine options;
    CLI::App app;
    addKubernetesAdapterOptions(app, options);
    args.insert(args.begin(), "tcp://127.0.0.1:8516");
    std::reverse(args.begin(), args.end());
    try {
        app.parse(args);
        finishKubernetesAdapterOptions(options, "");
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(KubernetesAdapterOptions, WhatTheServerWouldRefuseIsRefusedAtStartUpNamingTheFlag) {
    EXPECT_EQ(startUpError({"--cpu-request", "2 cores"}).rfind("--cpu-request: '2 cores'", 0), 0u);
    EXPECT_NE(startUpError({"--memory-request", "2Gi", "--memory-limit", "1Gi"}).find("above --memory-limit"),
              std::string::npos);
    EXPECT_EQ(startUpError({"--namespace", "Team_A"}).rfind("--namespace: 'Team_A'", 0), 0u);
    EXPECT_EQ(startUpError({"--adapter-id", "has space"}).rfind("--adapter-id: 'has space'", 0), 0u);
    EXPECT_EQ(startUpError({"--adapter-id", std::string(64, 'a')}).rfind("--adapter-id", 0), 0u);
    EXPECT_EQ(startUpError({"--label", "tier=" + std::string(64, 'x')}).rfind("--label", 0), 0u);
    EXPECT_EQ(startUpError({"--label", "scaler-cpp/adapter-id=x"}).rfind("--label", 0), 0u);
    EXPECT_EQ(
        startUpError({"--node-selector", "novalue"}).rfind("--node-selector: 'novalue' is not KEY=VALUE", 0),
        0u);
    EXPECT_NE(startUpError({"--toleration", "gpu:Sometimes"}).find("NoSchedule"), std::string::npos);
    EXPECT_EQ(startUpError({"--service-account", "Workers"}).rfind("--service-account", 0), 0u);
    EXPECT_EQ(startUpError({"--secret-volume", "keys"})
                  .rfind("--secret-volume: 'keys' is not SECRET:/absolute/path", 0),
              0u);
    EXPECT_EQ(startUpError({"--secret-volume", "Keys:/keys"}).rfind("--secret-volume", 0), 0u);
    EXPECT_EQ(
        startUpError({"--cpu-request", "500m", "--cpu-limit", "2", "--memory-request", "1Gi", "--label",
                      "team=a", "--toleration", "gpu=yes:NoSchedule", "--toleration", "spot:NoExecute"}),
        "");
}

TEST(KubernetesAdapterOptions, ATomlSectionSetsTheSameOptions) {
    const std::string path =
        fs::temp_directory_path() / ("k8s-adapter-" + std::to_string(getpid()) + ".toml");
    std::ofstream(path) << "[kubernetes_worker_adapter]\nimage = \"registry.example/worker:1\"\n"
                           "cpu-request = \"250m\"\nnamespace = \"team-a\"\nworkers-per-group = 3\n";
    KubernetesAdapterCommandLine options;
    CLI::App app;
    addKubernetesAdapterOptions(app, options);
    app.parse(std::vector<std::string>{path, "--config", "tcp://127.0.0.1:1"});
    finishKubernetesAdapterOptions(options, "");
    fs::remove(path);
    EXPECT_EQ(options.kubernetes.image, "registry.example/worker:1");
    EXPECT_EQ(options.kubernetes.cpuRequest, "250m");
    EXPECT_EQ(options.kubernetes.ns, "team-a");
    EXPECT_EQ(options.adapter.settings.workersPerGroup, 3u);
}

TEST(KubernetesAdapterOptions, TolerationsAreKeyValueEffect) {
    EXPECT_EQ(
        parseToleration("gpu=yes:NoSchedule"),
        (nlohmann::json{{"key", "gpu"}, {"operator", "Equal"}, {"value", "yes"}, {"effect", "NoSchedule"}}));
    EXPECT_EQ(parseToleration("spot:NoExecute"),
              (nlohmann::json{{"key", "spot"}, {"operator", "Exists"}, {"effect", "NoExecute"}}));
    EXPECT_THROW(parseToleration("gpu"), std::invalid_argument);
}

TEST(KubernetesAdapterOptions, TheDefaultAdapterIdIsAValidLabelAndTheSameOnEveryHost) {
    KubernetesAdapterCommandLine a, b;
    CLI::App appA, appB;
    addKubernetesAdapterOptions(appA, a);
    addKubernetesAdapterOptions(appB, b);
    appA.parse(std::vector<std::string>{"tcp://127.0.0.1:1"});
    appB.parse(std::vector<std::string>{"tcp://127.0.0.1:1"});
    finishKubernetesAdapterOptions(a, "team-a");
    finishKubernetesAdapterOptions(b, "team-a");
    EXPECT_EQ(a.adapter.settings.adapterId, b.adapter.settings.adapterId);
    EXPECT_TRUE(checkLabelValue(a.adapter.settings.adapterId));
    EXPECT_EQ(a.kubernetes.ns, "team-a");  // the credentials' namespace when --namespace is not given
}

namespace {

class KubeconfigTest : public ::testing::Test {
protected:
    KubeconfigTest() : dir(fs::temp_directory_path() / ("kubeconfig-test-" + std::to_string(getpid()))) {
        fs::create_directories(dir);
    }
    ~KubeconfigTest() override { fs::remove_all(dir); }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(dir / name) << text;
        return (dir / name).string();
    }
    fs::path dir;
};

const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority: ca.crt
- name: prod-cluster
  cluster:
    server: https://prod.example:443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
users:
- name: dev-user
  user:
    token: dev-token
- name: cert-user
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: eks-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env:
      - name: AWS_PROFILE
        value: prod
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
- name: prod
  context: {cluster: prod-cluster, user: cert-user}
- name: eks
  context: {cluster: prod-cluster, user: eks-user}
- name: broken
  context: {cluster: nowhere, user: dev-user}
)";

}  // namespace

TEST_F(KubeconfigTest, TheCurrentContextGivesServerCaTokenAndNamespace) {
    const std::string path = write("config", kKubeconfig);
    const KubeCredentials c = loadKubeconfig(path, "");
    EXPECT_EQ(c.server, "https://10.0.0.1:6443");
    EXPECT_EQ(c.caFile, (dir / "ca.crt").string());  // relative to the kubeconfig
    EXPECT_EQ(c.token, "dev-token");
    EXPECT_EQ(c.defaultNamespace, "team-a");
}

TEST_F(KubeconfigTest, AContextWithAClientCertificateOrAnExecPlugin) {
    const std::string path = write("config", kKubeconfig);
    const KubeCredentials cert = loadKubeconfig(path, "prod");
    EXPECT_EQ(cert.caPem, "-----BEGIN CERTIFICATE-----");
    EXPECT_EQ(cert.clientCertPem, "CERT");
    EXPECT_EQ(cert.clientKeyPem, "KEY");
    EXPECT_TRUE(cert.token.empty());
    const KubeCredentials eks = loadKubeconfig(path, "eks");
    ASSERT_TRUE(eks.exec.has_value());
    EXPECT_EQ(eks.exec->command, "aws");
    EXPECT_EQ(eks.exec->args, (std::vector<std::string>{"eks", "get-token", "--cluster-name", "prod"}));
    EXPECT_EQ(eks.exec->env.at("AWS_PROFILE"), "prod");
    EXPECT_EQ(eks.exec->apiVersion, "client.authentication.k8s.io/v1beta1");
}

TEST_F(KubeconfigTest, MistakesNameTheFileAndWhatIsWrong) {
    const std::string path = write("config", kKubeconfig);
    const auto error = [&](const std::string& file, const std::string& context) -> std::string {
        try {
            loadKubeconfig(file, context);
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_NE(error(path, "missing").find("no context named 'missing'"), std::string::npos);
    EXPECT_NE(error(path, "broken").find("cluster 'nowhere', which is not defined"), std::string::npos);
    EXPECT_NE(error(write("bad", "clusters: [unclosed"), "").find("kubeconfig '"), std::string::npos);
    EXPECT_NE(error((dir / "absent").string(), "").find("absent"), std::string::npos);
}

TEST_F(KubeconfigTest, InClusterCredentialsComeFromTheServiceAccountFiles) {
    fs::create_directories(dir / "sa");
    write("sa/token", "sa-token\n");
    write("sa/ca.crt", "CA");
    write("sa/namespace", "workers\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    const auto c = inClusterCredentials((dir / "sa").string());
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->server, "https://10.96.0.1:443");
    EXPECT_EQ(c->tokenFile, (dir / "sa/token").string());
    EXPECT_EQ(c->caFile, (dir / "sa/ca.crt").string());
    EXPECT_EQ(c->defaultNamespace, "workers");
    EXPECT_FALSE(inClusterCredentials((dir / "sa").string()));  // outside a cluster
}

TEST_F(KubeconfigTest, AnExecPluginsCredentialIsRead) {
    const std::string plugin = write("plugin.sh", R"(#!/bin/sh
test -n "$KUBERNETES_EXEC_INFO" || exit 3
echo "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-$PLUGIN_SUFFIX\",\"expirationTimestamp\":\"2030-01-01T00:00:00Z\"}}"
)");
    fs::permissions(plugin, fs::perms::owner_all);
    ExecPlugin p;
    p.command = plugin;
    p.env["PLUGIN_SUFFIX"] = "42";
    const ExecCredential credential = runExecPlugin(p);
    EXPECT_EQ(credential.token, "tok-42");
    EXPECT_EQ(credential.expirationTimestamp, "2030-01-01T00:00:00Z");
    p.command = (dir / "no-such-plugin").string();
    EXPECT_THROW(runExecPlugin(p), std::runtime_error);
    EXPECT_THROW(parseExecCredential(R"({"kind":"ExecCredential","status":{}})"), std::invalid_argument);
}

TEST(KubernetesApiAnswers, AStatusNamesItsReasonAndFields) {
    const ApiResult invalid = parseApiAnswer(422, R"({"kind":"Status","status":"Failure","reason":"Invalid",
        "message":"Pod \"x\" is invalid: spec.containers[0].image: Required value",
        "details":{"causes":[{"field":"spec.containers[0].image","reason":"FieldValueRequired"}]},"code":422})");
    EXPECT_FALSE(invalid.ok);
    EXPECT_EQ(invalid.reason, "Invalid");
    EXPECT_EQ(invalid.causeFields, (std::vector<std::string>{"spec.containers[0].image"}));
    EXPECT_NE(invalid.describe("create Pod x").find("422 Invalid: Pod \"x\" is invalid"), std::string::npos);
    EXPECT_TRUE(parseApiAnswer(201, R"({"kind":"Pod"})").ok);
    EXPECT_NE(parseApiAnswer(0, "").describe("list Pods").find("no answer"), std::string::npos);
}

TEST(KubernetesApiAnswers, RetryAfterIsSecondsOrADateAndCapped) {
    EXPECT_EQ(retryAfterWait("3", std::chrono::seconds(60)), std::chrono::milliseconds(3000));
    EXPECT_EQ(retryAfterWait("600", std::chrono::seconds(60)), std::chrono::milliseconds(60000));
    EXPECT_EQ(retryAfterWait("Wed, 21 Oct 2015 07:28:00 GMT", std::chrono::seconds(60)),
              std::chrono::milliseconds(0));
    EXPECT_FALSE(retryAfterWait("", std::chrono::seconds(60)));
    EXPECT_FALSE(retryAfterWait("soon", std::chrono::seconds(60)));
    EXPECT_EQ(percentEncode("scaler-cpp/adapter-id=a b"), "scaler-cpp%2Fadapter-id%3Da%20b");
}
