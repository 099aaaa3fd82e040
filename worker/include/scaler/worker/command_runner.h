#pragma once
// Runs a command task: the program in its own process group, output captured, killed on cancel/timeout.

#include <cstddef>

#include "scaler/protocol/exec_payload.h"
#include "scaler/worker/function_registry.h"

namespace scaler::worker {

struct CommandLimits {
    size_t maxOutputBytes = 16u << 20;          // per stream; more is dropped and outputTruncated set
    std::chrono::milliseconds killGrace{2000};  // SIGTERM to SIGKILL
};

// Never throws for the program's own failures (a missing program gives exit code 127 and a message on
// stderr). Throws TaskInterrupted after killing the program when the context asks to stop.
ExecResult runCommand(const ExecRequest& request, const TaskContext& context, const CommandLimits& limits);

}  // namespace scaler::worker
