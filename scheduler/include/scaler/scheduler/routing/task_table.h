#pragma once
// Every live task in one slab of fixed-size records. Records are linked into intrusive lists (a capability
// queue or a worker's assigned list, and the owning client's list), so queueing, assigning, cancelling and
// disconnecting are O(1) and allocate nothing per task.

#include <cassert>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "scaler/scheduler/ids.h"
#include "scaler/scheduler/routing/small_bytes.h"
#include "scaler/scheduler/routing/task_state.h"

namespace scaler::scheduler {

struct TaskLinks {
    TaskIndex prev = kNone;
    TaskIndex next = kNone;
};

struct TaskRecord {
    uint64_t clientTaskId = 0;
    uint64_t sequence = 0;  // arrival order; FIFO across capability queues
    uint32_t generation = 0;
    ClientSlot client = kNone;  // kNone once the client has gone (the task is being cancelled)
    WorkerSlot worker = kNone;
    CapabilitySetId capabilitySet = 0;
    uint32_t timeoutMs = 0;
    uint16_t functionNameLength = 0;
    TaskState state = TaskState::queued;
    uint8_t workerDeaths = 0;
    uint8_t pendingCancelConfirms = 0;
    bool live : 1 = false;
    bool profiling : 1 = false;     // the worker measures CPU time and peak memory
    bool hasArguments : 1 = false;  // body holds encoded arguments (task_arguments.h), not a payload
    bool inGraph : 1 = false;       // a graph node (SchedulerCore::graphNodeOfTask_)
    bool keepsResult : 1 = false;   // the result goes to the object store (KeptResults)
    bool waiting : 1 = false;       // running, and waiting for tasks it submitted: its slot is lent
    int16_t priority = 0;           // higher runs first within its capability set; fills what was padding
    uint32_t arrivedMs =
        0;                 // ms since the scheduler started; fits beside the flags, for the latency histogram
    TaskLinks queueLinks;  // a capability queue, or the assigned list of `worker`
    TaskLinks clientLinks;  // the owning client's list
    SmallBytes body;        // function name then payload (or encoded arguments)

    std::string_view functionName() const { return body.view().substr(0, functionNameLength); }
    std::string_view payload() const { return body.view().substr(functionNameLength); }
};

// Kept small: it is the scheduler's memory per queued task (docs/architecture.md).
static_assert(sizeof(TaskRecord) == 96);

struct TaskList {
    TaskIndex head = kNone;
    TaskIndex tail = kNone;
    uint32_t size = 0;
    bool empty() const { return size == 0; }
};

// The handle sent to workers: generation in the high half so a stale handle never matches a reused slot.
inline uint64_t makeTaskHandle(TaskIndex index, uint32_t generation) {
    return (static_cast<uint64_t>(generation) << 32) | index;
}
inline TaskIndex handleIndex(uint64_t handle) {
    return static_cast<TaskIndex>(handle & 0xffffffffu);
}
inline uint32_t handleGeneration(uint64_t handle) {
    return static_cast<uint32_t>(handle >> 32);
}

class TaskTable {
public:
    TaskTable() = default;
    TaskTable(const TaskTable&) = delete;
    TaskTable& operator=(const TaskTable&) = delete;

    TaskIndex allocate();
    void release(TaskIndex index);

    TaskRecord& operator[](TaskIndex index) { return chunks_[index >> kChunkBits][index & kChunkMask]; }
    const TaskRecord& operator[](TaskIndex index) const {
        return chunks_[index >> kChunkBits][index & kChunkMask];
    }

    // The live record a handle names, or nullptr (unknown, stale or freed).
    TaskRecord* find(uint64_t handle);
    uint64_t handleOf(TaskIndex index) const { return makeTaskHandle(index, (*this)[index].generation); }
    uint32_t liveCount() const { return live_; }
    // The bytes live tasks carry (function names, payloads, encoded arguments): set through setBody.
    uint64_t liveBodyBytes() const { return liveBodyBytes_; }
    void setBody(TaskIndex index, std::string_view functionName, std::string_view body) {
        TaskRecord& record = (*this)[index];
        liveBodyBytes_ -= record.body.size();
        record.body.assign(functionName, body);
        liveBodyBytes_ += record.body.size();
    }

    using LinksMember = TaskLinks TaskRecord::*;
    void pushBack(TaskList& list, TaskIndex index, LinksMember links);
    void pushFront(TaskList& list, TaskIndex index, LinksMember links);
    void unlink(TaskList& list, TaskIndex index, LinksMember links);

private:
    static constexpr uint32_t kChunkBits = 12;
    static constexpr uint32_t kChunkSize = 1u << kChunkBits;
    static constexpr uint32_t kChunkMask = kChunkSize - 1;

    // Chunks never move, so references stay valid while the table grows.
    std::vector<std::unique_ptr<TaskRecord[]>> chunks_;
    uint32_t capacity_ = 0;
    uint32_t live_ = 0;
    uint64_t liveBodyBytes_ = 0;
    TaskIndex freeHead_ = kNone;  // free records are chained through queueLinks.next
};

}  // namespace scaler::scheduler
