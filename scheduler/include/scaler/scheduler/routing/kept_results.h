#pragma once
// Results a client asked to keep in the scheduler (Task.resultObjectId): when such a task succeeds its result
// becomes the client's object under that id, and the client is answered without the payload.

#include <cstdint>
#include <unordered_map>

#include "scaler/scheduler/objects/object_store.h"
#include "scaler/scheduler/routing/task_end_observer.h"

namespace scaler::scheduler {

class KeptResults final : public TaskEndObserver {
public:
    explicit KeptResults(ObjectStore& objects) : objects_(objects) {}

    // The task's result, when it succeeds, is stored as the client's object `clientObjectId`.
    void keep(TaskRecord& record, TaskIndex index, uint64_t clientObjectId);
    void onTaskEnding(const TaskRecord& record, TaskEnd& end) override;

private:
    ObjectStore& objects_;
    std::unordered_map<TaskIndex, uint64_t> objectOf_;  // task -> the client's object id for its result
};

}  // namespace scaler::scheduler
