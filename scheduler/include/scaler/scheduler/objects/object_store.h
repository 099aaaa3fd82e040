#pragma once
// Shared objects held by the scheduler: clients' objects (sendObject), results kept in the cluster, and
// graph results big enough that dependents fetch them. Pure state: fed chunks and references by
// SchedulerCore, read by the outbox when a worker asks for bytes. docs/architecture.md#objects says why
// objects live here and how long.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scaler/scheduler/ids.h"

namespace scaler::scheduler {

// Handles carry a generation in the high half, like task handles: a stale one never names a reused slot.
using ObjectHandle = uint64_t;

class ObjectStore {
public:
    using Clock = std::chrono::steady_clock;
    // What one object costs beyond its bytes and name (its record, index entry and allocation), charged
    // against the limit: 200,000 empty objects are not free.
    static constexpr uint64_t kObjectOverheadBytes = 128;
    static constexpr size_t kMaxNameBytes = 1024;

    explicit ObjectStore(uint64_t memoryLimitBytes) : limit_(memoryLimitBytes) {}
    ObjectStore(const ObjectStore&) = delete;
    ObjectStore& operator=(const ObjectStore&) = delete;

    struct PutOutcome {
        uint64_t receivedBytes = 0;
        bool complete = false;
        std::string error;  // non-empty: refused; nothing of the object is kept
    };
    // One chunk of a client's object, in order; offset 0 creates it (refused past the memory limit, for a
    // name over kMaxNameBytes, or when the memory cannot be had). `now` marks the upload as alive.
    PutOutcome put(ClientSlot owner, uint64_t clientObjectId, std::string_view name, uint64_t totalSize,
                   uint64_t offset, std::string_view data, Clock::time_point now = {});
    // Drops uploads that received no chunk for `idle` (a client that abandoned one would hold its memory for
    // as long as it stays connected); returns how many.
    size_t expireStalledUploads(Clock::time_point now, Clock::duration idle);
    // Stores whole bytes in one step: a kept result (clientObjectId != 0, owned like a sent object) or an
    // unnamed graph result (clientObjectId == 0, freed with its last reference). Kept results may pass the
    // limit: refusing would lose finished work; the overshoot is logged by the caller.
    ObjectHandle store(ClientSlot owner, uint64_t clientObjectId, std::string_view name,
                       std::string_view bytes);

    // A complete object of this client, or nullopt (unknown, deleted or still arriving).
    std::optional<ObjectHandle> find(ClientSlot owner, uint64_t clientObjectId) const;
    // Tasks (and graph nodes) hold references: an object deleted by its client stays until the last is
    // released.
    void acquire(ObjectHandle handle);
    void release(ObjectHandle handle);
    // The client deletes: false if it had no such object.
    bool remove(ClientSlot owner, uint64_t clientObjectId);
    // Every object of a client that left or cleared; returns how many.
    size_t removeClient(ClientSlot owner);

    struct Slice {
        std::string_view bytes;
        uint64_t totalSize = 0;
    };
    // Bytes of a complete live object, or nullopt.
    std::optional<Slice> read(ObjectHandle handle, uint64_t offset, uint64_t length) const;
    std::optional<uint64_t> sizeOf(ObjectHandle handle) const;

    size_t count() const { return count_; }
    uint64_t bytes() const { return bytes_; }
    // bytes() plus names and kObjectOverheadBytes per object: what the limit is checked against.
    uint64_t chargedBytes() const { return charged_; }
    uint64_t limit() const { return limit_; }

private:
    struct Object {
        uint32_t generation = 0;
        bool live = false;
        bool named = false;  // the client still has it (not deleted); unnamed objects live on references
        ClientSlot owner = kNone;
        uint64_t clientObjectId = 0;
        std::string name;
        std::unique_ptr<char[]> data;  // one allocation of the full size: large ones are mmapped, so freeing
                                       // returns the memory to the system
        uint64_t size = 0;
        uint64_t received = 0;
        uint32_t references = 0;
        Clock::time_point lastChunkAt{};
    };
    uint64_t costOf(uint64_t size, size_t nameBytes) const { return size + nameBytes + kObjectOverheadBytes; }
    // charged_ + cost <= limit_, without wrapping for a size near 2^64
    bool fits(uint64_t size, size_t nameBytes) const;

    uint32_t allocate();
    Object* live(ObjectHandle handle);
    const Object* live(ObjectHandle handle) const;
    void freeIfUnused(uint32_t index);
    ObjectHandle handleOf(uint32_t index) const {
        return (static_cast<uint64_t>(objects_[index].generation) << 32) | index;
    }

    uint64_t limit_;
    uint64_t bytes_ = 0;
    uint64_t charged_ = 0;
    size_t uploading_ = 0;  // objects still arriving: expireStalledUploads has nothing to walk when 0
    size_t count_ = 0;
    std::vector<Object> objects_;
    std::vector<uint32_t> free_;
    std::unordered_map<ClientKey, uint32_t, ClientKeyHash> byClient_;
};

// "1.5 GiB": sizes in logs and errors.
std::string formatBytes(uint64_t bytes);

}  // namespace scaler::scheduler
