#pragma once
// (client, client's task id) -> task. Open addressing with linear probing and backward-shift deletion:
// one flat array, no node allocation per task, no tombstones to slow lookups after many deletions.

#include <cstdint>
#include <vector>

#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

class ClientTaskIndex {
public:
    ClientTaskIndex() { slots_.resize(kInitialCapacity); }

    // False when the key is already present.
    bool insert(ClientSlot client, uint64_t taskId, TaskIndex task);
    TaskIndex find(ClientSlot client, uint64_t taskId) const;
    bool erase(ClientSlot client, uint64_t taskId);
    uint32_t size() const { return size_; }

private:
    struct Slot {
        uint64_t taskId = 0;
        ClientSlot client = kNone;  // kNone: empty
        TaskIndex task = kNone;
    };
    static constexpr size_t kInitialCapacity = 1024;

    size_t home(ClientSlot client, uint64_t taskId) const;
    void grow();

    std::vector<Slot> slots_;
    uint32_t size_ = 0;
};

}  // namespace scaler::scheduler
