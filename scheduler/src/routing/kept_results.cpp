#include "scaler/scheduler/routing/kept_results.h"

#include <string>

#include "scaler/common/log.h"
#include "scaler/common/printable.h"

namespace scaler::scheduler {

void KeptResults::keep(TaskRecord& record, TaskIndex index, uint64_t clientObjectId) {
    record.keepsResult = true;
    objectOf_[index] = clientObjectId;
}

void KeptResults::onTaskEnding(const TaskRecord& record, TaskEnd& end) {
    if (!record.keepsResult) return;
    const auto found = objectOf_.find(end.index);
    if (found == objectOf_.end()) return;
    if (end.terminal == TaskState::succeeded && record.client != kNone) {
        objects_.store(record.client, found->second, "result of task " + std::to_string(record.clientTaskId),
                       end.answerPayload);
        if (objects_.bytes() > objects_.limit()) {
            log::tasks().warn("object store past its limit with a kept result: {} of {}",
                              formatBytes(objects_.bytes()), formatBytes(objects_.limit()));
        }
        end.answerPayload = {};
    }
    objectOf_.erase(found);
}

}  // namespace scaler::scheduler
