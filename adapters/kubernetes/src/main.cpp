// scaler_worker_adapter_kubernetes: starts and stops worker groups as Kubernetes Pods for the scheduler's
// scaling controller.
#include <exception>
#include <iostream>

#include "scaler/common/log.h"

#include "scaler/adapters/kubernetes_adapter_options.h"
#include "scaler/adapters/kubernetes_api_client.h"
#include "scaler/common/command_line.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/identity.h"

int main(int argc, char** argv) {
    using namespace scaler;
    adapters::KubernetesAdapterCommandLine options;
    CLI::App app{
        "scaler_worker_adapter_kubernetes: runs worker groups as Kubernetes Pods for the scaler scheduler",
        "scaler_worker_adapter_kubernetes"};
    adapters::addKubernetesAdapterOptions(app, options);
    parseOrExit(app, argc, argv);
    adapters::kubernetes::KubeCredentials credentials;
    try {
        if (!options.printPodSpec)
            credentials = adapters::kubernetes::findCredentials(options.kubeconfig, options.context);
        adapters::finishKubernetesAdapterOptions(options, credentials.defaultNamespace);
    } catch (const std::exception& e) {
        std::cerr << "scaler_worker_adapter_kubernetes: error: " << e.what() << "\n";
        return 2;
    }
    if (options.printPodSpec) {
        adapters::KubernetesWorkerGroupLauncher launcher(options.adapter.settings, options.adapter.worker,
                                                         options.kubernetes, nullptr);
        const std::string groupId = "k8s-" + randomHex(6);
        std::cout << launcher
                         .podSpec(groupId,
                                  adapters::groupWorkerIds("K8S", groupId,
                                                           options.adapter.settings.workersPerGroup),
                                  options.adapter.settings.capabilities)
                         .dump(2)
                  << "\n";
        return 0;
    }
    setupLogging("kubernetes-adapter", options.adapter.loggingLevel);
    installShutdownSignalHandlers();
    log::adapter().info("Kubernetes API server {} ({}), namespace {}, image {}", credentials.server,
                        credentials.source, options.kubernetes.ns, options.kubernetes.image);
    try {
        adapters::kubernetes::KubernetesClientOptions client;
        client.credentials = credentials;
        client.timeout = std::chrono::milliseconds(static_cast<int64_t>(options.apiTimeoutSeconds * 1000));
        auto api = std::make_unique<adapters::kubernetes::KubernetesApiClient>(client);
        api->onRetry = [](const std::string& what, const adapters::kubernetes::ApiResult& failed,
                          std::chrono::milliseconds wait) {
            log::adapter().warn("{}; retrying in {} ms", failed.describe(what), wait.count());
        };
        adapters::KubernetesWorkerGroupLauncher launcher(options.adapter.settings, options.adapter.worker,
                                                         options.kubernetes, std::move(api));
        return adapters::WorkerAdapterAgent(options.adapter.settings, launcher).run();
    } catch (const std::exception& e) {
        log::adapter().critical("adapter failed: {}", e.what());
        return 1;
    }
}
