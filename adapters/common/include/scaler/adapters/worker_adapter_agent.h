#pragma once
// The adapter process's event loop: a DEALER to the scheduler, a heartbeat with capacity and inventory
// every interval, and StartWorkerGroup / ShutdownWorkerGroup commands carried out by a WorkerGroupProvider.

#include <string>

#include "scaler/adapters/worker_group_provider.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/curve_keys.h"

namespace scaler::adapters {

struct WorkerAdapterSettings {
    std::string schedulerAddress;
    std::string adapterId;  // routing identity, and the adapter id its workers report
    uint32_t maxWorkerGroups = 1;
    uint32_t workersPerGroup = 1;
    CapabilityList capabilities;
    double heartbeatIntervalSeconds = 2;
    double exitGraceSeconds = 35;  // on SIGTERM: how long groups may take to stop
    CurveClientKeys curve;
    uint32_t priority = 0;  // tier: the scheduler fills lower numbers first and drains higher ones first
    std::string billing;    // how its groups are billed (BillingModel spec); empty: the kind's usual model
};

class WorkerAdapterAgent {
public:
    WorkerAdapterAgent(WorkerAdapterSettings settings, WorkerGroupProvider& provider);
    // Runs until SIGINT/SIGTERM, then stops every group. Keeps heartbeating while the scheduler is away,
    // so it registers again when a scheduler comes back.
    int run();

private:
    WorkerAdapterSettings settings_;
    WorkerGroupProvider& provider_;
};

}  // namespace scaler::adapters
