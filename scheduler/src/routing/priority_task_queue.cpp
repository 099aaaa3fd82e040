#include "scaler/scheduler/routing/priority_task_queue.h"

#include <algorithm>

namespace scaler::scheduler {

TaskList& PriorityTaskQueue::level(int16_t priority) {
    ++size_;
    // Most sets use one priority: the first level is the common answer.
    if (!levels_.empty() && levels_.front().priority == priority) return levels_.front().list;
    auto it = std::lower_bound(levels_.begin(), levels_.end(), priority,
                               [](const Level& l, int16_t p) { return l.priority > p; });
    if (it == levels_.end() || it->priority != priority) it = levels_.insert(it, Level{priority, {}});
    return it->list;
}

void PriorityTaskQueue::unlink(TaskTable& tasks, TaskIndex index) {
    const int16_t priority = tasks[index].priority;
    auto it =
        std::find_if(levels_.begin(), levels_.end(), [&](const Level& l) { return l.priority == priority; });
    if (it == levels_.end()) return;
    tasks.unlink(it->list, index, kLinks);
    --size_;
    if (it->list.empty()) levels_.erase(it);
}

}  // namespace scaler::scheduler
