#pragma once
// Tasks by state, kept in step with every record's state: the queue length scaling and the snapshot read,
// and the terminal totals the metrics export.

#include <cstddef>
#include <cstdint>

#include "scaler/scheduler/routing/task_state.h"
#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

// Live states count tasks in them now, terminal states count tasks that ended there. Changed only through
// enter (a task is born in a state) and move (a transition).
class TaskStateCounts {
public:
    uint64_t operator[](TaskState s) const { return byState_[static_cast<size_t>(s)]; }
    void enter(TaskState s) { ++byState_[static_cast<size_t>(s)]; }
    void move(TaskState from, TaskState to) {
        if (!isTerminal(from)) --byState_[static_cast<size_t>(from)];
        ++byState_[static_cast<size_t>(to)];
    }

private:
    uint64_t byState_[static_cast<size_t>(TaskState::rejected) + 1] = {};
};

// The one way a record changes state: its count moves with it.
inline void setTaskState(TaskStateCounts& counts, TaskRecord& record, TaskState state) {
    if (record.state == state) return;
    counts.move(record.state, state);
    record.state = state;
}

}  // namespace scaler::scheduler
