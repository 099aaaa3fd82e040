#pragma once
// The Prometheus text exposition (format 0.0.4) of the scheduler's state and counters
// (docs/operations.md#metrics), served by MetricsHttpServer.

#include <string>

#include "scaler/scheduler/routing/scheduler_core.h"

namespace scaler::scheduler {

class MetricsExposition {
public:
    explicit MetricsExposition(const SchedulerCore& core) : core_(core) {}
    std::string render() const;

private:
    const SchedulerCore& core_;
};

}  // namespace scaler::scheduler
