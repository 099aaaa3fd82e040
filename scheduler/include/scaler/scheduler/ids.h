#pragma once
// The dense ids the scheduler's layers share: peers (connections), slots in the per-role tables, tasks,
// capability sets.

#include <cstddef>
#include <cstdint>
#include <functional>

namespace scaler::scheduler {

using TaskIndex = uint32_t;
using PeerId = uint32_t;
using WorkerSlot = uint32_t;
using ClientSlot = uint32_t;
using AdapterSlot = uint32_t;
using CapabilitySetId = uint32_t;
inline constexpr uint32_t kNone = 0xffffffffu;

// A client's own id for something (an object, a graph key): unique per client, so keyed with the client.
struct ClientKey {
    ClientSlot client;
    uint64_t id;
    bool operator==(const ClientKey&) const = default;
};
struct ClientKeyHash {
    size_t operator()(const ClientKey& k) const { return std::hash<uint64_t>()(k.id * 31 + k.client); }
};

}  // namespace scaler::scheduler
