#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

TaskIndex TaskTable::allocate() {
    if (freeHead_ == kNone) {
        chunks_.push_back(std::make_unique<TaskRecord[]>(kChunkSize));
        // chain the new chunk's records, lowest index first
        for (uint32_t i = kChunkSize; i-- > 0;) {
            const TaskIndex index = capacity_ + i;
            (*this)[index].queueLinks.next = freeHead_;
            freeHead_ = index;
        }
        capacity_ += kChunkSize;
    }
    const TaskIndex index = freeHead_;
    TaskRecord& record = (*this)[index];
    freeHead_ = record.queueLinks.next;
    const uint32_t generation = record.generation;
    record.queueLinks = {};
    record.clientLinks = {};
    record.generation = generation;
    record.live = true;
    ++live_;
    return index;
}

void TaskTable::release(TaskIndex index) {
    TaskRecord& record = (*this)[index];
    assert(record.live);
    liveBodyBytes_ -= record.body.size();
    record.body.clear();
    record.live = false;
    record.state = TaskState::queued;
    record.client = kNone;
    record.worker = kNone;
    record.workerDeaths = 0;
    record.pendingCancelConfirms = 0;
    ++record.generation;
    record.clientLinks = {};
    record.queueLinks = {};
    record.queueLinks.next = freeHead_;
    freeHead_ = index;
    --live_;
}

TaskRecord* TaskTable::find(uint64_t handle) {
    const TaskIndex index = handleIndex(handle);
    if (index >= capacity_) return nullptr;
    TaskRecord& record = (*this)[index];
    if (!record.live || record.generation != handleGeneration(handle)) return nullptr;
    return &record;
}

void TaskTable::pushBack(TaskList& list, TaskIndex index, LinksMember links) {
    TaskLinks& l = (*this)[index].*links;
    l.prev = list.tail;
    l.next = kNone;
    if (list.tail != kNone) {
        ((*this)[list.tail].*links).next = index;
    } else {
        list.head = index;
    }
    list.tail = index;
    ++list.size;
}

void TaskTable::pushFront(TaskList& list, TaskIndex index, LinksMember links) {
    TaskLinks& l = (*this)[index].*links;
    l.prev = kNone;
    l.next = list.head;
    if (list.head != kNone) {
        ((*this)[list.head].*links).prev = index;
    } else {
        list.tail = index;
    }
    list.head = index;
    ++list.size;
}

void TaskTable::unlink(TaskList& list, TaskIndex index, LinksMember links) {
    TaskLinks& l = (*this)[index].*links;
    if (l.prev != kNone) {
        ((*this)[l.prev].*links).next = l.next;
    } else {
        list.head = l.next;
    }
    if (l.next != kNone) {
        ((*this)[l.next].*links).prev = l.prev;
    } else {
        list.tail = l.prev;
    }
    l = {};
    --list.size;
}

}  // namespace scaler::scheduler
