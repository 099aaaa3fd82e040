// scaler_worker_adapter_container: starts and stops worker groups as containers through the Docker Engine
// API (Docker or Podman) for the scheduler's scaling controller.
#include <exception>
#include <iostream>

#include "scaler/common/log.h"

#include "scaler/adapters/container_adapter_options.h"
#include "scaler/common/command_line.h"
#include "scaler/common/shutdown_signal.h"

int main(int argc, char** argv) {
    using namespace scaler;
    adapters::ContainerAdapterCommandLine options;
    CLI::App app{
        "scaler_worker_adapter_container: runs worker groups as containers (Docker Engine API, Docker or "
        "Podman) for the scaler scheduler",
        "scaler_worker_adapter_container"};
    adapters::addContainerAdapterOptions(app, options);
    parseOrExit(app, argc, argv);
    try {
        adapters::finishContainerAdapterOptions(options);
    } catch (const std::exception& e) {
        std::cerr << "scaler_worker_adapter_container: error: " << e.what() << "\n";
        return 2;
    }
    setupLogging("container-adapter", options.adapter.loggingLevel);
    installShutdownSignalHandlers();
    try {
        adapters::ContainerWorkerGroupLauncher launcher(options.adapter.settings, options.adapter.worker,
                                                        options.container);
        return adapters::WorkerAdapterAgent(options.adapter.settings, launcher).run();
    } catch (const std::exception& e) {
        log::adapter().critical("adapter failed: {}", e.what());
        return 1;
    }
}
