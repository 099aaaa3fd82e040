#include "scaler/adapters/kubernetes_credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "scaler/common/base64.h"

namespace scaler::adapters::kubernetes {
namespace {

namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("cannot read '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string trim(std::string text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    size_t start = 0;
    while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
    return text.substr(start);
}

// The entry named `name` in a kubeconfig list (clusters, users, contexts), or an undefined node.
YAML::Node namedEntry(const YAML::Node& list, const std::string& name, const char* field) {
    if (list && list.IsSequence()) {
        for (const auto& entry : list) {
            if (entry["name"] && entry["name"].as<std::string>() == name) return entry[field];
        }
    }
    return YAML::Node(YAML::NodeType::Undefined);
}

std::string text(const YAML::Node& node, const char* key) {
    return node && node[key] && node[key].IsScalar() ? node[key].as<std::string>() : "";
}

// Relative paths in a kubeconfig are relative to the file.
std::string resolvePath(const std::string& path, const fs::path& base) {
    if (path.empty() || fs::path(path).is_absolute()) return path;
    return (base / path).string();
}

}  // namespace

KubeCredentials loadKubeconfig(const std::string& path, const std::string& context) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
        throw std::invalid_argument("kubeconfig '" + path + "': " + e.what());
    }
    const auto fail = [&](const std::string& why) {
        return std::invalid_argument("kubeconfig '" + path + "': " + why);
    };
    const std::string contextName = context.empty() ? text(root, "current-context") : context;
    if (contextName.empty()) throw fail("no current-context, and no --context given");
    const YAML::Node ctx = namedEntry(root["contexts"], contextName, "context");
    if (!ctx) throw fail("no context named '" + contextName + "'");
    const std::string clusterName = text(ctx, "cluster");
    const std::string userName = text(ctx, "user");
    const YAML::Node cluster = namedEntry(root["clusters"], clusterName, "cluster");
    if (!cluster)
        throw fail("context '" + contextName + "' names cluster '" + clusterName + "', which is not defined");
    const fs::path base = fs::absolute(fs::path(path)).parent_path();

    KubeCredentials c;
    c.source = "kubeconfig " + path + ", context " + contextName;
    c.server = text(cluster, "server");
    if (c.server.empty()) throw fail("cluster '" + clusterName + "' has no server");
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    c.caFile = resolvePath(text(cluster, "certificate-authority"), base);
    try {
        c.caPem = base64Decode(text(cluster, "certificate-authority-data"));
    } catch (const std::exception&) {
        throw fail("cluster '" + clusterName + "': certificate-authority-data is not base64");
    }
    c.insecureSkipTlsVerify = text(cluster, "insecure-skip-tls-verify") == "true";
    c.defaultNamespace = text(ctx, "namespace");

    const YAML::Node user = userName.empty() ? YAML::Node() : namedEntry(root["users"], userName, "user");
    if (!userName.empty() && !user)
        throw fail("context '" + contextName + "' names user '" + userName + "', which is not defined");
    if (user) {
        c.clientCertFile = resolvePath(text(user, "client-certificate"), base);
        c.clientKeyFile = resolvePath(text(user, "client-key"), base);
        try {
            c.clientCertPem = base64Decode(text(user, "client-certificate-data"));
            c.clientKeyPem = base64Decode(text(user, "client-key-data"));
        } catch (const std::exception&) {
            throw fail("user '" + userName + "': client-certificate-data or client-key-data is not base64");
        }
        c.token = text(user, "token");
        c.tokenFile = resolvePath(text(user, "tokenFile"), base);
        if (const YAML::Node exec = user["exec"]) {
            ExecPlugin plugin;
            plugin.command = text(exec, "command");
            if (plugin.command.empty()) throw fail("user '" + userName + "': exec has no command");
            if (!text(exec, "apiVersion").empty()) plugin.apiVersion = text(exec, "apiVersion");
            if (exec["args"] && exec["args"].IsSequence())
                for (const auto& a : exec["args"]) plugin.args.push_back(a.as<std::string>());
            if (exec["env"] && exec["env"].IsSequence())
                for (const auto& e : exec["env"]) plugin.env[text(e, "name")] = text(e, "value");
            c.exec = std::move(plugin);
        }
        if (user["auth-provider"]) {
            throw fail("user '" + userName +
                       "' uses an auth-provider, which Kubernetes removed in 1.26; use an exec plugin");
        }
    }
    if ((c.clientCertFile.empty() && c.clientCertPem.empty()) !=
        (c.clientKeyFile.empty() && c.clientKeyPem.empty())) {
        throw fail("user '" + userName +
                   "' has a client certificate without a key, or a key without a certificate");
    }
    return c;
}

