#include "scaler/scheduler/objects/object_store.h"

#include <cstdio>
#include <cstring>
#include <new>

namespace scaler::scheduler {

std::string formatBytes(uint64_t bytes) {
    static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[48];
    if (unit == 0) {
        std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
    } else {
        std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    }
    return text;
}

uint32_t ObjectStore::allocate() {
    uint32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else {
        index = static_cast<uint32_t>(objects_.size());
        objects_.emplace_back();
    }
    Object& object = objects_[index];
    ++object.generation;
    object.live = true;
    ++count_;
    return index;
}

ObjectStore::Object* ObjectStore::live(ObjectHandle handle) {
    const auto index = static_cast<uint32_t>(handle & 0xffffffffu);
    if (index >= objects_.size()) return nullptr;
    Object& object = objects_[index];
    if (!object.live || object.generation != static_cast<uint32_t>(handle >> 32)) return nullptr;
    return &object;
}

const ObjectStore::Object* ObjectStore::live(ObjectHandle handle) const {
    return const_cast<ObjectStore*>(this)->live(handle);
}

bool ObjectStore::fits(uint64_t size, size_t nameBytes) const {
    const uint64_t extra = nameBytes + kObjectOverheadBytes;
    if (size > limit_ || extra > limit_ - size) return false;
    const uint64_t cost = size + extra;
    return charged_ <= limit_ - cost;
}

ObjectStore::PutOutcome ObjectStore::put(ClientSlot owner, uint64_t clientObjectId, std::string_view name,
                                         uint64_t totalSize, uint64_t offset, std::string_view data,
                                         Clock::time_point now) {
    PutOutcome outcome;
    const ClientKey key{owner, clientObjectId};
    auto found = byClient_.find(key);
    if (offset == 0) {
        if (found != byClient_.end()) {
            outcome.error =
                "object id " + std::to_string(clientObjectId) + " is already in use by this client";
            return outcome;
        }
        if (name.size() > kMaxNameBytes) {
            outcome.error = "object name of " + std::to_string(name.size()) + " bytes; at most " +
                            std::to_string(kMaxNameBytes);
            return outcome;
        }
        if (!fits(totalSize, name.size())) {
            outcome.error = "the object store is full: object '" + std::string(name) + "' of " +
                            formatBytes(totalSize) + " would take it past its limit of " +
                            formatBytes(limit_) + " (" + formatBytes(bytes_) +
                            " in use); delete objects or raise " + "--object-memory-limit";
            return outcome;
        }
        std::unique_ptr<char[]> buffer(new (std::nothrow) char[totalSize > 0 ? totalSize : 1]);
        if (!buffer) {
            outcome.error = "the scheduler could not allocate " + formatBytes(totalSize) + " for object '" +
                            std::string(name) + "'";
            return outcome;
        }
        const uint32_t index = allocate();
        Object& object = objects_[index];
        object.named = true;
        object.owner = owner;
        object.clientObjectId = clientObjectId;
        object.name = std::string(name);
        object.data = std::move(buffer);
        object.size = totalSize;
        object.received = 0;
        object.references = 0;
        bytes_ += totalSize;
        charged_ += costOf(totalSize, object.name.size());
        if (totalSize > 0) ++uploading_;
        found = byClient_.emplace(key, index).first;
    } else if (found == byClient_.end()) {
        outcome.error = "chunk at offset " + std::to_string(offset) + " of unknown object " +
                        std::to_string(clientObjectId);
        return outcome;
    }
    const uint32_t index = found->second;
    Object& object = objects_[index];
    if (offset != object.received || object.received + data.size() > object.size ||
        totalSize != object.size) {
        outcome.error = "chunk of object " + std::to_string(clientObjectId) + " out of order (offset " +
                        std::to_string(offset) + ", expected " + std::to_string(object.received) + ")";
        byClient_.erase(found);
        object.named = false;
        freeIfUnused(index);
        return outcome;
    }
    if (!data.empty()) std::memcpy(object.data.get() + offset, data.data(), data.size());
    object.received += data.size();
    object.lastChunkAt = now;
    outcome.receivedBytes = object.received;
    outcome.complete = object.received == object.size;
    if (outcome.complete && !data.empty()) --uploading_;
    return outcome;
}

ObjectHandle ObjectStore::store(ClientSlot owner, uint64_t clientObjectId, std::string_view name,
                                std::string_view bytes) {
    if (clientObjectId != 0) remove(owner, clientObjectId);  // a resubmitted task's result replaces it
    const uint32_t index = allocate();
    Object& object = objects_[index];
    object.named = clientObjectId != 0;
    object.owner = owner;
    object.clientObjectId = clientObjectId;
    object.name = std::string(name);
    object.data.reset(new char[bytes.empty() ? 1 : bytes.size()]);
    if (!bytes.empty()) std::memcpy(object.data.get(), bytes.data(), bytes.size());
    object.size = object.received = bytes.size();
    object.references = 0;
    bytes_ += bytes.size();
    charged_ += costOf(bytes.size(), object.name.size());
    if (object.named) byClient_[ClientKey{owner, clientObjectId}] = index;
    return handleOf(index);
}

std::optional<ObjectHandle> ObjectStore::find(ClientSlot owner, uint64_t clientObjectId) const {
    auto found = byClient_.find(ClientKey{owner, clientObjectId});
    if (found == byClient_.end()) return std::nullopt;
    const Object& object = objects_[found->second];
    if (object.received != object.size) return std::nullopt;
    return handleOf(found->second);
}

void ObjectStore::acquire(ObjectHandle handle) {
    if (Object* object = live(handle)) ++object->references;
}

void ObjectStore::release(ObjectHandle handle) {
    Object* object = live(handle);
    if (object == nullptr || object->references == 0) return;
    --object->references;
    freeIfUnused(static_cast<uint32_t>(handle & 0xffffffffu));
}

bool ObjectStore::remove(ClientSlot owner, uint64_t clientObjectId) {
    auto found = byClient_.find(ClientKey{owner, clientObjectId});
    if (found == byClient_.end()) return false;
    const uint32_t index = found->second;
    byClient_.erase(found);
    objects_[index].named = false;
    freeIfUnused(index);
    return true;
}

size_t ObjectStore::removeClient(ClientSlot owner) {
    std::vector<uint64_t> ids;
    for (const auto& [key, index] : byClient_) {
        if (key.client == owner) ids.push_back(key.id);
    }
    for (uint64_t id : ids) remove(owner, id);
    return ids.size();
}

void ObjectStore::freeIfUnused(uint32_t index) {
    Object& object = objects_[index];
    if (object.named || object.references > 0) return;
    bytes_ -= object.size;
    charged_ -= costOf(object.size, object.name.size());
    if (object.received != object.size) --uploading_;
    object.data.reset();
    object.name.clear();
    object.name.shrink_to_fit();
    object.live = false;
    object.size = object.received = 0;
    --count_;
    free_.push_back(index);
}

size_t ObjectStore::expireStalledUploads(Clock::time_point now, Clock::duration idle) {
    if (uploading_ == 0) return 0;
    std::vector<ClientKey> stalled;
    for (const auto& [key, index] : byClient_) {
        const Object& object = objects_[index];
        if (object.received != object.size && now - object.lastChunkAt > idle) stalled.push_back(key);
    }
    for (const ClientKey& key : stalled) remove(key.client, key.id);
    return stalled.size();
}

std::optional<ObjectStore::Slice> ObjectStore::read(ObjectHandle handle, uint64_t offset,
                                                    uint64_t length) const {
    const Object* object = live(handle);
    if (object == nullptr || object->received != object->size || offset > object->size) return std::nullopt;
    const uint64_t n = std::min(length, object->size - offset);
    return Slice{std::string_view(object->data.get() + offset, n), object->size};
}

std::optional<uint64_t> ObjectStore::sizeOf(ObjectHandle handle) const {
    const Object* object = live(handle);
    if (object == nullptr) return std::nullopt;
    return object->size;
}

}  // namespace scaler::scheduler
