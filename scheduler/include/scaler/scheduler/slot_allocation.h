#pragma once
// Record tables with reusable slots (clients, workers, adapters): indexes stay stable while peers come and
// go.

#include <cstdint>
#include <vector>

namespace scaler::scheduler {

template <typename Record>
uint32_t takeSlot(std::vector<Record>& records, std::vector<uint32_t>& freeSlots) {
    uint32_t slot;
    if (!freeSlots.empty()) {
        slot = freeSlots.back();
        freeSlots.pop_back();
    } else {
        slot = static_cast<uint32_t>(records.size());
        records.emplace_back();
    }
    records[slot] = Record{};
    return slot;
}

}  // namespace scaler::scheduler
