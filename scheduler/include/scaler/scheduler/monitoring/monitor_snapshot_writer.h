#pragma once
// Writes the monitor snapshot (published every second on the monitor socket; scaler_top reads it) from the
// task router's and the scaling controller's state.

#include "scaler/scheduler/routing/scheduler_core.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

class MonitorSnapshotWriter {
public:
    explicit MonitorSnapshotWriter(const SchedulerCore& core) : core_(core) {}
    void write(wire::MonitorSnapshot::Builder snapshot) const;

private:
    void writeAdmission(wire::Admission::Builder admission) const;
    void writeTasks(wire::MonitorSnapshot::Builder snapshot) const;
    void writeWorkers(wire::MonitorSnapshot::Builder snapshot) const;
    void writeAdaptersAndGroups(wire::MonitorSnapshot::Builder snapshot) const;
    void writeScalingDecisions(wire::MonitorSnapshot::Builder snapshot) const;
    void writeTaskStreamAndClients(wire::MonitorSnapshot::Builder snapshot) const;

    const SchedulerCore& core_;
};

}  // namespace scaler::scheduler
