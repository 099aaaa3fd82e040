#pragma once
// The scheduler process's event loop: one ROUTER for clients, workers and adapters, one PUB for monitors.

#include <string>

#include "scaler/scheduler/config/scheduler_config.h"

namespace scaler::scheduler {

class SchedulerServer {
public:
    explicit SchedulerServer(SchedulerConfig config);
    // Runs until SIGINT/SIGTERM or an accepted client shutdown. Throws if it cannot bind.
    void run();

private:
    SchedulerConfig config_;
};

}  // namespace scaler::scheduler
