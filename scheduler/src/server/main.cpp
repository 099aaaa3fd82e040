// scaler_scheduler: holds the task queues and routes tasks from clients to workers.
#include <exception>
#include <iostream>

#include "scaler/common/log.h"

#include "scaler/common/command_line.h"
#include "scaler/common/parent_pipe_watch.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/scheduler/server/scheduler_server.h"

int main(int argc, char** argv) {
    using namespace scaler;
    scheduler::SchedulerConfig config;
    CLI::App app{"scaler_scheduler: routes tasks from clients to workers", "scaler_scheduler"};
    scheduler::addSchedulerOptions(app, config);
    int parentPipe = -1;
    addParentPipeOption(app, parentPipe);
    parseOrExit(app, argc, argv);
    try {
        scheduler::finishSchedulerConfig(config);
        checkParentPipe(parentPipe);
    } catch (const std::exception& e) {
        std::cerr << "scaler_scheduler: error: " << e.what() << "\n";
        return 2;
    }
    setupLogging("scheduler", config.loggingLevel);
    installShutdownSignalHandlers();
    try {
        watchParentPipe(parentPipe, "scaler_scheduler");
        scheduler::SchedulerServer(config).run();
    } catch (const std::exception& e) {
        log::process().critical("scheduler failed: {}", e.what());
        return 1;
    }
    return 0;
}
