#pragma once
// Starting a scaler_worker child: shared by the native adapter and scaler_worker_group.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "scaler/protocol/result.h"

namespace scaler::adapters {

// fork + exec `argv` (argv[0] is the binary). The child gets SIGTERM when this process dies, so a worker
// whose launcher died still hands its tasks back gracefully, and its own process group, so a Ctrl-C at the
// launcher's terminal is the launcher's to handle. Returns the pid, or -1 with errno set.
pid_t spawnWorkerProcess(const std::vector<std::string>& argv);

// Runs `argv` (a worker command line with --check added by the caller) to completion, at most `timeout`:
// done when it exits 0, else refused with what it printed last (or how it ended). For adapters to learn
// before starting a group that its workers cannot start (a plugin that is not one), instead of restarting
// them forever.
Status checkWorkerCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// The program `name` beside this executable (./name when /proc is unreadable).
std::string siblingBinary(const std::string& name);

}  // namespace scaler::adapters
