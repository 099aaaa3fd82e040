#pragma once
// The figures a task leaves when it ends: its capability set's run times and terminal counts (which size
// dispatch chunks and feed scaling's demand estimate), the latency histogram, and the dashboard's sample of
// finished tasks.

#include <vector>

#include "scaler/scheduler/routing/capability_set_registry.h"
#include "scaler/scheduler/routing/peer_table.h"
#include "scaler/scheduler/routing/task_end_observer.h"
#include "scaler/scheduler/routing/task_stream.h"
#include "scaler/scheduler/scaling/latency_histogram.h"

namespace scaler::scheduler {

class TaskStatistics final : public TaskEndObserver {
public:
    using WallTime = std::chrono::system_clock::time_point;

    TaskStatistics(CapabilitySetRegistry& sets, const std::vector<WorkerRecord>& workers, PeerTime startedAt);

    // The router's clock, set before each batch of messages.
    void setNow(PeerTime now, WallTime wallNow) {
        now_ = now;
        wallNow_ = wallNow;
    }
    void onTaskEnding(const TaskRecord& record, TaskEnd& end) override;

    const LatencyHistogram& latency() const { return latency_; }  // from arrival to the result leaving
    const TaskStream& stream() const { return stream_; }

private:
    CapabilitySetRegistry& sets_;
    const std::vector<WorkerRecord>& workers_;
    PeerTime startedAt_;
    PeerTime now_{};
    WallTime wallNow_{};
    LatencyHistogram latency_;
    TaskStream stream_;
};

}  // namespace scaler::scheduler
