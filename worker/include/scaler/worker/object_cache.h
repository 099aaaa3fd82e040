#pragma once
// The worker's copies of shared objects, so each object crosses the network to a worker at most once while
// it fits. Bounded by bytes; the least recently used object not held by a task goes first.

#include <cstdint>
#include <list>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace scaler::worker {

// One object's bytes, allocated once at its full size (no zero fill) and filled chunk by chunk. From
// kSharedFromBytes up they live in a memfd, so a Python processor maps the same pages (the descriptor travels
// with the task: TaskContext::argumentSharedFd) instead of receiving a copy for every task that uses it.
struct ObjectBytes {
    static constexpr uint64_t kSharedFromBytes = 1u << 20;
    explicit ObjectBytes(uint64_t size);
    ~ObjectBytes();
    ObjectBytes(const ObjectBytes&) = delete;
    ObjectBytes& operator=(const ObjectBytes&) = delete;

    char* data() const { return data_; }
    std::string_view view() const { return {data_, size}; }
    int sharedFd() const { return fd_; }  // -1: on the heap
    const uint64_t size;

private:
    char* data_ = nullptr;
    int fd_ = -1;
};

class ObjectCache {
public:
    explicit ObjectCache(uint64_t capacityBytes) : capacity_(capacityBytes) {}

    // The object, now the most recently used; nullptr when not cached.
    std::shared_ptr<const ObjectBytes> find(uint64_t handle);
    // Keeps it and evicts older objects no task holds until within capacity (an object held by a task stays
    // even past it, since its bytes cannot be freed anyway).
    void insert(uint64_t handle, std::shared_ptr<const ObjectBytes> object);

    uint64_t bytes() const { return bytes_; }
    size_t size() const { return entries_.size(); }

private:
    struct Entry {
        uint64_t handle;
        std::shared_ptr<const ObjectBytes> object;
    };
    void evict();

    uint64_t capacity_;
    uint64_t bytes_ = 0;
    std::list<Entry> entries_;  // most recently used first
    std::unordered_map<uint64_t, std::list<Entry>::iterator> byHandle_;
};

}  // namespace scaler::worker
