#include "scaler/worker/object_cache.h"

namespace scaler::worker {

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
