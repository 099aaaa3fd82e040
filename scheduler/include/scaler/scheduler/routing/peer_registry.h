#pragma once
// Who is connected: each routing identity's role, its slot in that role's table and the dense PeerId the
// outbox batches by. Shared by the task router (clients, workers) and the scaling controller (adapters).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scaler/scheduler/ids.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::scheduler {

enum class PeerRole : uint8_t { client, worker, adapter };

// The roles a connection may act in: every role without authentication; with CURVE, the one its key's
// allow-list grants.
using RoleSet = uint8_t;
constexpr RoleSet roleBit(PeerRole role) {
    return static_cast<RoleSet>(1u << static_cast<unsigned>(role));
}
inline constexpr RoleSet kEveryRole = 0x7;

constexpr const char* roleName(PeerRole role) {
    return role == PeerRole::client ? "client" : role == PeerRole::worker ? "worker" : "adapter";
}

// The role whose peers send `which`; nullopt for messages only the scheduler sends.
std::optional<PeerRole> senderRole(wire::Message::Which which);

class SchedulerOutbox;

class PeerRegistry {
public:
    struct Entry {
        PeerRole role;
        uint32_t slot;  // in the role's table: ClientSlot, WorkerSlot or AdapterSlot
        PeerId peer;
        std::string key;  // under CURVE, the public key that registered it: no other key may speak for it
    };

    explicit PeerRegistry(SchedulerOutbox& outbox) : outbox_(outbox) {}

    const Entry* find(std::string_view identity) const;
    // The key of an identity's first message under CURVE; later ones must match it.
    void bindKey(std::string_view identity, std::string_view key);
    // Registers a new identity (announced to the outbox) and returns its entry; the caller sets the slot.
    Entry& add(const std::string& identity, PeerRole role);
    void release(const std::string& identity);

private:
    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    SchedulerOutbox& outbox_;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> peers_;
    std::vector<PeerId> freeIds_;
    PeerId nextId_ = 0;
};

}  // namespace scaler::scheduler
