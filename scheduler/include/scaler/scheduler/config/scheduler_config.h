#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "scaler/scheduler/config/policy_content.h"
#include "scaler/scheduler/scaling/scaling_schedule.h"

namespace scaler::scheduler {

struct SchedulerConfig {
    std::string address;         // where the ROUTER binds
    std::string monitorAddress;  // empty: scheduler port + 2
    bool protectedMode = false;
    // Listen beyond loopback without CURVE: anyone who reaches the port may run commands on every worker.
    bool allowUnauthenticated = false;
    bool metricsAllowRemote = false;  // --metrics-allow-remote
    double clientTimeoutSeconds = 60;
    double workerTimeoutSeconds = 10;  // five heartbeat intervals; a closed connection is noticed at once
    double loadBalanceSeconds = 1;     // <= 0 disables balancing
    int loadBalanceTriggerTimes = 2;
    double workerAdapterTimeoutSeconds = 10;
    double scalingIntervalSeconds = 1;
    int maxTaskRetries = 3;                // a task whose workers died this many times fails with workerDied
    int64_t maxNumberOfTasksWaiting = -1;  // queued tasks beyond this are rejected; -1: no limit
    // Unfinished client tasks and the bytes they carry: each connected client is told a share of these (the
    // limit over clients + 1) and waits to submit while its share is full; a task past the limit itself (a
    // client that does not wait) is rejected. 0: derived from the machine's memory (finishSchedulerConfig).
    uint64_t maxQueuedTasks = 0;
    uint64_t maxQueuedBytes = 0;
    size_t maxMessageBytes = size_t{256} << 20;
    // Told to every peer in its heartbeat echo, so a restarted scheduler is known from the old one. Not a
    // flag: 0 draws a random non-zero one (drawIncarnation) when the scheduler starts; tests set it.
    uint64_t incarnation = 0;
    uint64_t objectMemoryLimit = 0;  // 0: half the machine's memory (finishSchedulerConfig)
    std::string policyContentText = "allocate=even_load; scaling=no";
    PolicyContent policy;
    std::vector<std::string> scalingSchedule;  // rule texts (docs/scaling.md#schedules)
    std::vector<ScheduleRule> scheduleRules;   // parsed by finishSchedulerConfig
    std::string loggingLevel = "INFO";
    std::string metricsAddress;  // HOST:PORT for Prometheus; empty: no endpoint
    std::string metricsHost;     // split from metricsAddress by finishSchedulerConfig
    int metricsPort = 0;

    // CURVE (docs/operations.md#security): on when a secret key file is given.
    std::string curveSecretKeyFile;
    std::string curveClientKeys, curveWorkerKeys, curveAdapterKeys;  // allow-list files or directories
    std::string curveSecretKey;                                      // loaded by finishSchedulerConfig
    // ZAP domain -> public key -> role name; "scaler" for the task port, "scaler-monitor" for the monitor.
    std::map<std::string, std::map<std::string, std::string>> curveAllowLists;
    bool curveEnabled() const { return !curveSecretKey.empty(); }
};

inline constexpr const char* kSchedulerZapDomain = "scaler";
inline constexpr const char* kMonitorZapDomain = "scaler-monitor";

// Declares every scheduler flag on `app`, bound to `config`. Section [scheduler] of --config supplies
// defaults. After app.parse(), call finishSchedulerConfig to validate cross-field values.
void addSchedulerOptions(CLI::App& app, SchedulerConfig& config);
// Parses policy content and checks addresses; throws std::invalid_argument naming the bad value.
void finishSchedulerConfig(SchedulerConfig& config);
// A random non-zero scheduler incarnation.
uint64_t drawIncarnation();

}  // namespace scaler::scheduler
