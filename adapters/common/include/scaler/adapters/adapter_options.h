#pragma once
// Flags every adapter shares: its own capacity and identity, and the options passed to the workers it
// starts.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "scaler/adapters/worker_adapter_agent.h"

namespace scaler::adapters {

struct WorkerOptions {
    uint32_t taskQueueSize = 1000;
    double heartbeatIntervalSeconds = 2;
    double deathTimeoutSeconds = 300;
    double shutdownGraceSeconds = 30;
    std::vector<std::string> plugins;

    // scaler_worker flags for a worker of `groupId` with `identity` and `capabilities`.
    std::vector<std::string> workerArguments(const std::string& schedulerAddress, const std::string& adapterId,
                                             const std::string& groupId, const std::string& identity,
                                             const CapabilityList& capabilities) const;
};

struct AdapterCommandLine {
    WorkerAdapterSettings settings;
    WorkerOptions worker;
    std::string capabilitiesText;
    std::string loggingLevel = "INFO";
};

// section: the TOML section (e.g. native_worker_adapter); idPrefix: default adapter ids are PREFIX-<hex>.
void addAdapterOptions(CLI::App& app, AdapterCommandLine& options, const std::string& section);
// Validates and fills derived fields; throws std::invalid_argument naming the bad value.
void finishAdapterOptions(AdapterCommandLine& options, const std::string& idPrefix);

}  // namespace scaler::adapters
