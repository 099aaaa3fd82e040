#include "scaler/adapters/kubernetes_adapter_options.h"

#include <stdexcept>

#include "scaler/adapters/kubernetes_rules.h"
#include "scaler/common/command_line.h"

namespace scaler::adapters {
namespace {

namespace rules = kubernetes;

std::invalid_argument bad(const std::string& flag, const std::string& value, const std::string& why) {
    return std::invalid_argument(flag + ": '" + value + "' " + why);
}

std::map<std::string, std::string> keyValues(const std::vector<std::string>& items, const std::string& flag,
                                             bool checkValue) {
    std::map<std::string, std::string> out;
    for (const auto& item : items) {
        const size_t eq = item.find('=');
        if (eq == std::string::npos) throw bad(flag, item, "is not KEY=VALUE");
        const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        if (auto check = rules::checkLabelKey(key); !check)
            throw bad(flag, item, "has a bad key: " + check.why());
        if (checkValue) {
            if (auto check = rules::checkLabelValue(value); !check)
                throw bad(flag, item, "has a bad value: " + check.why());
        }
        out[key] = value;
    }
    return out;
}

void checkQuantity(const std::string& flag, const std::string& value) {
    if (value.empty()) return;
    const auto parsed = rules::parseQuantity(value);
    if (!parsed) {
        throw bad(flag, value,
                  "is not a Kubernetes quantity (for example 500m or 2 for CPU, 512Mi or 4Gi for memory)");
    }
    if (*parsed <= 0) throw bad(flag, value, "must be above zero");
}

void checkNotAbove(const std::string& requestFlag, const std::string& request, const std::string& limitFlag,
                   const std::string& limit) {
    if (request.empty() || limit.empty()) return;
    if (*rules::parseQuantity(request) > *rules::parseQuantity(limit)) {
        throw std::invalid_argument(requestFlag + " '" + request + "' is above " + limitFlag + " '" + limit +
                                    "'; Kubernetes refuses requests above limits");
    }
}

}  // namespace

nlohmann::json parseToleration(const std::string& text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) throw bad("--toleration", text, "is not KEY[=VALUE]:EFFECT");
    const std::string effect = text.substr(colon + 1);
    if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
        throw bad("--toleration", text,
                  "has effect '" + effect + "'; it must be NoSchedule, PreferNoSchedule or NoExecute");
    }
    const std::string head = text.substr(0, colon);
    const size_t eq = head.find('=');
    const std::string key = head.substr(0, eq);
    if (auto check = rules::checkLabelKey(key); !check)
        throw bad("--toleration", text, "has a bad key: " + check.why());
    nlohmann::json toleration = {{"key", key}, {"effect", effect}};
    if (eq == std::string::npos) {
        toleration["operator"] = "Exists";
    } else {
        const std::string value = head.substr(eq + 1);
        if (auto check = rules::checkLabelValue(value); !check)
            throw bad("--toleration", text, "has a bad value: " + check.why());
        toleration["operator"] = "Equal";
        toleration["value"] = value;
    }
    return toleration;
}

void addKubernetesAdapterOptions(CLI::App& app, KubernetesAdapterCommandLine& o) {
    addAdapterOptions(app, o.adapter, "kubernetes_worker_adapter", false);
    auto& k = o.kubernetes;
    app.add_option("--kubeconfig", o.kubeconfig,
                   "Kubeconfig file (default: $KUBECONFIG, else the Pod's service account when in a cluster, "
                   "else ~/.kube/config)");
    app.add_option("--context", o.context, "Kubeconfig context (default: its current-context)");
    app.add_option(
        "--namespace", o.namespaceText,
        "Namespace of the worker Pods (default: the context's, or the service account's, else default)");
    app.add_option("--image", k.image, "Worker image (see tools/scripts/build-worker-image.sh)")
        ->capture_default_str();
    app.add_option("--image-pull-policy", k.imagePullPolicy, "Always, IfNotPresent or Never")
        ->check(CLI::IsMember({"Always", "IfNotPresent", "Never"}))
        ->capture_default_str();
    app.add_option(
        "--service-account", k.serviceAccount,
        "Service account of the worker Pods (its token is not mounted: workers never call the API)");
    app.add_option("--cpu-request", k.cpuRequest, "CPU request per Pod, a quantity such as 500m or 2");
    app.add_option("--cpu-limit", k.cpuLimit, "CPU limit per Pod");
    app.add_option("--memory-request", k.memoryRequest,
                   "Memory request per Pod, a quantity such as 512Mi or 4Gi");
    app.add_option("--memory-limit", k.memoryLimit, "Memory limit per Pod");
    app.add_option("--node-selector", o.nodeSelectorText,
                   "KEY=VALUE the worker Pods' node must carry (repeatable)");
    app.add_option(
        "--toleration", o.tolerationText,
        "KEY[=VALUE]:EFFECT the worker Pods tolerate, EFFECT NoSchedule, PreferNoSchedule or NoExecute "
        "(repeatable)");
    app.add_option("--label", o.labelText, "Extra KEY=VALUE label on the worker Pods (repeatable)");
    app.add_option("--annotation", o.annotationText,
                   "Extra KEY=VALUE annotation on the worker Pods (repeatable)");
    app.add_option("--env", k.environment, "Environment variable for the workers, NAME=value (repeatable)");
    app.add_option(
        "--secret-volume", o.secretVolumeText,
        "SECRET:PATH mounts the Secret read-only at PATH in the worker Pods (repeatable), e.g. the workers' "
        "CURVE keys for --worker-curve-secret-key-file");
    app.add_option("--worker-group-binary", k.groupBinary, "scaler_worker_group's path inside the image")
        ->capture_default_str();
    app.add_option("--worker-scheduler-address", k.workerSchedulerAddress,
                   "The scheduler's address as seen from the worker Pods, e.g. tcp://scaler-scheduler:8516 "
                   "(default: scheduler_address)");
    app.add_option(
           "--leftover-pods", o.leftovers,
           "What to do at start-up with Pending or Running Pods an earlier run of this adapter left: adopt "
           "or delete")
        ->check(CLI::IsMember({"adopt", "delete"}))
        ->capture_default_str();
    app.add_option(
           "--pending-timeout-seconds", o.pendingTimeoutSeconds,
           "A worker Pod still Pending after this long (an image that cannot be pulled, no node that fits) "
           "is deleted and its start reported failed")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--reconcile-interval-seconds", o.reconcileIntervalSeconds,
                   "How often the adapter lists its Pods")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--api-timeout-seconds", o.apiTimeoutSeconds, "Longest wait for one API server call")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_flag("--print-pod-spec", o.printPodSpec,
                 "Print the Pod of one worker group as JSON (kubectl and podman kube play read it) and exit");
}