std::optional<KubeCredentials> inClusterCredentials(const std::string& secretsDir) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || port == nullptr || !*host || !*port) return std::nullopt;
    const std::string tokenFile = secretsDir + "/token";
    if (!fs::exists(tokenFile)) return std::nullopt;
    KubeCredentials c;
    c.source = "in-cluster service account (" + secretsDir + ")";
    const std::string h = host;
    c.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;  // IPv6
    c.tokenFile = tokenFile;
    c.caFile = secretsDir + "/ca.crt";
    if (fs::exists(secretsDir + "/namespace")) c.defaultNamespace = trim(readFile(secretsDir + "/namespace"));
    return c;
}

KubeCredentials findCredentials(const std::string& kubeconfigFlag, const std::string& context) {
    if (!kubeconfigFlag.empty()) return loadKubeconfig(kubeconfigFlag, context);
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
        const std::string list = env;
        for (size_t start = 0; start <= list.size();) {
            const size_t colon = std::min(list.find(':', start), list.size());
            const std::string file = list.substr(start, colon - start);
            if (!file.empty() && fs::exists(file)) return loadKubeconfig(file, context);
            start = colon + 1;
        }
    }
    if (context.empty()) {
        // where the service account is mounted: always the standard path in a Pod; elsewhere for tests
        const char* dir = std::getenv("SCALER_KUBERNETES_SERVICEACCOUNT_DIR");
        if (auto inCluster = dir && *dir ? inClusterCredentials(dir) : inClusterCredentials())
            return *inCluster;
    }
    if (const char* home = std::getenv("HOME"); home && *home) {
        const std::string file = std::string(home) + "/.kube/config";
        if (fs::exists(file)) return loadKubeconfig(file, context);
    }
    throw std::invalid_argument(
        "no Kubernetes credentials: give --kubeconfig, set $KUBECONFIG, run in a Pod with a service account, "
        "or create ~/.kube/config");
}

ExecCredential parseExecCredential(const std::string& json) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(json);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("the credential plugin printed no JSON: ") + e.what());
    }
    if (!doc.is_object() || doc.value("kind", "") != "ExecCredential" || !doc.contains("status") ||
        !doc["status"].is_object()) {
        throw std::invalid_argument("the credential plugin printed no ExecCredential with a status");
    }
    const auto& status = doc["status"];
    ExecCredential out;
    out.token = status.value("token", "");
    out.clientCertPem = status.value("clientCertificateData", "");
    out.clientKeyPem = status.value("clientKeyData", "");
    out.expirationTimestamp = status.value("expirationTimestamp", "");
    if (out.token.empty() && (out.clientCertPem.empty() || out.clientKeyPem.empty())) {
        throw std::invalid_argument(
            "the credential plugin's ExecCredential has neither a token nor a client certificate and key");
    }
    return out;
}

ExecCredential runExecPlugin(const ExecPlugin& plugin) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("cannot run the credential plugin: pipe failed");
    const nlohmann::json info = {
        {"apiVersion", plugin.apiVersion}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}};
    const std::string infoText = info.dump();
    std::vector<std::string> args{plugin.command};
    args.insert(args.end(), plugin.args.begin(), plugin.args.end());
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        setenv("KUBERNETES_EXEC_INFO", infoText.c_str(), 1);
        for (const auto& [name, value] : plugin.env) setenv(name.c_str(), value.c_str(), 1);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        throw std::runtime_error("cannot run the credential plugin: fork failed");
    }
    std::string output;
    char buffer[4096];
    bool hung = false;
    for (;;) {
        pollfd fd{out[0], POLLIN, 0};
        if (poll(&fd, 1, 60000) <= 0) {  // a plugin that hangs a minute is not waited for longer
            hung = true;
            break;
        }
        const ssize_t n = read(out[0], buffer, sizeof buffer);
        if (n <= 0) break;
        output.append(buffer, static_cast<size_t>(n));
    }
    close(out[0]);
    int status = 0;
    if (hung) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        throw std::runtime_error("the credential plugin '" + plugin.command +
                                 "' did not finish within a minute");
    }
    waitpid(pid, &status, 0);  // its output has ended: it is exiting
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("the credential plugin '" + plugin.command + "' failed (" +
                                 (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                                    : "signal " + std::to_string(WTERMSIG(status))) +
                                 (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ", not found" : "") +
                                 ")");
    }
    return parseExecCredential(output);
}

}  // namespace scaler::adapters::kubernetes
