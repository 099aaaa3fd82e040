#pragma once
// Measures one task on the thread that runs it, when its client asked for profiling: the CPU time of that
// thread (child processes of command tasks not included), and the worker process's peak resident memory
// while it ran (the kernel's high-water mark, reset before the task through /proc/self/clear_refs; where the
// reset is not allowed, the peak since the process started).

#include <cstdint>
#include <ctime>

namespace scaler::worker {

struct TaskProfile {
    uint64_t cpuTimeUs = 0;
    uint64_t peakRssBytes = 0;
};

class TaskProfiler {
public:
    void start();
    TaskProfile stop() const;

private:
    timespec cpuAtStart_{};
};

}  // namespace scaler::worker
