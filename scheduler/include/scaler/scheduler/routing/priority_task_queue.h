#pragma once
// One capability set's queued tasks: the highest priority first; within a priority the clients with tasks
// queued take turns, one task each, and each client's own tasks go first in, first out. So a client that
// floods the queue holds up another client's task by one task of its own, not by its backlog.
// Each (priority, client) in use has its own intrusive list through the task records (a lane), so queueing
// stays O(1) in the tasks and allocation-free while the lanes exist; a set used by one client at one
// priority has exactly one lane.

#include <cstdint>
#include <optional>
#include <vector>

#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

class PriorityTaskQueue {
public:
    bool empty() const { return size_ == 0; }
    uint32_t size() const { return size_; }
    // The task that runs next: the oldest task of the client whose turn it is at the highest priority;
    // kNone when empty.
    TaskIndex head() const {
        return levels_.empty() ? kNone : levels_.front().lanes[levels_.front().turn].list.head;
    }
    // Priority of head(); only meaningful when not empty.
    int16_t headPriority() const { return levels_.front().priority; }

    // At the back of its client's lane (a client new to this priority takes its turn after the others).
    void pushBack(TaskTable& tasks, TaskIndex index);
    // Back at the front of its client's lane (a task returned by a worker runs before younger ones).
    void pushFront(TaskTable& tasks, TaskIndex index);
    // Takes a queued task out; unlinking head() passes the turn to the next client.
    void unlink(TaskTable& tasks, TaskIndex index);
    // How many tasks of the highest priority may go in one round: all of them (at most `limit`), or with
    // `arrivedBy`, those that arrived no later than it (another queue's head, which must not wait longer).
    uint64_t leadingRun(const TaskTable& tasks, std::optional<uint64_t> arrivedBy, uint64_t limit) const;

private:
    static constexpr TaskTable::LinksMember kLinks = &TaskRecord::queueLinks;
    struct Lane {
        ClientSlot client;
        TaskList list;
    };
    struct Level {
        int16_t priority;
        std::vector<Lane> lanes;  // non-empty lanes only, in turn order
        uint32_t turn = 0;        // the lane whose head runs next
        uint32_t size = 0;
    };
    // The level of `priority`, made if missing.
    Level& level(int16_t priority);
    // The lane of `client` in `level`, made (last in turn) if missing.
    TaskList& lane(Level& level, ClientSlot client);
    // Which lane holds queued task `index`; -1 when none. Found by its client's lane; a task whose client
    // has gone (kNone) by its lane's head (those are cancelled in the order they came, at or near the head).
    int64_t laneHolding(const TaskTable& tasks, const Level& level, TaskIndex index) const;

    std::vector<Level> levels_;  // non-empty levels only, highest priority first
    uint32_t size_ = 0;
};

}  // namespace scaler::scheduler
