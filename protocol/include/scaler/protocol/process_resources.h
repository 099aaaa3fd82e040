#pragma once
// CPU and memory of the current process, for heartbeats and the monitor snapshot.

#include <chrono>
#include <cstdint>

#include "scaler/wire/message.capnp.h"

namespace scaler {

struct ResourceSample {
    uint16_t cpuPermille = 0;  // since the previous sample; 1000 = one core
    uint64_t rssBytes = 0;
};

class ProcessResourceSampler {
public:
    // With `includeChildren`, the live child processes count too (a worker's Python processors run its
    // Python tasks: their CPU and memory are the worker's).
    explicit ProcessResourceSampler(bool includeChildren = false);
    ResourceSample sample();

private:
    bool includeChildren_;
    double lastCpuSeconds_;
    std::chrono::steady_clock::time_point lastTime_;
};

uint64_t currentRssBytes();
void resourceToWire(const ResourceSample& sample, wire::Resource::Builder resource);
double processCpuSeconds();
// CPU seconds and resident bytes of this process's live children (every thread's), from /proc.
struct ChildUsage {
    double cpuSeconds = 0;
    uint64_t rssBytes = 0;
};
ChildUsage liveChildrenUsage();
// The machine's physical memory, or `fallback` when the system does not say: sizes the defaults of the
// scheduler's object store and the workers' object caches.
uint64_t physicalMemoryBytes(uint64_t fallback);
// What this process may use: its cgroup's memory.max (v2) when it sets one, else the physical memory.
uint64_t processMemoryLimitBytes(uint64_t fallback);

}  // namespace scaler
