#include "scaler/scheduler/routing/task_statistics.h"

#include <algorithm>

namespace scaler::scheduler {

TaskStatistics::TaskStatistics(CapabilitySetRegistry& sets, const std::vector<WorkerRecord>& workers,
                               PeerTime startedAt)
    : sets_(sets), workers_(workers), startedAt_(startedAt), now_(startedAt) {}

void TaskStatistics::onTaskEnding(const TaskRecord& record, TaskEnd& end) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const uint64_t durationUs = end.outcome.timings.durationUs;
    CapabilitySetEntry& set = sets_[record.capabilitySet];
    if (record.worker != kNone && end.terminal != TaskState::cancelled) {
        set.lastFinishAt = now_;
        const auto endMs =
            static_cast<uint64_t>(duration_cast<milliseconds>(wallNow_.time_since_epoch()).count());
        if (stream_.wants(endMs)) {
            stream_.record(workers_[record.worker].identity, record.functionName(),
                           endMs - std::min(endMs, durationUs / 1000), endMs, toString(end.terminal));
        }
    }
    if (durationUs > 0) {
        ++set.counters.timedRuns;
        set.counters.runSeconds += static_cast<double>(durationUs) / 1e6;
    }
    const size_t terminalRank = static_cast<size_t>(end.terminal) - static_cast<size_t>(TaskState::succeeded);
    ++set.finished[std::min<size_t>(terminalRank, set.finished.size() - 1)];
    const auto nowMs = duration_cast<milliseconds>(now_ - startedAt_).count();
    latency_.observe(static_cast<double>(static_cast<uint32_t>(nowMs) - record.arrivedMs) / 1000.0);
}

}  // namespace scaler::scheduler
