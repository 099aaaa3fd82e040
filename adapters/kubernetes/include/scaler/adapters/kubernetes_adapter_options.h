#pragma once
// Command line and TOML ([kubernetes_worker_adapter]) of scaler_worker_adapter_kubernetes. Everything the API
// server would refuse at every start (a bad name, label, quantity, requests above limits) is refused here, at
// start-up, with one line naming the flag and the value.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/kubernetes_worker_group_launcher.h"

namespace scaler::adapters {

struct KubernetesAdapterCommandLine {
    AdapterCommandLine adapter;
    KubernetesOptions kubernetes;
    std::string kubeconfig;
    std::string context;
    std::string namespaceText;  // empty: the context's, the service account's, else "default"
    std::vector<std::string> nodeSelectorText, tolerationText, labelText, annotationText, secretVolumeText;
    std::string leftovers = "adopt";
    double pendingTimeoutSeconds = 300;
    double reconcileIntervalSeconds = 2;
    double apiTimeoutSeconds = 30;
    bool printPodSpec = false;
};

void addKubernetesAdapterOptions(CLI::App& app, KubernetesAdapterCommandLine& options);
// Validates and fills derived fields; `credentialNamespace` is the namespace the credentials name ("" when
// none). Throws std::invalid_argument naming the flag and the bad value.
void finishKubernetesAdapterOptions(KubernetesAdapterCommandLine& options,
                                    const std::string& credentialNamespace);
// A toleration flag, KEY[=VALUE]:EFFECT, as the Pod's JSON; throws std::invalid_argument.
nlohmann::json parseToleration(const std::string& text);

}  // namespace scaler::adapters
