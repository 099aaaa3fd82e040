// scaler_worker_adapter_ecs: starts and stops worker groups as AWS ECS tasks for the scheduler's scaling
// controller.
#include <exception>
#include <iostream>

#include "scaler/common/log.h"

#include "scaler/adapters/ecs_adapter_options.h"
#include "scaler/common/command_line.h"
#include "scaler/common/shutdown_signal.h"

int main(int argc, char** argv) {
    using namespace scaler;
    adapters::EcsAdapterCommandLine options;
    CLI::App app{
        "scaler_worker_adapter_ecs: runs worker groups as AWS ECS tasks (Fargate or EC2) for the scaler "
        "scheduler",
        "scaler_worker_adapter_ecs"};
    adapters::addEcsAdapterOptions(app, options);
    parseOrExit(app, argc, argv);
    try {
        adapters::finishEcsAdapterOptions(options);
    } catch (const std::exception& e) {
        std::cerr << "scaler_worker_adapter_ecs: error: " << e.what() << "\n";
        return 2;
    }
    setupLogging("ecs-adapter", options.adapter.loggingLevel);
    installShutdownSignalHandlers();
    log::adapter().info("ECS endpoint {} (region {}, cluster {}, task definition {}), access key {}...",
                        options.ecs.client.endpoint, options.ecs.client.region, options.ecs.cluster,
                        options.ecs.taskDefinition, options.ecs.client.credentials.accessKeyId.substr(0, 4));
    try {
        adapters::EcsWorkerGroupLauncher launcher(options.adapter.settings, options.adapter.worker,
                                                  options.ecs);
        return adapters::WorkerAdapterAgent(options.adapter.settings, launcher).run();
    } catch (const std::exception& e) {
        log::adapter().critical("adapter failed: {}", e.what());
        return 1;
    }
}
