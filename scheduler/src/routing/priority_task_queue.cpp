#include "scaler/scheduler/routing/priority_task_queue.h"

#include <algorithm>
#include <cassert>

namespace scaler::scheduler {

PriorityTaskQueue::Level& PriorityTaskQueue::level(int16_t priority) {
    // Most sets use one priority: the first level is the common answer.
    if (!levels_.empty() && levels_.front().priority == priority) return levels_.front();
    auto it = std::lower_bound(levels_.begin(), levels_.end(), priority,
                               [](const Level& l, int16_t p) { return l.priority > p; });
    if (it == levels_.end() || it->priority != priority) it = levels_.insert(it, Level{priority, {}, 0, 0});
    return *it;
}

TaskList& PriorityTaskQueue::lane(Level& level, ClientSlot client) {
    // the client of the last lane is the common answer (one client submitting many)
    if (!level.lanes.empty() && level.lanes.back().client == client) return level.lanes.back().list;
    for (Lane& l : level.lanes) {
        if (l.client == client) return l.list;
    }
    return level.lanes.emplace_back(Lane{client, {}}).list;
}

void PriorityTaskQueue::pushBack(TaskTable& tasks, TaskIndex index) {
    Level& l = level(tasks[index].priority);
    tasks.pushBack(lane(l, tasks[index].client), index, kLinks);
    ++l.size;
    ++size_;
}

void PriorityTaskQueue::pushFront(TaskTable& tasks, TaskIndex index) {
    Level& l = level(tasks[index].priority);
    tasks.pushFront(lane(l, tasks[index].client), index, kLinks);
    ++l.size;
    ++size_;
}

int64_t PriorityTaskQueue::laneHolding(const TaskTable& tasks, const Level& level, TaskIndex index) const {
    const ClientSlot client = tasks[index].client;
    if (client != kNone) {
        if (level.lanes[level.turn].client == client) return level.turn;  // dispatch takes the turn's head
        for (size_t i = 0; i < level.lanes.size(); ++i) {
            if (level.lanes[i].client == client) return static_cast<int64_t>(i);
        }
        // not where its client says: found by its list's head below, so the queue stays whole regardless
    }
    TaskIndex first = index;
    while (tasks[first].queueLinks.prev != kNone) first = tasks[first].queueLinks.prev;
    for (size_t i = 0; i < level.lanes.size(); ++i) {
        if (level.lanes[i].list.head == first) return static_cast<int64_t>(i);
    }
    return -1;
}

void PriorityTaskQueue::unlink(TaskTable& tasks, TaskIndex index) {
    const int16_t priority = tasks[index].priority;
    auto it =
        std::find_if(levels_.begin(), levels_.end(), [&](const Level& l) { return l.priority == priority; });
    if (it == levels_.end()) return;
    Level& l = *it;
    const int64_t found = laneHolding(tasks, l, index);
    assert(found >= 0 && "unlink of a task that is in no lane");
    if (found < 0) return;
    const auto at = static_cast<uint32_t>(found);
    TaskList& list = l.lanes[at].list;
    const bool turnsHead = at == l.turn && list.head == index;
    tasks.unlink(list, index, kLinks);
    --l.size;
    --size_;
    if (list.empty()) {
        l.lanes.erase(l.lanes.begin() + at);
        if (at < l.turn) --l.turn;  // the same lane keeps its turn; an erased turn lane passes it on
        if (l.turn >= l.lanes.size()) l.turn = 0;
    } else if (turnsHead) {
        l.turn = (l.turn + 1) % static_cast<uint32_t>(l.lanes.size());
    }
    if (l.lanes.empty()) levels_.erase(it);
}

uint64_t PriorityTaskQueue::leadingRun(const TaskTable& tasks, std::optional<uint64_t> arrivedBy,
                                       uint64_t limit) const {
    if (levels_.empty()) return 0;
    const Level& l = levels_.front();
    if (!arrivedBy) return std::min<uint64_t>(limit, l.size);
    uint64_t run = 0;
    for (const Lane& lane : l.lanes) {
        for (TaskIndex i = lane.list.head; i != kNone && run < limit; i = tasks[i].queueLinks.next) {
            if (tasks[i].sequence > *arrivedBy) break;
            ++run;
        }
    }
    return run;
}

}  // namespace scaler::scheduler
