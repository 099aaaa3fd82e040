#pragma once
// (client, client's task id) -> task. Open addressing with linear probing and backward-shift deletion:
// one flat array, no node allocation per task, no tombstones to slow lookups after many deletions.
// A slot holds only the task and its key's hash (8 bytes); the key itself is the task record's
// (client, clientTaskId), compared when the hashes agree. That halves the index's share of the scheduler's
// memory per queued task (docs/performance.md).

#include <cstdint>
#include <vector>

#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

class ClientTaskIndex {
public:
    explicit ClientTaskIndex(const TaskTable& tasks) : tasks_(tasks) { slots_.resize(kInitialCapacity); }

    // Indexes `task` under its record's (client, clientTaskId). False when that key is already present.
    bool insert(TaskIndex task);
    TaskIndex find(ClientSlot client, uint64_t taskId) const;
    bool erase(ClientSlot client, uint64_t taskId);
    uint32_t size() const { return size_; }

private:
    struct Slot {
        TaskIndex task = kNone;  // kNone: empty
        uint32_t hash = 0;
    };
    static constexpr size_t kInitialCapacity = 1024;

    static uint32_t hashOf(ClientSlot client, uint64_t taskId);
    bool holds(const Slot& slot, uint32_t hash, ClientSlot client, uint64_t taskId) const {
        if (slot.hash != hash) return false;
        const TaskRecord& record = tasks_[slot.task];
        return record.client == client && record.clientTaskId == taskId;
    }
    void grow();

    const TaskTable& tasks_;
    std::vector<Slot> slots_;
    uint32_t size_ = 0;
};

}  // namespace scaler::scheduler
