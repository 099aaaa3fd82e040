#pragma once
// Starting and watching local processes, for integration tests and benchmarks: real scheduler, worker and
// adapter processes on loopback.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace scaler::tools {

using namespace std::chrono_literals;

class ChildProcess {
public:
    // Runs args[0] with its output appended to logPath. The child dies with this process (parent-death
    // signal), so a crashed test or benchmark leaves nothing running. That signal follows the calling thread,
    // not the process: construct from a thread that outlives the child.
    ChildProcess(std::vector<std::string> args, const std::string& logPath);
    ~ChildProcess();  // SIGKILL and reap if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig) const;
    // The exit status (as from waitpid) once the process ended, or -1 if it is still running at the deadline.
    int waitExit(std::chrono::milliseconds timeout);
    bool running();
    const std::string& logPath() const { return logPath_; }
    std::string log() const;

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
    std::string logPath_;
};

// Polls `condition` until true or the deadline; returns the last value.
bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 20s);

// The directory of the running program: the tools start the cluster binaries built beside them.
std::string ownDirectory();

// A port P such that P, P + 1 and P + 2 (the monitor) were free when checked, below the ephemeral range, and
// reserved against every other process that picks here until this one exits.
uint16_t pickFreePortPair();

}  // namespace scaler::tools
