#pragma once
// Flags every adapter shares: its own capacity and identity, and the options passed to the workers it
// starts.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "scaler/adapters/worker_adapter_agent.h"
#include "scaler/common/command_line.h"

namespace scaler::adapters {

struct WorkerOptions {
    uint32_t taskQueueSize = 1000;
    double heartbeatIntervalSeconds = 2;
    double deathTimeoutSeconds = 300;
    double shutdownGraceSeconds = 30;
    std::vector<std::string> plugins;
    bool allowExec = false;    // the workers run exec tasks (--allow-exec)
    bool noPython = false;     // the workers refuse Python tasks (--no-python)
    CurveKeyFiles curveFiles;  // paths as the worker sees them

    // scaler_worker flags for a worker of `groupId` with `capabilities`; the caller adds --worker-id.
    std::vector<std::string> workerArguments(const std::string& schedulerAddress,
                                             const std::string& adapterId, const std::string& groupId,
                                             const CapabilityList& capabilities) const;
};

struct AdapterCommandLine {
    WorkerAdapterSettings settings;
    WorkerOptions worker;
    std::string capabilitiesText;
    std::string loggingLevel = "INFO";
    CurveKeyFiles curveFiles;  // the adapter's own
};

// section: the TOML section (e.g. native_worker_adapter). pluginsOnThisHost: --load paths are checked here
// (not for containers and ECS tasks, whose plugins live in the image).
void addAdapterOptions(CLI::App& app, AdapterCommandLine& options, const std::string& section,
                       bool pluginsOnThisHost = true);
// Validates and fills derived fields; throws std::invalid_argument naming the bad value. idPrefix: a
// missing adapter id becomes PREFIX-<random hex>.
void finishAdapterOptions(AdapterCommandLine& options, const std::string& idPrefix);

// PREFIX-<12 hex>: a hash of this host's name (unless !withHost: an adapter in a Pod gets a new host name on
// every restart) and `parts`, the same on every restart, so a restarted adapter finds the groups (containers,
// ECS tasks, Pods) it labelled with its id.
std::string stableAdapterId(const std::string& prefix, const std::vector<std::string>& parts,
                            bool withHost = true);

}  // namespace scaler::adapters
