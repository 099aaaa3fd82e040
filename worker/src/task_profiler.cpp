#include "scaler/worker/task_profiler.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace scaler::worker {
namespace {

uint64_t micros(const timespec& t) {
    return static_cast<uint64_t>(t.tv_sec) * 1000000u + static_cast<uint64_t>(t.tv_nsec) / 1000u;
}

// VmHWM of this process in bytes; 0 when it cannot be read.
uint64_t peakResidentBytes() {
    FILE* status = std::fopen("/proc/self/status", "re");
    if (status == nullptr) return 0;
    char line[256];
    uint64_t kb = 0;
    while (std::fgets(line, sizeof line, status) != nullptr) {
        if (std::strncmp(line, "VmHWM:", 6) == 0) {
            kb = std::strtoull(line + 6, nullptr, 10);
            break;
        }
    }
    std::fclose(status);
    return kb * 1024;
}

}  // namespace

void TaskProfiler::start() {
    const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!::write(fd, "5", 1);  // 5: reset the peak resident set size to the current one
        ::close(fd);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpuAtStart_);
}

TaskProfile TaskProfiler::stop() const {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return {micros(now) - micros(cpuAtStart_), peakResidentBytes()};
}

}  // namespace scaler::worker
