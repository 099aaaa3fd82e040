#include "scaler/scheduler/routing/capability_set_registry.h"

namespace scaler::scheduler {

CapabilitySetRegistry::CapabilitySetRegistry() {
    sets_.push_back({});  // id 0: the empty set, which every worker can serve
    byKey_.emplace("", 0);
}

std::optional<CapabilitySetId> CapabilitySetRegistry::intern(const CapabilityList& capabilities) {
    if (capabilities.empty()) return 0;
    std::string key = formatCapabilities(capabilities);
    if (auto it = byKey_.find(key); it != byKey_.end()) return it->second;
    if (sets_.size() >= kMaxSets) return std::nullopt;
    const auto id = static_cast<CapabilitySetId>(sets_.size());
    sets_.emplace_back().capabilities = capabilities;
    byKey_.emplace(std::move(key), id);
    return id;
}

}  // namespace scaler::scheduler
