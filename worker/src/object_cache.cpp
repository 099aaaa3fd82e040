#include "scaler/worker/object_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <mutex>

namespace scaler::worker {
namespace {

// Shared objects by address, so a Python task's argument (a string_view) finds its memfd.
std::mutex sharedMutex;
std::map<const char*, const ObjectBytes*> sharedByAddress;

}  // namespace

ObjectBytes::ObjectBytes(uint64_t size) : size(size) {
    if (size >= kSharedFromBytes) {
        const int fd = memfd_create("scaler-object", MFD_CLOEXEC);
        if (fd >= 0 && ftruncate(fd, static_cast<off_t>(size)) == 0) {
            void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (mapped != MAP_FAILED) {
                fd_ = fd;
                data_ = static_cast<char*>(mapped);
                std::lock_guard lock(sharedMutex);
                sharedByAddress[data_] = this;
                return;
            }
        }
        if (fd >= 0) ::close(fd);  // out of descriptors or memory maps: the heap still works
    }
    data_ = new char[size > 0 ? size : 1];
}

ObjectBytes::~ObjectBytes() {
    if (fd_ < 0) {
        delete[] data_;
        return;
    }
    {
        std::lock_guard lock(sharedMutex);
        sharedByAddress.erase(data_);
    }
    munmap(data_, size);
    ::close(fd_);
}

int sharedFdOf(const char* data, uint64_t length, uint64_t& offset) {
    std::lock_guard lock(sharedMutex);
    auto it = sharedByAddress.upper_bound(data);
    if (it == sharedByAddress.begin()) return -1;
    --it;
    const ObjectBytes& object = *it->second;
    if (data < object.data() || data + length > object.data() + object.size) return -1;
    offset = static_cast<uint64_t>(data - object.data());
    return object.sharedFd();
}

std::shared_ptr<const ObjectBytes> ObjectCache::find(uint64_t handle) {
    const auto found = byHandle_.find(handle);
    if (found == byHandle_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, found->second);
    return found->second->object;
}

void ObjectCache::insert(uint64_t handle, std::shared_ptr<const ObjectBytes> object) {
    if (byHandle_.count(handle) != 0) return;
    bytes_ += object->size;
    entries_.push_front({handle, std::move(object)});
    byHandle_[handle] = entries_.begin();
    evict();
}

void ObjectCache::evict() {
    for (auto it = entries_.end(); bytes_ > capacity_ && it != entries_.begin();) {
        --it;
        if (it->object.use_count() > 1) continue;  // a task holds it
        bytes_ -= it->object->size;
        byHandle_.erase(it->handle);
        it = entries_.erase(it);
    }
}

}  // namespace scaler::worker
