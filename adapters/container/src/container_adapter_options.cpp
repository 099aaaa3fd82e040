#include "scaler/adapters/container_adapter_options.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "scaler/common/command_line.h"

namespace scaler::adapters {

void addContainerAdapterOptions(CLI::App& app, ContainerAdapterCommandLine& o) {
    addAdapterOptions(app, o.adapter, "container_worker_adapter", false);
    if (const char* env = std::getenv("DOCKER_HOST"); env && *env) o.container.dockerHost = env;
    app.add_option("--docker-host", o.container.dockerHost,
                   "Docker Engine API endpoint: unix:///path (Docker, or Podman's `podman system service`), "
                   "tcp://host:port (default: $DOCKER_HOST, else the Docker socket)")
        ->capture_default_str();
    app.add_option("--image", o.container.image, "Worker image (see tools/scripts/build-worker-image.sh)")
        ->capture_default_str();
    app.add_option("--network-mode", o.container.networkMode,
                   "Container network: host, bridge or a network name; the workers must reach the scheduler")
        ->capture_default_str();
    app.add_option("--worker-scheduler-address", o.container.workerSchedulerAddress,
                   "The scheduler's address as seen from inside the containers (default: scheduler_address)");
    app.add_option("--env", o.container.environment,
                   "Environment variable for the workers, NAME=value (repeatable)");
    app.add_option("--mount", o.container.mounts, "Bind mount, HOST_PATH:CONTAINER_PATH[:ro] (repeatable)");
    app.add_option("--cpus", o.container.cpus, "CPU limit per container (0: none)")
        ->check(nonNegativeNumber())
        ->capture_default_str();
    app.add_option("--memory", o.memoryText, "Memory limit per container, e.g. 512m or 4g (default: none)");
    app.add_option("--add-host", o.container.extraHosts,
                   "HOST:IP added to the containers' /etc/hosts (repeatable); with Docker's bridge network, "
                   "host.docker.internal:host-gateway lets workers reach a scheduler on the host");
    app.add_option("--worker-group-binary", o.container.groupBinary,
                   "scaler_worker_group's path inside the image")
        ->capture_default_str();
    app.add_option(
           "--leftover-containers", o.leftovers,
           "What to do at start-up with running containers an earlier run of this adapter left: adopt or "
           "remove")
        ->check(CLI::IsMember({"adopt", "remove"}))
        ->capture_default_str();
    app.add_option("--api-timeout-seconds", o.apiTimeoutSeconds, "Longest wait for one container engine call")
        ->check(positiveNumber())
        ->capture_default_str();
}

void finishContainerAdapterOptions(ContainerAdapterCommandLine& o) {
    if (o.adapter.settings.adapterId.empty()) {
        o.adapter.settings.adapterId =
            defaultContainerAdapterId(o.container.dockerHost, o.container.image, o.adapter.capabilitiesText);
    }
    finishAdapterOptions(o.adapter, "container");
    if (!o.memoryText.empty()) o.container.memoryBytes = parseByteSize(o.memoryText);
    if (o.container.memoryBytes > 0 && o.container.memoryBytes < kMinimumContainerMemory) {
        throw std::invalid_argument("--memory: Docker refuses containers with less than 6 MiB, got '" +
                                    o.memoryText + "'");
    }
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (o.container.cpus > 0 && cpus > 0 && o.container.cpus > static_cast<double>(cpus) &&
        o.container.dockerHost.rfind("unix://", 0) == 0) {
        throw std::invalid_argument("--cpus: " + std::to_string(o.container.cpus) +
                                    " is more than this host's " + std::to_string(cpus) +
                                    " CPUs, which Docker refuses");
    }
    for (const auto& h : o.container.extraHosts) {
        if (h.find(':') == std::string::npos || h.front() == ':') {
            throw std::invalid_argument("--add-host: expected HOST:IP (or HOST:host-gateway), got '" + h +
                                        "'");
        }
    }
    o.container.adoptLeftovers = o.leftovers == "adopt";
    o.container.apiTimeout = std::chrono::milliseconds(static_cast<int64_t>(o.apiTimeoutSeconds * 1000));
    for (const auto& e : o.container.environment) {
        if (e.find('=') == std::string::npos || e.front() == '=') {
            throw std::invalid_argument("--env: expected NAME=value, got '" + e + "'");
        }
    }
    for (const auto& m : o.container.mounts) {
        if (m.find(':') == std::string::npos) {
            throw std::invalid_argument("--mount: expected HOST_PATH:CONTAINER_PATH[:ro], got '" + m + "'");
        }
    }
    // Throws for a malformed host; the engine itself is contacted later, so a late engine is no error.
    DockerEngineClient check(o.container.dockerHost, std::chrono::milliseconds(1000));
}

uint64_t parseByteSize(const std::string& text) {
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    const std::string suffix = text.substr(digits);
    uint64_t scale = 1;
    if (suffix == "k" || suffix == "K" || suffix == "kb")
        scale = 1ull << 10;
    else if (suffix == "m" || suffix == "M" || suffix == "mb")
        scale = 1ull << 20;
    else if (suffix == "g" || suffix == "G" || suffix == "gb")
        scale = 1ull << 30;
    else if (!suffix.empty() && suffix != "b")
        digits = 0;
    if (digits == 0 || digits > 12)
        throw std::invalid_argument("--memory: expected a size like 512m or 4g, got '" + text + "'");
    return std::stoull(text.substr(0, digits)) * scale;
}

std::string defaultContainerAdapterId(const std::string& dockerHost, const std::string& image,
                                      const std::string& capabilities) {
    return stableAdapterId("container", {dockerHost, image, capabilities});
}

}  // namespace scaler::adapters
