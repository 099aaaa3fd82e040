#pragma once
// The router's peers: each client's and worker's record in a table of reusable slots, admission of a
// heartbeating peer (protocol version, role, the scheduler incarnation it claims), the silence that times
// one out, and a worker's memory against its limit. Fed the time; answers refusals through the outbox.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scaler/common/log_throttle.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/scheduler/routing/peer_refusal_log.h"
#include "scaler/scheduler/routing/peer_registry.h"
#include "scaler/scheduler/routing/task_table.h"

namespace scaler::scheduler {

using PeerTime = std::chrono::steady_clock::time_point;

// A configured number of seconds (a timeout, a period) as the router's clock counts them.
inline std::chrono::steady_clock::duration secondsToDuration(double seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
}

struct ClientRecord {
    PeerId peer = kNone;
    std::string identity;
    TaskList tasks;
    PeerTime lastSeen{};
    bool live = false;
};

struct WorkerRecord {
    PeerId peer = kNone;
    std::string identity;
    CapabilityList capabilities;
    uint32_t queueSize = 1;
    TaskList assigned;     // oldest first; the oldest is taken to be running
    uint32_t waiting = 0;  // running tasks waiting for tasks they submitted: each lends its slot
    PeerTime lastSeen{};
    uint64_t lastAssignSequence = 0;  // ties between equally loaded workers go to the least recently used
    bool acceptingTasks = true;
    uint64_t memoryLimit = 0;  // from its heartbeat; 0: unknown
    bool memoryFull = false;   // resident memory reached 90% of the limit and has not yet fallen under 80%
    bool live = false;
    // from the latest heartbeat
    uint32_t reportedQueued = 0;
    uint32_t reportedRunning = 0;
    uint64_t reportedCompleted = 0;
    ResourceSample resource;
    std::string adapterId;
    std::string workerGroupId;
    uint32_t pid = 0;
    std::string hostname;
    uint64_t objectsFetched = 0;
    uint64_t objectBytesFetched = 0;
    uint64_t objectCacheBytes = 0;
    uint64_t grantedObject =
        0;  // the object it last fetched for a task it holds: its next chunk is checked fast

    // Given new tasks, by dispatch or balancing, and counted as supply by scaling: not draining, and not
    // near its memory limit.
    bool takesNewTasks() const { return acceptingTasks && !memoryFull; }
};

class PeerTable {
public:
    // `incarnation`: this scheduler's, which a heartbeat must claim (with a fresh session) or not claim at
    // all.
    PeerTable(SchedulerOutbox& outbox, PeerRefusalLog& refusals, uint64_t incarnation);

    struct Admission {
        uint32_t slot;  // in clients(), workers() or, for an adapter, the slot the caller gives it
        bool isNew;
        PeerRegistry::Entry* entry;  // a new peer's; nullptr for one already known
    };
    // A heartbeating peer of `role`: its record, registered now if new (a new adapter's slot is the caller's
    // to set with setAdapterSlot). nullopt, answered and dropped, for a wrong version, an identity registered
    // with another role, or a heartbeat naming a scheduler state this one does not hold (ProtocolError
    // stateLost).
    std::optional<Admission> admit(std::string_view identity, PeerRole role, uint32_t protocolVersion,
                                   uint64_t claimedIncarnation, bool fresh, PeerTime now);
    static void setAdapterSlot(Admission& admission, uint32_t slot) {
        admission.slot = admission.entry->slot = slot;
    }

    const PeerRegistry::Entry* find(std::string_view identity) const { return registry_.find(identity); }
    void bindKey(std::string_view identity, std::string_view key) { registry_.bindKey(identity, key); }
    // An adapter's entry, when the scaling controller forgets it.
    void releaseAdapter(const std::string& identity) { registry_.release(identity); }
    // Frees the record's slot and identity; its tasks must be gone.
    void removeClient(ClientSlot slot);
    void removeWorker(WorkerSlot slot);

    // Slots of departed peers stay in the tables with live == false.
    std::vector<ClientRecord>& clients() { return clients_; }
    std::vector<WorkerRecord>& workers() { return workers_; }
    const std::vector<ClientRecord>& clients() const { return clients_; }
    const std::vector<WorkerRecord>& workers() const { return workers_; }
    size_t clientCount() const { return clientCount_; }
    size_t workerCount() const { return workerCount_; }
    uint64_t stateLostAnswers() const { return stateLostAnswers_; }

    // Live peers not heard from for longer than `timeout`.
    std::vector<ClientSlot> silentClients(PeerTime now, std::chrono::steady_clock::duration timeout) const;
    std::vector<WorkerSlot> silentWorkers(PeerTime now, std::chrono::steady_clock::duration timeout) const;

    // Notes the worker's memory against its limit: near it (90%, until under 80%) it gets no new tasks and
    // counts as no supply for scaling. True when it takes tasks again.
    static bool noteWorkerMemory(WorkerRecord& worker, uint64_t limit);

private:
    bool checkVersion(std::string_view identity, uint32_t version);
    // True when the claimed incarnation lets the peer register now; otherwise answered with stateLost.
    bool claimsThisState(std::string_view identity, PeerRole role, uint64_t claimedIncarnation, bool fresh,
                         PeerTime now);

    SchedulerOutbox& outbox_;
    PeerRefusalLog& refusals_;
    uint64_t incarnation_;
    PeerRegistry registry_;
    std::vector<ClientRecord> clients_;
    std::vector<WorkerRecord> workers_;
    std::vector<ClientSlot> freeClientSlots_;
    std::vector<WorkerSlot> freeWorkerSlots_;
    size_t clientCount_ = 0;
    size_t workerCount_ = 0;
    LogThrottle stateLostLog_{std::chrono::seconds(10), 1};
    uint64_t stateLostAnswers_ = 0;  // heartbeats that named a scheduler state this one does not hold
};

}  // namespace scaler::scheduler
