#pragma once
// The dense ids the scheduler's layers share: peers (connections), slots in the per-role tables, tasks,
// capability sets.

#include <cstdint>

namespace scaler::scheduler {

using TaskIndex = uint32_t;
using PeerId = uint32_t;
using WorkerSlot = uint32_t;
using ClientSlot = uint32_t;
using AdapterSlot = uint32_t;
using CapabilitySetId = uint32_t;
inline constexpr uint32_t kNone = 0xffffffffu;

}  // namespace scaler::scheduler
