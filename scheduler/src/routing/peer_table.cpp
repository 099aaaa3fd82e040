#include "scaler/scheduler/routing/peer_table.h"

#include "scaler/common/log.h"
#include "scaler/common/printable.h"
#include "scaler/scheduler/objects/object_store.h"  // formatBytes
#include "scaler/scheduler/routing/scheduler_outbox.h"
#include "scaler/scheduler/slot_allocation.h"

namespace scaler::scheduler {

PeerTable::PeerTable(SchedulerOutbox& outbox, PeerRefusalLog& refusals, uint64_t incarnation)
    : outbox_(outbox), refusals_(refusals), incarnation_(incarnation), registry_(outbox) {}

bool PeerTable::checkVersion(std::string_view identity, uint32_t version) {
    if (version == wire::PROTOCOL_VERSION) return true;
    const std::string text = "protocol version " + std::to_string(version) +
                             " is not supported; this scheduler speaks " +
                             std::to_string(wire::PROTOCOL_VERSION);
    outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::VERSION_MISMATCH, text);
    refusals_.drop(identity, text);
    return false;
}

bool PeerTable::claimsThisState(std::string_view identity, PeerRole role, uint64_t claimedIncarnation,
                                bool fresh, PeerTime now) {
    if (claimedIncarnation == 0 || (fresh && claimedIncarnation == incarnation_)) return true;
    // What this peer sent before went to a scheduler, or a session, that is gone. Registering it now would
    // let the messages still queued behind this heartbeat (results of old tasks, tasks this scheduler never
    // saw whole) be taken as new; it registers with a fresh session once it has dropped them or before it
    // resends them, and whatever precedes that heartbeat is refused as unregistered.
    const bool forgotten = claimedIncarnation == incarnation_;
    const std::string why = forgotten ? "this scheduler timed you out and forgot what you sent"
                                      : "the scheduler restarted: nothing sent to the earlier one survives";
    outbox_.sendStateLost(identity, claimedIncarnation, why + "; register again with a fresh session");
    ++stateLostAnswers_;
    // once per peer and 10 s: after a partition heals, every heartbeat it buffered arrives at once
    if (const auto heldBack = stateLostLog_.admit(std::string(identity), now)) {
        log::transport().info(
            "{} '{}' knew {} (incarnation {:016x}): told to drop or resend its work and register again ({} "
            "such answers to it not logged)",
            roleName(role), printable(identity),
            forgotten ? "this scheduler before it timed it out" : "an earlier scheduler", claimedIncarnation,
            *heldBack);
    }
    return false;
}

std::optional<PeerTable::Admission> PeerTable::admit(std::string_view identity, PeerRole role,
                                                     uint32_t protocolVersion, uint64_t claimedIncarnation,
                                                     bool fresh, PeerTime now) {
    if (const PeerRegistry::Entry* peer = registry_.find(identity)) {
        if (peer->role == role) return Admission{peer->slot, false, nullptr};
        outbox_.sendProtocolError(identity, wire::ProtocolErrorCode::ROLE_MISMATCH,
                                  "this identity is registered with another role");
        refusals_.drop(identity, "heartbeat from an identity registered with another role");
        return std::nullopt;
    }
    if (!checkVersion(identity, protocolVersion)) return std::nullopt;
    if (!claimsThisState(identity, role, claimedIncarnation, fresh, now)) return std::nullopt;
    PeerRegistry::Entry& entry = registry_.add(std::string(identity), role);
    const auto take = [&](auto& records, std::vector<uint32_t>& freeSlots, size_t& count) {
        const uint32_t slot = takeSlot(records, freeSlots);
        records[slot].identity = std::string(identity);
        records[slot].live = true;
        records[slot].peer = entry.peer;
        ++count;
        return slot;
    };
    if (role == PeerRole::client) entry.slot = take(clients_, freeClientSlots_, clientCount_);
    if (role == PeerRole::worker) entry.slot = take(workers_, freeWorkerSlots_, workerCount_);
    return Admission{entry.slot, true, &entry};
}

void PeerTable::removeClient(ClientSlot slot) {
    registry_.release(clients_[slot].identity);
    clients_[slot] = ClientRecord{};
    freeClientSlots_.push_back(slot);
    --clientCount_;
}

void PeerTable::removeWorker(WorkerSlot slot) {
    registry_.release(workers_[slot].identity);
    workers_[slot] = WorkerRecord{};
    freeWorkerSlots_.push_back(slot);
    --workerCount_;
}

namespace {
template <typename Record>
std::vector<uint32_t> silentIn(const std::vector<Record>& records, PeerTime now,
                               std::chrono::steady_clock::duration timeout) {
    std::vector<uint32_t> silent;
    for (uint32_t slot = 0; slot < records.size(); ++slot) {
        if (records[slot].live && now - records[slot].lastSeen > timeout) silent.push_back(slot);
    }
    return silent;
}
}  // namespace

std::vector<ClientSlot> PeerTable::silentClients(PeerTime now,
                                                 std::chrono::steady_clock::duration timeout) const {
    return silentIn(clients_, now, timeout);
}

std::vector<WorkerSlot> PeerTable::silentWorkers(PeerTime now,
                                                 std::chrono::steady_clock::duration timeout) const {
    return silentIn(workers_, now, timeout);
}

bool PeerTable::noteWorkerMemory(WorkerRecord& worker, uint64_t limit) {
    worker.memoryLimit = limit;
    if (limit == 0) return false;
    const double used = static_cast<double>(worker.resource.rssBytes) / static_cast<double>(limit);
    // hysteresis: a worker hovering at the edge is not switched on and off every heartbeat
    const bool full = worker.memoryFull ? used >= 0.8 : used >= 0.9;
    if (full == worker.memoryFull) return false;
    worker.memoryFull = full;
    if (full) {
        log::tasks().warn(
            "worker '{}' is near its memory limit ({} of {}): no new tasks until it is under 80%",
            printable(worker.identity), formatBytes(worker.resource.rssBytes), formatBytes(limit));
        return false;
    }
    log::tasks().info("worker '{}' is back under 80% of its memory limit ({} of {}): it takes tasks again",
                      printable(worker.identity), formatBytes(worker.resource.rssBytes), formatBytes(limit));
    return true;
}

}  // namespace scaler::scheduler
