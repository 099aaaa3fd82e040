#include "scaler/scheduler/routing/client_task_index.h"

namespace scaler::scheduler {

uint32_t ClientTaskIndex::hashOf(ClientSlot client, uint64_t taskId) {
    // Blocks of 16 consecutive ids of one client share one aligned run of 16 slots (two cache lines), and
    // blocks spread evenly (splitmix64 finaliser): a client's ids arrive and finish roughly in order, so a
    // burst's inserts and erases hit lines already in cache instead of missing on every task.
    uint64_t x = (taskId >> 4) ^ (static_cast<uint64_t>(client) * 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (static_cast<uint32_t>(x) << 4) | static_cast<uint32_t>(taskId & 15);
}

bool ClientTaskIndex::insert(TaskIndex task) {
    if ((static_cast<size_t>(size_) + 1) * 2 > slots_.size()) grow();
    const TaskRecord& record = tasks_[task];
    const uint32_t hash = hashOf(record.client, record.clientTaskId);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        Slot& slot = slots_[i];
        if (slot.task == kNone) {
            slot = {task, hash};
            ++size_;
            return true;
        }
        if (holds(slot, hash, record.client, record.clientTaskId)) return false;
    }
}

TaskIndex ClientTaskIndex::find(ClientSlot client, uint64_t taskId) const {
    const uint32_t hash = hashOf(client, taskId);
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.task == kNone) return kNone;
        if (holds(slot, hash, client, taskId)) return slot.task;
    }
}

bool ClientTaskIndex::erase(ClientSlot client, uint64_t taskId) {
    const uint32_t hash = hashOf(client, taskId);
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
        if (slots_[i].task == kNone) return false;
        if (holds(slots_[i], hash, client, taskId)) break;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home allows it.
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; slots_[j].task != kNone; j = (j + 1) & mask) {
        const size_t h = slots_[j].hash & mask;
        const bool movable = (j > hole) ? (h <= hole || h > j) : (h <= hole && h > j);
        if (movable) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = Slot{};
    --size_;
    return true;
}

void ClientTaskIndex::grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.resize(old.size() * 2);
    const size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
        if (slot.task == kNone) continue;
        size_t i = slot.hash & mask;
        while (slots_[i].task != kNone) i = (i + 1) & mask;
        slots_[i] = slot;
    }
}

}  // namespace scaler::scheduler
