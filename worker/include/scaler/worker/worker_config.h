#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "scaler/common/command_line.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/curve_keys.h"

namespace scaler::worker {

struct WorkerConfig {
    std::string schedulerAddress;
    std::string capabilitiesText;
    CapabilityList capabilities;
    uint32_t queueSize = 1000;
    double heartbeatIntervalSeconds = 2;
    double deathTimeoutSeconds = 300;
    double shutdownGraceSeconds = 30;
    std::vector<std::string> plugins;
    std::string pythonExecutable;  // empty: defaultPythonExecutable() (python_tasks.h)
    std::string name;              // default: the host name
    std::string identity;          // full routing identity; set by adapters so they know it in advance
    std::string adapterId;
    std::string workerGroupId;
    size_t execOutputLimitBytes = 16u << 20;
    bool allowExec = false;  // exec tasks run any program: only when the operator says so
    bool noPython = false;   // Python tasks run any code too: an operator may refuse them
    // What the worker may use; near it the scheduler gives it no new tasks. 0: its cgroup's limit, else the
    // machine's memory (finishWorkerConfig).
    uint64_t memoryLimitBytes = 0;
    uint64_t objectCacheBytes = 0;  // 0: a quarter of the machine's memory (finishWorkerConfig)
    // A function still running this long after its timeout or a stop request is abandoned: the worker
    // reports it and replaces itself (exec of `restartCommand`), since the thread cannot be reclaimed.
    double hungTaskGraceSeconds = 5;
    // While it has work in hand, how long the worker may hold finished tasks' results to send them together
    // (ResultBatching); 0 sends each at once.
    uint32_t resultBatchMicroseconds = 1000;
    std::vector<std::string> restartCommand;
    CurveKeyFiles curveFiles;
    CurveClientKeys
        curve;  // loaded by finishWorkerConfig  // this process's argv; empty: exit instead of restarting
    std::string loggingLevel = "INFO";
    bool checkOnly = false;  // --check: load the configuration and plugins, then exit
};

void addWorkerOptions(CLI::App& app, WorkerConfig& config);
// Throws std::invalid_argument naming the bad value.
void finishWorkerConfig(WorkerConfig& config);

}  // namespace scaler::worker
