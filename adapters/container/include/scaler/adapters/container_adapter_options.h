#pragma once
// Command line and TOML ([container_worker_adapter]) of scaler_worker_adapter_container.

#include <string>

#include <CLI/CLI.hpp>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/container_worker_group_launcher.h"

namespace scaler::adapters {

struct ContainerAdapterCommandLine {
    AdapterCommandLine adapter;
    ContainerOptions container;
    std::string memoryText;
    std::string leftovers = "adopt";
    double apiTimeoutSeconds = 30;
};

void addContainerAdapterOptions(CLI::App& app, ContainerAdapterCommandLine& options);
// Throws std::invalid_argument naming the bad value.
void finishContainerAdapterOptions(ContainerAdapterCommandLine& options);

// "512m", "2g", "1073741824": bytes. Throws std::invalid_argument.
uint64_t parseByteSize(const std::string& text);

// The default adapter id: stable across restarts on this host, so a restarted adapter finds its containers.
std::string defaultContainerAdapterId(const std::string& dockerHost, const std::string& image,
                                      const std::string& capabilities);

}  // namespace scaler::adapters
