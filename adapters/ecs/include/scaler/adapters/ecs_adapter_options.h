#pragma once
// Command line and TOML ([ecs_worker_adapter]) of scaler_worker_adapter_ecs.

#include <string>

#include <CLI/CLI.hpp>

#include "scaler/adapters/adapter_options.h"
#include "scaler/adapters/ecs_worker_group_launcher.h"

namespace scaler::adapters {

struct EcsAdapterCommandLine {
    AdapterCommandLine adapter;
    EcsOptions ecs;
    std::string subnetsText;
    std::string securityGroupsText;
    double reconcileIntervalSeconds = 5;
};

void addEcsAdapterOptions(CLI::App& app, EcsAdapterCommandLine& options);
// Throws std::invalid_argument naming the bad or missing value (never the secret itself).
// The DNS suffix of a region's partition: amazonaws.com, amazonaws.com.cn for China, ...
std::string awsDnsSuffix(const std::string& region);
void finishEcsAdapterOptions(EcsAdapterCommandLine& options);

}  // namespace scaler::adapters
