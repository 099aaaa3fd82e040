#include "scaler/protocol/process_resources.h"

#include <string>

#include <fstream>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace scaler {

uint64_t currentRssBytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    unsigned long size = 0, resident = 0;
    const int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return n == 2 ? static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

double processCpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

ProcessResourceSampler::ProcessResourceSampler()
    : lastCpuSeconds_(processCpuSeconds()), lastTime_(std::chrono::steady_clock::now()) {}

ResourceSample ProcessResourceSampler::sample() {
    const double cpu = processCpuSeconds();
    const auto now = std::chrono::steady_clock::now();
    const double wall = std::chrono::duration<double>(now - lastTime_).count();
    ResourceSample result;
    if (wall > 0) {
        result.cpuPermille =
            static_cast<uint16_t>(std::clamp((cpu - lastCpuSeconds_) / wall * 1000.0, 0.0, 65535.0));
    }
    result.rssBytes = currentRssBytes();
    lastCpuSeconds_ = cpu;
    lastTime_ = now;
    return result;
}

void resourceToWire(const ResourceSample& sample, wire::Resource::Builder resource) {
    resource.setCpuPermille(sample.cpuPermille);
    resource.setRssBytes(sample.rssBytes);
}

}  // namespace scaler

namespace scaler {

uint64_t processMemoryLimitBytes(uint64_t fallback) {
    const uint64_t physical = physicalMemoryBytes(fallback);
    std::ifstream cgroupFile("/proc/self/cgroup");
    std::string line, path;
    while (std::getline(cgroupFile, line)) {
        if (line.rfind("0::", 0) == 0) path = line.substr(3);  // cgroup v2's single hierarchy
    }
    if (path.empty()) return physical;
    std::ifstream max("/sys/fs/cgroup" + path + "/memory.max");
    std::string text;
    if (!(max >> text) || text == "max") return physical;
    try {
        return std::min<uint64_t>(physical, std::stoull(text));
    } catch (const std::exception&) {
        return physical;
    }
}

uint64_t physicalMemoryBytes(uint64_t fallback) {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long pageSize = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || pageSize <= 0) return fallback;
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize);
}

}  // namespace scaler
