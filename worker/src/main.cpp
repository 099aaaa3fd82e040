// scaler_worker: connects to a scheduler and runs the tasks it is given.
#include <sys/prctl.h>

#include <exception>
#include <iostream>

#include "scaler/common/log.h"

#include "scaler/common/command_line.h"
#include "scaler/common/parent_pipe_watch.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/worker/builtin_functions.h"
#include "scaler/worker/plugin_loader.h"
#include "scaler/worker/python_tasks.h"
#include "scaler/worker/worker_agent.h"

int main(int argc, char** argv) {
    using namespace scaler;
    worker::WorkerConfig config;
    CLI::App app{"scaler_worker: runs tasks from a scaler_scheduler", "scaler_worker"};
    worker::addWorkerOptions(app, config);
    int parentPipe = -1;
    addParentPipeOption(app, parentPipe);
    parseOrExit(app, argc, argv);
    config.restartCommand.assign(argv, argv + argc);
    FunctionRegistry registry;
    try {
        worker::finishWorkerConfig(config);
        checkParentPipe(parentPipe);
        worker::registerBuiltinFunctions(
            registry, {config.execOutputLimitBytes, std::chrono::milliseconds(2000)}, config.allowExec);
        if (config.noPython) {
            worker::refusePythonTasks(registry);
        } else {
            worker::registerPythonTasks(registry, config.schedulerAddress, config.pythonExecutable);
        }
        for (const auto& plugin : config.plugins) worker::loadPlugin(plugin, registry);
    } catch (const std::exception& e) {
        std::cerr << "scaler_worker: error: " << e.what() << "\n";
        return 2;
    }
    if (config.checkOnly) return 0;
    setupLogging("worker", config.loggingLevel);
    // The default 50 us timer slack is 5% of a 1 ms task; threads created later (the executor) inherit this.
    prctl(PR_SET_TIMERSLACK, 1UL);
    installShutdownSignalHandlers();
    try {
        watchParentPipe(parentPipe, "scaler_worker");
        return worker::WorkerAgent(config, registry).run();
    } catch (const std::exception& e) {
        log::worker().critical("worker failed: {}", e.what());
        return 1;
    }
}