void finishKubernetesAdapterOptions(KubernetesAdapterCommandLine& o, const std::string& credentialNamespace) {
    auto& k = o.kubernetes;
    k.ns = !o.namespaceText.empty()       ? o.namespaceText
           : !credentialNamespace.empty() ? credentialNamespace
                                          : "default";
    if (auto check = rules::checkDns1123Label(k.ns); !check)
        throw bad("--namespace", k.ns, "is not a namespace name: " + check.why());
    if (o.adapter.settings.adapterId.empty()) {
        o.adapter.settings.adapterId =
            stableAdapterId("k8s", {k.ns, k.image, o.adapter.capabilitiesText}, /*withHost=*/false);
    }
    finishAdapterOptions(o.adapter, "k8s");
    const std::string& id = o.adapter.settings.adapterId;
    if (auto check = rules::checkLabelValue(id); !check) {
        throw bad("--adapter-id", id, "cannot be a Kubernetes label value: " + check.why());
    }
    if (k.image.empty()) throw std::invalid_argument("--image: must not be empty");
    if (!k.serviceAccount.empty()) {
        if (auto check = rules::checkDns1123Subdomain(k.serviceAccount); !check)
            throw bad("--service-account", k.serviceAccount, "is not a service account name: " + check.why());
    }
    checkQuantity("--cpu-request", k.cpuRequest);
    checkQuantity("--cpu-limit", k.cpuLimit);
    checkQuantity("--memory-request", k.memoryRequest);
    checkQuantity("--memory-limit", k.memoryLimit);
    checkNotAbove("--cpu-request", k.cpuRequest, "--cpu-limit", k.cpuLimit);
    checkNotAbove("--memory-request", k.memoryRequest, "--memory-limit", k.memoryLimit);
    k.nodeSelector = keyValues(o.nodeSelectorText, "--node-selector", true);
    k.extraLabels = keyValues(o.labelText, "--label", true);
    k.extraAnnotations = keyValues(o.annotationText, "--annotation", false);
    for (const auto& [key, value] : k.extraLabels) {
        if (key.rfind("scaler-cpp/", 0) == 0) throw bad("--label", key, "is a label the adapter sets itself");
    }
    k.tolerations = nlohmann::json::array();
    for (const auto& t : o.tolerationText) k.tolerations.push_back(parseToleration(t));
    for (const auto& e : k.environment) {
        const size_t eq = e.find('=');
        if (eq == 0 || eq == std::string::npos) throw bad("--env", e, "is not NAME=value");
    }
    for (const auto& v : o.secretVolumeText) {
        const size_t colon = v.find(':');
        if (colon == std::string::npos || colon + 1 >= v.size() || v[colon + 1] != '/')
            throw bad("--secret-volume", v, "is not SECRET:/absolute/path");
        const std::string secret = v.substr(0, colon);
        if (auto check = rules::checkDns1123Subdomain(secret); !check)
            throw bad("--secret-volume", v, "names no valid Secret: " + check.why());
        k.secretVolumes.emplace_back(secret, v.substr(colon + 1));
    }
    k.adoptLeftovers = o.leftovers == "adopt";
    k.pendingTimeout = std::chrono::seconds(static_cast<int64_t>(o.pendingTimeoutSeconds));
    k.reconcileInterval = std::chrono::milliseconds(static_cast<int64_t>(o.reconcileIntervalSeconds * 1000));
    if (k.workerSchedulerAddress.empty()) k.workerSchedulerAddress = o.adapter.settings.schedulerAddress;
}

}  // namespace scaler::adapters
