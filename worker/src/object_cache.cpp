#include "scaler/worker/object_cache.h"

#include <sys/mman.h>
#include <unistd.h>

namespace scaler::worker {

ObjectBytes::ObjectBytes(uint64_t bytes) : size(bytes) {
    if (size >= kSharedFromBytes) {
        const int fd = memfd_create("scaler-object", MFD_CLOEXEC);
        if (fd >= 0 && ftruncate(fd, static_cast<off_t>(size)) == 0) {
            void* mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (mapped != MAP_FAILED) {
                fd_ = fd;
                data_ = static_cast<char*>(mapped);
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
    munmap(data_, size);
    ::close(fd_);
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
