#include "scaler/protocol/process_resources.h"

#include <string>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

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

ChildUsage liveChildrenUsage() {
    ChildUsage usage;
    std::error_code error;
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
        std::ifstream children(task.path() / "children");
        long pid = 0;
        while (children >> pid) {
            std::ifstream statFile("/proc/" + std::to_string(pid) + "/stat");
            std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
            const size_t close = stat.rfind(')');  // the command name may hold spaces and parentheses
            if (close == std::string::npos) continue;
            std::istringstream fields(stat.substr(close + 2));
            std::string field;
            unsigned long long utime = 0, stime = 0, rss = 0;
            // after the name: state(3) ... utime(14) stime(15) ... rss(24), numbered from 1 with pid and name
            for (int i = 3; i <= 24 && fields >> field; ++i) {
                if (i == 14) utime = std::stoull(field);
                if (i == 15) stime = std::stoull(field);
                if (i == 24) rss = std::stoull(field);
            }
            usage.cpuSeconds += static_cast<double>(utime + stime) / static_cast<double>(ticks);
            usage.rssBytes += rss * static_cast<unsigned long long>(page);
        }
    }
    return usage;
}

ProcessResourceSampler::ProcessResourceSampler(bool includeChildren)
    : includeChildren_(includeChildren), lastCpuSeconds_(0), lastTime_(std::chrono::steady_clock::now()) {
    sample();  // the first reading: CPU use is measured from here
}

ResourceSample ProcessResourceSampler::sample() {
    const ChildUsage children = includeChildren_ ? liveChildrenUsage() : ChildUsage{};
    const double cpu = processCpuSeconds() + children.cpuSeconds;
    const auto now = std::chrono::steady_clock::now();
    const double wall = std::chrono::duration<double>(now - lastTime_).count();
    ResourceSample result;
    if (wall > 0) {
        result.cpuPermille =
            static_cast<uint16_t>(std::clamp((cpu - lastCpuSeconds_) / wall * 1000.0, 0.0, 65535.0));
    }
    result.rssBytes = currentRssBytes() + children.rssBytes;
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
