#pragma once
// Adapter heartbeats and command responses as the scheduler receives them, for the scheduler core's and the
// scaling controller's tests.

#include <string>
#include <vector>

#include <capnp/message.h>

#include "scaler/protocol/capabilities.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::testing {

struct InventoryGroup {
    std::string id;
    wire::WorkerGroupState state;
    std::string capabilities;
    std::vector<std::string> workers;
    std::string message = {};  // failed: why
};

inline void buildAdapterHeartbeat(capnp::MessageBuilder& b, uint32_t maxGroups, const std::string& caps,
                                  const std::vector<InventoryGroup>& groups) {
    auto hb = b.initRoot<wire::Message>().initWorkerAdapterHeartbeat();
    hb.setProtocolVersion(wire::PROTOCOL_VERSION);
    hb.setMaxWorkerGroups(maxGroups);
    hb.setWorkersPerGroup(1);
    hb.setKind("native");
    const auto list = parseCapabilities(caps);
    capabilitiesToWire(list, hb.initCapabilities(static_cast<unsigned>(list.size())));
    auto inventory = hb.initGroups(static_cast<unsigned>(groups.size()));
    for (unsigned i = 0; i < groups.size(); ++i) {
        inventory[i].setWorkerGroupId(groups[i].id);
        inventory[i].setState(groups[i].state);
        const auto gc = parseCapabilities(groups[i].capabilities);
        capabilitiesToWire(gc, inventory[i].initCapabilities(static_cast<unsigned>(gc.size())));
        auto ids = inventory[i].initWorkerIds(static_cast<unsigned>(groups[i].workers.size()));
        for (unsigned w = 0; w < groups[i].workers.size(); ++w) ids.set(w, groups[i].workers[w]);
        inventory[i].setMessage(groups[i].message);
    }
}

inline void buildStartResponse(capnp::MessageBuilder& b, uint64_t requestId, const std::string& groupId,
                               const std::string& worker, const std::string& caps,
                               wire::WorkerAdapterCommandStatus status) {
    auto r = b.initRoot<wire::Message>().initWorkerAdapterCommandResponse();
    r.setRequestId(requestId);
    r.setCommand(wire::WorkerAdapterCommandType::START_WORKER_GROUP);
    r.setStatus(status);
    r.setWorkerGroupId(groupId);
    r.initWorkerIds(1).set(0, worker);
    const auto list = parseCapabilities(caps);
    capabilitiesToWire(list, r.initCapabilities(static_cast<unsigned>(list.size())));
}

}  // namespace scaler::testing
