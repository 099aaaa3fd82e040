#pragma once
// One capability set's queued tasks: the highest priority first, first in first out within a priority.
// Each priority in use has its own intrusive list through the task records, so queueing stays O(1) in the
// tasks and allocation-free; a set whose tasks all have the default priority has exactly one list.

#include <cstdint>
#include <vector>

#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

class PriorityTaskQueue {
public:
    bool empty() const { return size_ == 0; }
    uint32_t size() const { return size_; }
    // The task that runs next: the oldest of the highest priority; kNone when empty.
    TaskIndex head() const { return levels_.empty() ? kNone : levels_.front().list.head; }
    // Priority of head(); only meaningful when not empty.
    int16_t headPriority() const { return levels_.front().priority; }

    void pushBack(TaskTable& tasks, TaskIndex index) {
        tasks.pushBack(level(tasks[index].priority), index, kLinks);
    }
    // Back at the front of its priority (a task returned by a worker runs before younger ones).
    void pushFront(TaskTable& tasks, TaskIndex index) {
        tasks.pushFront(level(tasks[index].priority), index, kLinks);
    }
    void unlink(TaskTable& tasks, TaskIndex index);

private:
    static constexpr TaskTable::LinksMember kLinks = &TaskRecord::queueLinks;
    struct Level {
        int16_t priority;
        TaskList list;
    };
    // The list of `priority`, made if missing; counts the task about to be pushed.
    TaskList& level(int16_t priority);

    std::vector<Level> levels_;  // non-empty lists only, highest priority first
    uint32_t size_ = 0;
};

}  // namespace scaler::scheduler
