// scaler_worker_adapter_native: starts and stops groups of scaler_worker processes on this host for the
// scheduler's scaling controller.
#include <unistd.h>

#include <exception>
#include <iostream>

#include "scaler/common/log.h"

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/native_worker_group_launcher.h"
#include "scaler/common/command_line.h"
#include "scaler/common/shutdown_signal.h"

int main(int argc, char** argv) {
    using namespace scaler;
    adapters::AdapterCommandLine options;
    std::string workerBinary = adapters::NativeWorkerGroupLauncher::defaultWorkerBinary();
    CLI::App app{
        "scaler_worker_adapter_native: runs worker groups as local processes for the scaler scheduler",
        "scaler_worker_adapter_native"};
    adapters::addAdapterOptions(app, options, "native_worker_adapter");
    app.add_option("--worker-binary", workerBinary, "The scaler_worker to start")->capture_default_str();
    parseOrExit(app, argc, argv);
    try {
        adapters::finishAdapterOptions(options, "native");
        if (access(workerBinary.c_str(), X_OK) != 0) {
            throw std::invalid_argument("--worker-binary: cannot run '" + workerBinary + "'");
        }
    } catch (const std::exception& e) {
        std::cerr << "scaler_worker_adapter_native: error: " << e.what() << "\n";
        return 2;
    }
    setupLogging("native-adapter", options.loggingLevel);
    installShutdownSignalHandlers();
    try {
        adapters::NativeWorkerGroupLauncher launcher(options.settings, options.worker, workerBinary);
        return adapters::WorkerAdapterAgent(options.settings, launcher).run();
    } catch (const std::exception& e) {
        log::adapter().critical("adapter failed: {}", e.what());
        return 1;
    }
}
