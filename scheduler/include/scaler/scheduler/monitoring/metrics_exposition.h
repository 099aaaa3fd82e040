#pragma once
// The Prometheus text exposition (format 0.0.4) of the scheduler's state and counters
// (docs/operations.md#metrics), served by MetricsHttpServer.

#include <string>

#include "scaler/scheduler/routing/scheduler_core.h"

namespace scaler::scheduler {

// What the server's transport counts outside the core.
struct TransportCounters {
    uint64_t curveRefusals = 0;  // handshakes the CURVE authenticator refused
    uint64_t framesReceived = 0;
    uint64_t framesSent = 0;
};

class MetricsExposition {
public:
    explicit MetricsExposition(const SchedulerCore& core, TransportCounters transport = {})
        : core_(core), transport_(transport) {}
    std::string render() const;

private:
    const SchedulerCore& core_;
    TransportCounters transport_;
};

}  // namespace scaler::scheduler
