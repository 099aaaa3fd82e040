#include "scaler/adapters/worker_group_table.h"

#include <algorithm>

namespace scaler::adapters {

WorkerGroupRecord& WorkerGroupTable::add(const std::string& groupId, WorkerGroupRecord record) {
    return groups_.insert_or_assign(groupId, std::move(record)).first->second;
}

WorkerGroupRecord* WorkerGroupTable::find(const std::string& groupId) {
    const auto it = groups_.find(groupId);
    return it == groups_.end() ? nullptr : &it->second;
}

const WorkerGroupRecord* WorkerGroupTable::find(const std::string& groupId) const {
    const auto it = groups_.find(groupId);
    return it == groups_.end() ? nullptr : &it->second;
}

const std::string* WorkerGroupTable::groupOfHandle(const std::string& handle) const {
    for (const auto& [id, group] : groups_) {
        if (group.handle == handle) return &id;
    }
    return nullptr;
}

bool WorkerGroupTable::markStopping(const std::string& groupId, AdapterTimePoint now,
                                    std::optional<std::chrono::duration<double>> grace) {
    WorkerGroupRecord* group = find(groupId);
    if (group == nullptr || group->state == wire::WorkerGroupState::STOPPING) return false;
    group->state = wire::WorkerGroupState::STOPPING;
    if (grace) group->killAt = now + std::chrono::duration_cast<AdapterClock::duration>(*grace);
    return true;
}

void WorkerGroupTable::markFailed(const std::string& groupId, std::string why, AdapterTimePoint forgetAt) {
    WorkerGroupRecord* group = find(groupId);
    if (group == nullptr) return;
    group->state = wire::WorkerGroupState::FAILED;
    group->failure = std::move(why);
    group->forgetAt = forgetAt;
    group->killAt.reset();
}

void WorkerGroupTable::forgetFailed(AdapterTimePoint now) {
    std::erase_if(groups_, [&](const auto& entry) {
        return entry.second.state == wire::WorkerGroupState::FAILED && now >= entry.second.forgetAt;
    });
}

std::vector<std::string> WorkerGroupTable::dueForKill(AdapterTimePoint now) {
    std::vector<std::string> due;
    for (auto& [id, group] : groups_) {
        if (group.state == wire::WorkerGroupState::STOPPING && group.killAt && now >= *group.killAt) {
            group.killAt.reset();
            due.push_back(id);
        }
    }
    return due;
}

bool WorkerGroupTable::isNewerThan(const std::string& groupId, AdapterTimePoint now,
                                   AdapterClock::duration window) const {
    const WorkerGroupRecord* group = find(groupId);
    return group != nullptr && now - group->startedAt < window;
}

std::vector<GroupInventoryEntry> WorkerGroupTable::inventory() const {
    std::vector<GroupInventoryEntry> out;
    out.reserve(groups_.size());
    for (const auto& [id, group] : groups_) {
        out.push_back({id, group.state, group.capabilities, group.workerIds, group.failure});
    }
    return out;
}

size_t WorkerGroupTable::active() const {
    size_t n = 0;
    for (const auto& [id, group] : groups_) {
        n += group.state != wire::WorkerGroupState::STOPPING && group.state != wire::WorkerGroupState::FAILED;
    }
    return n;
}

std::string joinWorkerIds(const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
    return out;
}

std::vector<std::string> splitWorkerIds(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

std::vector<std::string> groupWorkerIds(const std::string& kindTag, const std::string& groupId,
                                        uint32_t workers) {
    std::vector<std::string> ids;
    ids.reserve(workers);
    for (uint32_t i = 0; i < workers; ++i)
        ids.push_back("Worker|" + kindTag + "|" + groupId + "|" + std::to_string(i));
    return ids;
}

}  // namespace scaler::adapters
