#pragma once
// How the adapter reaches and authenticates to the API server, found as kubectl and the official clients
// find it: --kubeconfig, $KUBECONFIG, in-cluster (a service account), ~/.kube/config. Kubeconfig is read with
// yaml-cpp: the current context (or --context), the cluster's server and CA (file or data,
// insecure-skip-tls-verify), the user's client certificate and key (files or data), bearer token (or
// tokenFile), or an exec credential plugin (EKS, GKE). Errors name the file and the field.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scaler::adapters::kubernetes {

struct ExecPlugin {
    std::string command;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string apiVersion = "client.authentication.k8s.io/v1";
};

struct KubeCredentials {
    std::string source;  // where they came from, for logs: "kubeconfig /root/.kube/config, context prod"
    std::string server;  // https://host:port
    std::string caFile;
    std::string caPem;
    bool insecureSkipTlsVerify = false;
    std::string clientCertFile;
    std::string clientKeyFile;
    std::string clientCertPem;
    std::string clientKeyPem;
    std::string token;      // a static bearer token
    std::string tokenFile;  // re-read every minute and after a 401 (bound service account tokens rotate)
    std::optional<ExecPlugin> exec;
    std::string defaultNamespace;  // the context's namespace, or the service account's
};

// Reads a kubeconfig file; `context` empty: its current-context. Throws std::invalid_argument naming the file
// and what is wrong.
KubeCredentials loadKubeconfig(const std::string& path, const std::string& context);
// The service account a Pod runs as: KUBERNETES_SERVICE_HOST/PORT and the files under `secretsDir`.
// nullopt when not in a cluster.
std::optional<KubeCredentials> inClusterCredentials(
    const std::string& secretsDir = "/var/run/secrets/kubernetes.io/serviceaccount");
// --kubeconfig, else $KUBECONFIG (its first file), else in-cluster, else ~/.kube/config. Throws
// std::invalid_argument when none is found.
KubeCredentials findCredentials(const std::string& kubeconfigFlag, const std::string& context);

// What an exec plugin printed (an ExecCredential): a token, or a client certificate and key, and until when.
struct ExecCredential {
    std::string token;
    std::string clientCertPem;
    std::string clientKeyPem;
    std::string expirationTimestamp;  // RFC 3339, empty: does not expire
};
// Parses an ExecCredential; throws std::invalid_argument.
ExecCredential parseExecCredential(const std::string& json);
// Runs the plugin with KUBERNETES_EXEC_INFO set; throws std::runtime_error with its exit and stderr's last
// line.
ExecCredential runExecPlugin(const ExecPlugin& plugin);

}  // namespace scaler::adapters::kubernetes
