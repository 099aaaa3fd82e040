#pragma once
// The scheduler process's event loop: one ROUTER for clients, workers and adapters, one PUB for monitors.

#include <atomic>
#include <string>

#include "scaler/scheduler/config/scheduler_config.h"

namespace scaler::scheduler {

class SchedulerServer {
public:
    explicit SchedulerServer(SchedulerConfig config);
    // Runs until SIGINT/SIGTERM, stop(), or an accepted client shutdown. Throws if it cannot bind.
    void run();
    void stop() { stopRequested_ = true; }

private:
    SchedulerConfig config_;
    std::atomic<bool> stopRequested_{false};
};

}  // namespace scaler::scheduler
