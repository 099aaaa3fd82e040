#pragma once
// The worker process's event loop: one DEALER to the scheduler, heartbeats, and a TaskExecutor.

#include <string>

#include "scaler/worker/function_registry.h"
#include "scaler/worker/worker_config.h"

namespace scaler::worker {

class WorkerAgent {
public:
    WorkerAgent(WorkerConfig config, const FunctionRegistry& registry);
    // Returns the process exit code: 0 after a clean disconnect or a scheduler shutdown, 1 when the
    // scheduler was unreachable past the death timeout or refused this worker.
    int run();
    const std::string& identity() const { return identity_; }

private:
    WorkerConfig config_;
    const FunctionRegistry& registry_;
    std::string identity_;
};

}  // namespace scaler::worker
