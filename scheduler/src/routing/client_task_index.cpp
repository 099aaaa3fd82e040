#include "scaler/scheduler/routing/client_task_index.h"

namespace scaler::scheduler {

size_t ClientTaskIndex::home(ClientSlot client, uint64_t taskId) const {
    // splitmix64 finaliser: sequential ids from one client spread evenly
    uint64_t x = taskId ^ (static_cast<uint64_t>(client) * 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<size_t>(x) & (slots_.size() - 1);
}

bool ClientTaskIndex::insert(ClientSlot client, uint64_t taskId, TaskIndex task) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    for (size_t i = home(client, taskId);; i = (i + 1) & (slots_.size() - 1)) {
        Slot& slot = slots_[i];
        if (slot.client == kNone) {
            slot = {taskId, client, task};
            ++size_;
            return true;
        }
        if (slot.client == client && slot.taskId == taskId) return false;
    }
}

TaskIndex ClientTaskIndex::find(ClientSlot client, uint64_t taskId) const {
    for (size_t i = home(client, taskId);; i = (i + 1) & (slots_.size() - 1)) {
        const Slot& slot = slots_[i];
        if (slot.client == kNone) return kNone;
        if (slot.client == client && slot.taskId == taskId) return slot.task;
    }
}

bool ClientTaskIndex::erase(ClientSlot client, uint64_t taskId) {
    const size_t mask = slots_.size() - 1;
    size_t i = home(client, taskId);
    for (;; i = (i + 1) & mask) {
        if (slots_[i].client == kNone) return false;
        if (slots_[i].client == client && slots_[i].taskId == taskId) break;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home allows it.
    size_t hole = i;
    for (size_t j = (hole + 1) & mask; slots_[j].client != kNone; j = (j + 1) & mask) {
        const size_t h = home(slots_[j].client, slots_[j].taskId);
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
    size_ = 0;
    for (const Slot& slot : old) {
        if (slot.client != kNone) insert(slot.client, slot.taskId, slot.task);
    }
}

}  // namespace scaler::scheduler
