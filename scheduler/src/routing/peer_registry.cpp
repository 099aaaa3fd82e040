#include "scaler/scheduler/routing/peer_registry.h"

#include "scaler/scheduler/routing/scheduler_outbox.h"

namespace scaler::scheduler {

std::optional<PeerRole> senderRole(wire::Message::Which which) {
    using W = wire::Message;
    switch (which) {
        case W::CLIENT_HEARTBEAT:
        case W::TASKS:
        case W::TASK_CANCELS:
        case W::CLIENT_DISCONNECT:
        case W::OBJECT_PUT:
        case W::OBJECT_DELETE:
        case W::TASK_GRAPH:
            return PeerRole::client;
        case W::WORKER_HEARTBEAT:
        case W::TASK_RESULTS:
        case W::TASK_CANCEL_CONFIRMS:
        case W::DISCONNECT_REQUEST:
        case W::OBJECT_REQUEST:
        case W::TASK_WAITING:
            return PeerRole::worker;
        case W::WORKER_ADAPTER_HEARTBEAT:
        case W::WORKER_ADAPTER_COMMAND_RESPONSE:
            return PeerRole::adapter;
        default:
            return std::nullopt;
    }
}

const PeerRegistry::Entry* PeerRegistry::find(std::string_view identity) const {
    auto it = peers_.find(identity);
    return it == peers_.end() ? nullptr : &it->second;
}

void PeerRegistry::bindKey(std::string_view identity, std::string_view key) {
    auto it = peers_.find(identity);
    if (it != peers_.end() && it->second.key.empty()) it->second.key = std::string(key);
}

PeerRegistry::Entry& PeerRegistry::add(const std::string& identity, PeerRole role) {
    PeerId id;
    if (!freeIds_.empty()) {
        id = freeIds_.back();
        freeIds_.pop_back();
    } else {
        id = nextId_++;
    }
    Entry& entry = peers_.emplace(identity, Entry{role, kNone, id, {}}).first->second;
    outbox_.peerRegistered(id, identity);
    return entry;
}

void PeerRegistry::release(const std::string& identity) {
    auto it = peers_.find(identity);
    if (it == peers_.end()) return;
    outbox_.peerReleased(it->second.peer);
    freeIds_.push_back(it->second.peer);
    peers_.erase(it);
}

}  // namespace scaler::scheduler
