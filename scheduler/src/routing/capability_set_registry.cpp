#include "scaler/scheduler/routing/capability_set_registry.h"

#include <algorithm>

namespace scaler::scheduler {

CapabilitySetRegistry::CapabilitySetRegistry() {
    sets_.push_back({});  // id 0: the empty set, which every worker can serve
    byKey_.emplace("", 0);
}

std::optional<CapabilitySetId> CapabilitySetRegistry::intern(const CapabilityList& capabilities,
                                                             uint32_t client,
                                                             std::chrono::steady_clock::time_point now,
                                                             Refusal& refusal) {
    refusal = Refusal::none;
    if (capabilities.empty()) return 0;
    std::string key = formatCapabilities(capabilities);
    if (auto it = byKey_.find(key); it != byKey_.end()) return it->second;
    if (free_.empty() && sets_.size() >= kMaxSets) {
        refusal = Refusal::full;
        return std::nullopt;
    }
    // a new set is rare: counting the client's by a walk costs nothing on the task path
    const auto brought = std::count_if(sets_.begin(), sets_.end(), [&](const CapabilitySetEntry& e) {
        return e.live && e.creator == client;
    });
    if (client != UINT32_MAX && static_cast<size_t>(brought) >= kMaxSetsPerClient) {
        refusal = Refusal::clientFull;
        return std::nullopt;
    }
    CapabilitySetId id;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
        sets_[id] = CapabilitySetEntry{};
    } else {
        id = static_cast<CapabilitySetId>(sets_.size());
        sets_.emplace_back();
    }
    CapabilitySetEntry& entry = sets_[id];
    entry.capabilities = capabilities;
    entry.creator = client;
    entry.lastUsed = now;
    byKey_.emplace(std::move(key), id);
    return id;
}

std::vector<CapabilitySetId> CapabilitySetRegistry::releaseIdle(
    std::chrono::steady_clock::time_point idleBefore, const std::vector<uint8_t>& referenced) {
    std::vector<CapabilitySetId> released;
    for (CapabilitySetId id = 1; id < sets_.size(); ++id) {
        CapabilitySetEntry& entry = sets_[id];
        if (!entry.live || entry.liveTasks > 0 || !entry.queue.empty() || entry.lastUsed >= idleBefore)
            continue;
        if (id < referenced.size() && referenced[id]) continue;
        byKey_.erase(formatCapabilities(entry.capabilities));
        entry = CapabilitySetEntry{};
        entry.live = false;
        free_.push_back(id);
        released.push_back(id);
    }
    return released;
}

void CapabilitySetRegistry::forgetClient(uint32_t client) {
    for (CapabilitySetEntry& entry : sets_) {
        if (entry.creator == client) entry.creator = UINT32_MAX;
    }
}

}  // namespace scaler::scheduler
