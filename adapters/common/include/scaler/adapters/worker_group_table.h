#pragma once
// The bookkeeping every adapter kind repeats: which groups it runs, with what capabilities and workers,
// which are stopping, when a stop that has not finished is escalated to a kill, and the inventory the
// heartbeat carries. Time is passed in; the table never reads a clock.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scaler/adapters/worker_group_provider.h"

namespace scaler::adapters {

struct WorkerGroupRecord {
    std::string handle;     // what the engine calls it: a container id, an ECS task ARN, a Pod name
    std::string handleUid;  // where names are reused: the engine's unique id of this one (a Pod's uid)
    CapabilityList capabilities;
    std::vector<std::string> workerIds;
    wire::WorkerGroupState state = wire::WorkerGroupState::RUNNING;
    std::string engineStatus;                // the engine's last word on it (an ECS lastStatus, a Pod phase)
    AdapterTimePoint startedAt{};            // when this adapter started or adopted it
    std::optional<AdapterTimePoint> killAt;  // a stop not finished by then is escalated, once
    std::string failure;                     // FAILED: why, for the scheduler
    AdapterTimePoint forgetAt{};             // FAILED: reported until then

    static WorkerGroupRecord started(std::string handle, CapabilityList capabilities,
                                     std::vector<std::string> workerIds, AdapterTimePoint now) {
        WorkerGroupRecord r;
        r.handle = std::move(handle);
        r.capabilities = std::move(capabilities);
        r.workerIds = std::move(workerIds);
        r.startedAt = now;
        return r;
    }
};

class WorkerGroupTable {
public:
    using Groups = std::map<std::string, WorkerGroupRecord>;

    WorkerGroupRecord& add(const std::string& groupId, WorkerGroupRecord record);
    WorkerGroupRecord* find(const std::string& groupId);
    const WorkerGroupRecord* find(const std::string& groupId) const;
    bool contains(const std::string& groupId) const { return groups_.count(groupId) != 0; }
    // The group whose engine handle this is, or nullptr.
    const std::string* groupOfHandle(const std::string& handle) const;

    // Marks it stopping; with `grace`, a stop still running at now + grace is due for a kill (see
    // dueForKill). false when it was stopping already (the engine was asked before).
    bool markStopping(const std::string& groupId, AdapterTimePoint now,
                      std::optional<std::chrono::duration<double>> grace);
    // Its start failed after it was answered (the engine gave up on it): FAILED with `why` in the inventory,
    // so the scheduler counts a failed start and tells the clients waiting for it.
    void markFailed(const std::string& groupId, std::string why, AdapterTimePoint forgetAt);
    // Removes the failed groups reported long enough.
    void forgetFailed(AdapterTimePoint now);
    // Stopping groups whose kill time has come; each is returned once.
    std::vector<std::string> dueForKill(AdapterTimePoint now);
    // Not stopping, not started within `window` of now: for engines that see a new group only after a while.
    bool isNewerThan(const std::string& groupId, AdapterTimePoint now, AdapterClock::duration window) const;

    void remove(const std::string& groupId) { groups_.erase(groupId); }
    Groups::iterator erase(Groups::iterator it) { return groups_.erase(it); }
    void clear() { groups_.clear(); }

    std::vector<GroupInventoryEntry> inventory() const;
    // Groups that count against the adapter's capacity: the ones neither stopping nor failed.
    size_t active() const;
    size_t size() const { return groups_.size(); }
    bool empty() const { return groups_.empty(); }
    Groups::iterator begin() { return groups_.begin(); }
    Groups::iterator end() { return groups_.end(); }
    Groups::const_iterator begin() const { return groups_.begin(); }
    Groups::const_iterator end() const { return groups_.end(); }

private:
    Groups groups_;
};

// Worker ids as a label or annotation carries them: comma-separated.
std::string joinWorkerIds(const std::vector<std::string>& ids);
std::vector<std::string> splitWorkerIds(const std::string& text);

// Worker ids as every kind names them: Worker|<KIND>|<group>|<n>.
std::vector<std::string> groupWorkerIds(const std::string& kindTag, const std::string& groupId,
                                        uint32_t workers);

}  // namespace scaler::adapters
