#include "scaler/worker/worker_config.h"

#include "scaler/common/command_line.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/process_resources.h"

namespace scaler::worker {

void addWorkerOptions(CLI::App& app, WorkerConfig& config) {
    addCommonOptions(app, "worker", config.loggingLevel);
    app.add_option("scheduler_address", config.schedulerAddress,
                   "Scheduler address, e.g. tcp://127.0.0.1:8516")
        ->required();
    app.add_option("--per-worker-capabilities", config.capabilitiesText,
                   "Capabilities this worker offers, e.g. \"linux,gpu=2\"");
    app.add_option("--per-worker-task-queue-size", config.queueSize,
                   "Tasks the scheduler may hand this worker at once (running + queued)")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    app.add_option("--heartbeat-interval-seconds", config.heartbeatIntervalSeconds, "Heartbeat period")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--death-timeout-seconds", config.deathTimeoutSeconds,
                   "Exit after this long without hearing from the scheduler")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--shutdown-grace-seconds", config.shutdownGraceSeconds,
                   "On SIGTERM, how long the running task may finish before it is returned to the scheduler")
        ->check(nonNegativeNumber())
        ->capture_default_str();
    app.add_option("--load", config.plugins, "Plugin shared library with task functions (repeatable)")
        ->check(CLI::ExistingFile);
    app.add_option(
        "--python", config.pythonExecutable,
        "The interpreter that runs Python tasks, in processes of their own (default: "
        "$SCALER_CPP_PYTHON_EXECUTABLE, else python3 in this binary's directory, as in an environment pip "
        "installed into, else the one scaler_cpp was built for, " SCALER_PYTHON_EXECUTABLE
        "); it must import "
        "scaler_cpp");
    app.add_option("--worker-name", config.name, "Name inside the worker's identity (default: host name)");
    app.add_option("--worker-id", config.identity,
                   "Set by a worker adapter: the worker's full identity (default: Worker|NAME|random)");
    app.add_option("--adapter-id", config.adapterId,
                   "Set by a worker adapter: the adapter that started this worker");
    app.add_option("--worker-group-id", config.workerGroupId, "Set by a worker adapter: this worker's group");
    app.add_flag(
        "--allow-exec", config.allowExec,
        "Run exec command tasks (any program, as this worker's user). Off by default: everyone who can "
        "submit to the scheduler could run programs here");
    app.add_flag("--no-python", config.noPython,
                 "Refuse Python tasks: they run any code a client sends, as this worker's user, just as exec "
                 "tasks do (on by default, since Python is what scaler_cpp clients submit)");
    app.add_option("--exec-output-limit-bytes", config.execOutputLimitBytes,
                   "Per stream, output of exec tasks kept beyond which it is truncated")
        ->check(CLI::Range(size_t{0}, size_t{1} << 30))
        ->capture_default_str();
    app.add_option(
           "--memory-limit", config.memoryLimitBytes,
           "Memory this worker may use, e.g. 8GiB; with its resident memory at 90% of it the scheduler "
           "gives it no new tasks until it is back under 80%. Default: its cgroup's memory.max, else the "
           "machine's memory")
        ->transform(CLI::AsSizeValue(false));
    app.add_option(
           "--object-cache-bytes", config.objectCacheBytes,
           "Bytes of shared objects this worker keeps for later tasks, e.g. 4GiB; least recently used "
           "go first. Default: a quarter of the machine's memory")
        ->transform(CLI::AsSizeValue(false));
    app.add_option("--hung-task-grace-seconds", config.hungTaskGraceSeconds,
                   "A function task still running this long past its timeout or a cancel is abandoned: the "
                   "task fails and the worker restarts itself")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--result-batch-microseconds", config.resultBatchMicroseconds,
                   "While this worker has more work in hand than it runs in twice this long, finished tasks' "
                   "results wait up to this long to go to the scheduler together (fewer messages per task); "
                   "a lone task's result goes at once. 0: every result at once")
        ->check(CLI::Range(0u, 1000000u))
        ->capture_default_str();
    addCurveClientOptions(app, config.curveFiles);
    app.add_flag(
        "--check", config.checkOnly,
        "Load the configuration and plugins, then exit: 0 when this worker could start, 2 naming what "
        "is wrong (adapters run it before starting groups)");
}

void finishWorkerConfig(WorkerConfig& config) {
    if (config.objectCacheBytes == 0) config.objectCacheBytes = physicalMemoryBytes(uint64_t{4} << 30) / 4;
    if (config.memoryLimitBytes == 0) config.memoryLimitBytes = processMemoryLimitBytes(uint64_t{4} << 30);
    parseAddress(config.schedulerAddress);
    config.capabilities = parseCapabilities(config.capabilitiesText);
    config.curve =
        loadCurveClientKeys(config.curveFiles.serverPublicKeyFile, config.curveFiles.secretKeyFile);
}

}  // namespace scaler::worker
