#pragma once
// --exit-when-fd-closes FD: a process started by another (SchedulerClusterCombo) ends with it, however that
// one ends (an exception, Ctrl-C, SIGKILL): the parent keeps the write end of a pipe whose read end the child
// inherits as FD; when the parent is gone the kernel closes the write end and the read end reaches end of
// file. A thread waits for that and asks for the graceful shutdown that SIGTERM would.

#include <CLI/CLI.hpp>

namespace scaler {

// Adds --exit-when-fd-closes; `fd` stays -1 when it is not given.
void addParentPipeOption(CLI::App& app, int& fd);
// Throws std::invalid_argument naming the flag when fd >= 0 is not an open descriptor (a usage error).
void checkParentPipe(int fd);
// Starts the watching thread when fd >= 0 (after checkParentPipe and the loggers' set-up).
void watchParentPipe(int fd, const char* process);

}  // namespace scaler
