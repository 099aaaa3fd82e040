#pragma once
// What else happens when a task ends, beside its client's answer: statistics, a result kept in the object
// store, a graph node's dependents. The router calls each observer in turn; an observer may change what the
// client is told (a kept result is not sent, an intermediate graph node answers nobody).

#include <string_view>

#include "scaler/scheduler/routing/scheduler_outbox.h"
#include "scaler/scheduler/routing/task_state.h"
#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

// How a task ended, as its worker (or the router) reported it.
struct TaskOutcome {
    std::string_view payload;
    std::string_view error;
    TaskTimings timings;
};

struct TaskEnd {
    TaskIndex index;
    TaskState terminal;
    const TaskOutcome& outcome;
    std::string_view answerPayload;  // what the client is sent as the result
    bool answerClient = true;        // false: nobody is told (an intermediate graph node)
};

class TaskEndObserver {
public:
    virtual ~TaskEndObserver() = default;
    // The record is whole and still on its worker, if it had one; the client is not yet answered.
    virtual void onTaskEnding(const TaskRecord& record, TaskEnd& end) = 0;
    // The record is released and the client answered: an observer may start other tasks now.
    virtual void onTaskEnded(const TaskEnd& end) { (void)end; }
};

}  // namespace scaler::scheduler
