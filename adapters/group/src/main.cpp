// scaler_worker_group: runs a worker group's scaler_worker processes on one host. It is the entry point of
// worker containers and ECS tasks: as PID 1 it forwards SIGTERM to the workers, reaps every child (including
// orphans of command tasks), and exits when the last worker has exited.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <thread>

#include "scaler/common/log.h"

#include "scaler/adapters/worker_process.h"
#include "scaler/common/command_line.h"
#include "scaler/common/shutdown_signal.h"

int main(int argc, char** argv) {
    using namespace scaler;
    uint32_t count = 1;
    std::string prefix;
    std::string workerBinary = adapters::siblingBinary("scaler_worker");
    std::vector<std::string> workerArguments;
    std::string loggingLevel = "INFO";
    CLI::App app{
        "scaler_worker_group: runs COUNT scaler_worker processes with the given arguments; worker i gets "
        "--worker-id PREFIX<i>. Example: scaler_worker_group --count 4 --worker-id-prefix 'Worker|CTR|g1|' "
        "-- tcp://10.0.0.5:8516 --worker-group-id g1",
        "scaler_worker_group"};
    app.add_option("--count", count, "Worker processes to run")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
    app.add_option("--worker-id-prefix", prefix, "Worker i is named PREFIX<i>")->required();
    app.add_option("--worker-binary", workerBinary, "The scaler_worker to run")->capture_default_str();
    app.add_option("--logging-level", loggingLevel, "Log level of this process (as scaler_worker's)")
        ->check(loggingLevelSpec())
        ->capture_default_str();
    app.add_option("worker_arguments", workerArguments, "Arguments for every scaler_worker (after --)")
        ->required();
    parseOrExit(app, argc, argv);
    if (access(workerBinary.c_str(), X_OK) != 0) {
        std::cerr << "scaler_worker_group: error: --worker-binary: cannot run '" << workerBinary << "'\n";
        return 2;
    }
    setupLogging("worker-group", loggingLevel);
    installShutdownSignalHandlers();

    std::map<pid_t, std::string> workers;
    for (uint32_t i = 0; i < count; ++i) {
        std::vector<std::string> args{workerBinary};
        args.insert(args.end(), workerArguments.begin(), workerArguments.end());
        args.insert(args.end(), {"--worker-id", prefix + std::to_string(i)});
        const pid_t pid = adapters::spawnWorkerProcess(args);
        if (pid < 0) {
            log::adapter().critical("could not start worker {}: {}", i, std::strerror(errno));
            requestShutdown();
            break;
        }
        workers.emplace(pid, prefix + std::to_string(i));
    }
    log::adapter().info("running {} workers", workers.size());

    bool forwarded = false;
    int failures = 0;
    while (!workers.empty()) {
        if (shutdownRequested() && !forwarded) {
            log::adapter().info("stopping {} workers", workers.size());
            for (const auto& [pid, name] : workers) kill(pid, SIGTERM);
            forwarded = true;
        }
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            // A signal can arrive between the check above and a blocking wait, so poll instead.
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        if (pid < 0) break;  // ECHILD: nothing left to wait for
        auto it = workers.find(pid);
        if (it == workers.end()) continue;  // an orphan reparented to us (we may be PID 1)
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!clean) ++failures;
        log::adapter().log(clean || forwarded ? spdlog::level::info : spdlog::level::warn,
                           "worker '{}' exited ({} {})", it->second,
                           WIFSIGNALED(status) ? "signal" : "exit code",
                           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        workers.erase(it);
    }
    return failures == 0 ? 0 : 1;
}
