#include "cluster_simulation.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <stdexcept>

#include <capnp/message.h>

#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/config/policy_content.h"
#include "scaler/scheduler/routing/scheduler_core.h"
#include "scaler/scheduler/scaling/scaling_policy.h"

namespace scaler::sim {
namespace {

using namespace scaler::scheduler;

constexpr double kHeartbeatSeconds = 1;
constexpr double kTickSeconds = 0.25;
constexpr uint32_t kWorkerQueueSize = 2;  // workers hold few tasks, so waits are measured at the scheduler

struct SimWorker {
    std::string adapter, group;
    bool gpu = false;
    bool alive = true;
    bool busy = false;
    std::deque<uint64_t> queue;  // task handles
};

struct SimGroup {
    std::vector<std::string> workers;
    double commandedAt = 0;
    bool ready = false;
};

struct SimAdapter {
    std::string id;
    bool gpu = false;
    uint32_t maxGroups = 0, workersPerGroup = 1;
    std::map<std::string, SimGroup> groups;
};

class Simulation;

// Passes on what the simulation reacts to: tasks to workers, results, adapter commands.
class SimOutbox final : public DiscardingOutbox {
public:
    explicit SimOutbox(Simulation& sim) : sim_(sim) {}
    void peerRegistered(PeerId peer, const std::string& identity) override { peers_[peer] = identity; }
    void sendTask(PeerId worker, uint64_t handle, size_t bytes) override;
    void sendTaskResult(PeerId, uint64_t, wire::TaskResultStatus, std::string_view, std::string_view,
                        const TaskTimings&) override;
    void sendAdapterCommand(PeerId adapter, uint64_t requestId, wire::WorkerAdapterCommandType command,
                            std::string_view groupId, const CapabilityList& capabilities) override;
    void sendProtocolError(std::string_view identity, wire::ProtocolErrorCode,
                           std::string_view message) override {
        throw std::logic_error("simulation sent a bad message from " + std::string(identity) + ": " +
                               std::string(message));
    }

private:
    Simulation& sim_;
    std::map<PeerId, std::string> peers_;
};

class Simulation {
public:
    Simulation(const Workload& workload, const SimSettings& settings)
        : workload_(workload), settings_(settings), outbox_(*this) {
        config_.policyContentText = settings.policyContent;
        config_.policy = parsePolicyContent(settings.policyContent);
        config_.loadBalanceSeconds = 0;  // tasks wait at the scheduler until a worker has room
        config_.scalingIntervalSeconds = 1;
        core_ = std::make_unique<SchedulerCore>(config_, outbox_, base_);
        adapters_.push_back({"cpu", false, settings.cpuGroups, settings.cpuWorkersPerGroup, {}});
        adapters_.push_back({"gpu", true, settings.gpuGroups, 1, {}});
        waits_.reserve(workload.tasks.size());
        started_.assign(workload.tasks.size(), false);
    }

    SimResult run() {
        at(0, [this] { heartbeats(); });
        at(0, [this] { tick(); });
        for (size_t i = 0; i < workload_.tasks.size(); ++i) {
            at(workload_.tasks[i].arrival, [this, i] { submit(i); });
        }
        const double lastArrival = workload_.tasks.empty() ? 0 : workload_.tasks.back().arrival;
        while (!events_.empty()) {
            const Event event = events_.top();
            events_.pop();
            now_ = event.time;
            if (completed_ == workload_.tasks.size() &&
                (liveGroups() == 0 || now_ > lastCompletion_ + settings_.tailSeconds))
                break;
            if (now_ > lastArrival + 3600) break;  // a policy that never serves some task
            core_->setNow(timeAt(now_));
            event.action();
            core_->dispatch();
        }
        for (auto& adapter : adapters_) {
            for (auto& [id, group] : adapter.groups) bill(adapter, now_ - group.commandedAt);
        }
        result_.completed = completed_;
        result_.makespanSeconds =
            workload_.tasks.empty() ? 0 : lastCompletion_ - workload_.tasks.front().arrival;
        std::sort(waits_.begin(), waits_.end());
        const auto percentile = [&](double p) {
            return waits_.empty()
                       ? 0
                       : waits_[std::min(waits_.size() - 1, static_cast<size_t>(p * waits_.size()))];
        };
        result_.waitP50 = percentile(0.5);
        result_.waitP95 = percentile(0.95);
        return result_;
    }

    // from the outbox
    void taskSent(const std::string& workerId, uint64_t handle) {
        at(now_, [this, workerId, handle] {
            auto it = workers_.find(workerId);
            if (it == workers_.end() || !it->second.alive) return;
            it->second.queue.push_back(handle);
            startNext(workerId);
        });
    }
    void taskFinished() {
        ++completed_;
        lastCompletion_ = now_;
    }
    void adapterCommand(const std::string& adapterId, uint64_t requestId,
                        wire::WorkerAdapterCommandType command, std::string groupId) {
        if (settings_.trace) {
            std::printf("@%.2f s %s %s %s\n", now_,
                        command == wire::WorkerAdapterCommandType::START_WORKER_GROUP ? "start" : "stop",
                        adapterId.c_str(), groupId.c_str());
        }
        at(now_ + 0.01, [=, this] {
            SimAdapter& adapter =
                *std::find_if(adapters_.begin(), adapters_.end(), [&](auto& a) { return a.id == adapterId; });
            if (command == wire::WorkerAdapterCommandType::START_WORKER_GROUP) {
                start(adapter, requestId);
            } else {
                stop(adapter, requestId, groupId);
            }
        });
    }

private:
    struct Event {
        double time;
        uint64_t sequence;
        std::function<void()> action;
        bool operator>(const Event& other) const {
            return time != other.time ? time > other.time : sequence > other.sequence;
        }
    };

    TimePoint timeAt(double seconds) const {
        return base_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    }
    void at(double time, std::function<void()> action) {
        events_.push({time, sequence_++, std::move(action)});
    }
    void deliver(const std::string& from, capnp::MallocMessageBuilder& builder) {
        core_->onMessage(from, builder.getRoot<wire::Message>().asReader());
    }
    size_t liveGroups() const {
        size_t n = 0;
        for (const auto& a : adapters_) n += a.groups.size();
        return n;
    }

    void submit(size_t index) {
        capnp::MallocMessageBuilder b;
        auto task = b.initRoot<wire::Message>().initTasks(1)[0];
        task.setTaskId(index);
        task.setFunctionName("sleep");
        task.setPayload(asData(std::to_string(index)));
        if (workload_.tasks[index].gpu) {
            const auto caps = parseCapabilities("gpu");
            capabilitiesToWire(caps, task.initCapabilities(1));
        }
        deliver("client", b);
    }

    void startNext(const std::string& workerId) {
        SimWorker& worker = workers_.at(workerId);
        if (worker.busy || worker.queue.empty() || !worker.alive) return;
        const uint64_t handle = worker.queue.front();
        worker.queue.pop_front();
        const TaskRecord* record = core_->tasks().find(handle);
        if (record == nullptr) return startNext(workerId);
        const size_t index = std::stoul(std::string(record->payload()));
        if (!started_[index]) {
            started_[index] = true;
            waits_.push_back(now_ - workload_.tasks[index].arrival);
        }
        worker.busy = true;
        const double duration = workload_.tasks[index].duration;
        at(now_ + duration, [this, workerId, handle, duration] {
            SimWorker& w = workers_.at(workerId);
            w.busy = false;
            if (!w.alive) return;
            capnp::MallocMessageBuilder b;
            auto result = b.initRoot<wire::Message>().initTaskResults(1)[0];
            result.setTaskId(handle);
            result.setStatus(wire::TaskResultStatus::SUCCESS);
            result.setDurationUs(static_cast<uint64_t>(duration * 1e6));
            deliver(workerId, b);
            startNext(workerId);
        });
    }

    void workerHeartbeat(const std::string& id, const SimWorker& worker) {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setQueueSize(kWorkerQueueSize);
        hb.setAdapterId(worker.adapter);
        hb.setWorkerGroupId(worker.group);
        if (worker.gpu) capabilitiesToWire(parseCapabilities("gpu"), hb.initCapabilities(1));
        deliver(id, b);
    }

    void adapterHeartbeat(const SimAdapter& adapter) {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerAdapterHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setMaxWorkerGroups(adapter.maxGroups);
        hb.setWorkersPerGroup(adapter.workersPerGroup);
        hb.setKind("simulated");
        if (adapter.gpu) capabilitiesToWire(parseCapabilities("gpu"), hb.initCapabilities(1));
        auto groups = hb.initGroups(static_cast<unsigned>(adapter.groups.size()));
        unsigned i = 0;
        for (const auto& [id, group] : adapter.groups) {
            auto g = groups[i++];
            g.setWorkerGroupId(id);
            g.setState(group.ready ? wire::WorkerGroupState::RUNNING : wire::WorkerGroupState::STARTING);
            if (adapter.gpu) capabilitiesToWire(parseCapabilities("gpu"), g.initCapabilities(1));
            auto ids = g.initWorkerIds(static_cast<unsigned>(group.workers.size()));
            for (unsigned w = 0; w < group.workers.size(); ++w) ids.set(w, group.workers[w]);
        }
        deliver(adapter.id, b);
    }

    void heartbeats() {
        capnp::MallocMessageBuilder b;
        b.initRoot<wire::Message>().initClientHeartbeat().setProtocolVersion(wire::PROTOCOL_VERSION);
        deliver("client", b);
        for (const auto& adapter : adapters_) adapterHeartbeat(adapter);
        for (const auto& [id, worker] : workers_) {
            if (worker.alive) workerHeartbeat(id, worker);
        }
        at(now_ + kHeartbeatSeconds, [this] { heartbeats(); });
    }

    void tick() {
        core_->onTick();
        at(now_ + kTickSeconds, [this] { tick(); });
    }

    void start(SimAdapter& adapter, uint64_t requestId) {
        const std::string groupId = adapter.id + "-g" + std::to_string(nextGroup_++);
        SimGroup group;
        group.commandedAt = now_ - 0.01;
        for (uint32_t w = 0; w < adapter.workersPerGroup; ++w)
            group.workers.push_back(groupId + "-w" + std::to_string(w));
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<wire::Message>().initWorkerAdapterCommandResponse();
        r.setRequestId(requestId);
        r.setCommand(wire::WorkerAdapterCommandType::START_WORKER_GROUP);
        r.setStatus(wire::WorkerAdapterCommandStatus::SUCCESS);
        r.setWorkerGroupId(groupId);
        auto ids = r.initWorkerIds(static_cast<unsigned>(group.workers.size()));
        for (unsigned w = 0; w < group.workers.size(); ++w) ids.set(w, group.workers[w]);
        if (adapter.gpu) capabilitiesToWire(parseCapabilities("gpu"), r.initCapabilities(1));
        adapter.groups[groupId] = group;
        ++result_.starts;
        deliver(adapter.id, b);
        const std::string adapterId = adapter.id;
        at(now_ + settings_.startupSeconds, [this, adapterId, groupId] {
            auto& a =
                *std::find_if(adapters_.begin(), adapters_.end(), [&](auto& x) { return x.id == adapterId; });
            auto it = a.groups.find(groupId);
            if (it == a.groups.end()) return;  // stopped while booting
            it->second.ready = true;
            for (const auto& id : it->second.workers) {
                workers_[id] = SimWorker{a.id, groupId, a.gpu, true, false, {}};
                workerHeartbeat(id, workers_[id]);
            }
        });
    }

    // A group's run ended (stopped, or still up at the end): what it costs.
    void bill(const SimAdapter& adapter, double seconds) {
        const BillingModel& model = adapter.gpu ? settings_.gpuBilling : settings_.cpuBilling;
        result_.groupSeconds += seconds;
        result_.billedSeconds += model.billedSeconds(seconds);
        result_.cost += model.cost(seconds);
    }

    void stop(SimAdapter& adapter, uint64_t requestId, const std::string& groupId) {
        auto it = adapter.groups.find(groupId);
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<wire::Message>().initWorkerAdapterCommandResponse();
        r.setRequestId(requestId);
        r.setCommand(wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP);
        r.setWorkerGroupId(groupId);
        if (it == adapter.groups.end()) {
            r.setStatus(wire::WorkerAdapterCommandStatus::WORKER_GROUP_ID_NOT_FOUND);
            deliver(adapter.id, b);
            return;
        }
        for (const auto& id : it->second.workers) {
            auto w = workers_.find(id);
            if (w == workers_.end()) continue;
            capnp::MallocMessageBuilder d;
            d.initRoot<wire::Message>().initDisconnectRequest();
            deliver(id, d);
            w->second.alive = false;
        }
        bill(adapter, now_ - it->second.commandedAt);
        ++result_.stops;
        adapter.groups.erase(it);
        r.setStatus(wire::WorkerAdapterCommandStatus::SUCCESS);
        deliver(adapter.id, b);
    }

    const Workload& workload_;
    const SimSettings& settings_;
    SchedulerConfig config_;
    SimOutbox outbox_;
    TimePoint base_ = Clock::time_point{} + std::chrono::hours(1);
    std::unique_ptr<SchedulerCore> core_;
    std::vector<SimAdapter> adapters_;
    std::map<std::string, SimWorker> workers_;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
    uint64_t sequence_ = 0;
    double now_ = 0;
    uint64_t completed_ = 0;
    double lastCompletion_ = 0;
    uint64_t nextGroup_ = 0;
    std::vector<double> waits_;
    std::vector<bool> started_;
    SimResult result_;
};

void SimOutbox::sendTask(PeerId worker, uint64_t handle, size_t) {
    sim_.taskSent(peers_.at(worker), handle);
}
void SimOutbox::sendTaskResult(PeerId, uint64_t, wire::TaskResultStatus, std::string_view, std::string_view,
                               const TaskTimings&) {
    sim_.taskFinished();
}
void SimOutbox::sendAdapterCommand(PeerId adapter, uint64_t requestId, wire::WorkerAdapterCommandType command,
                                   std::string_view groupId, const CapabilityList&) {
    sim_.adapterCommand(peers_.at(adapter), requestId, command, std::string(groupId));
}

}  // namespace

SimResult simulate(const Workload& workload, const SimSettings& settings) {
    return Simulation(workload, settings).run();
}

std::string policyContentError(const std::string& policyContent) {
    try {
        // the checks the scheduler makes of its --policy-content at start
        const PolicyContent content = parsePolicyContent(policyContent);
        makeScalingPolicy(content.scaling, content.parameters);
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

SimIdeal idealOf(const Workload& workload, const SimSettings& settings) {
    SimIdeal ideal;
    if (workload.tasks.empty()) return ideal;
    double cpuWork = 0, gpuWork = 0, longest = 0;
    for (const SimTask& task : workload.tasks) {
        (task.gpu ? gpuWork : cpuWork) += task.duration;
        longest = std::max(longest, task.duration);
    }
    const double cpuRoom = static_cast<double>(settings.cpuGroups * settings.cpuWorkersPerGroup);
    const double gpuRoom = static_cast<double>(settings.gpuGroups);
    const SimTask& last = workload.tasks.back();
    const double span = last.arrival - workload.tasks.front().arrival;
    ideal.makespanSeconds =
        std::max({settings.startupSeconds + longest,
                  settings.startupSeconds + (cpuWork + gpuWork) / (cpuRoom + gpuRoom),
                  gpuWork > 0 ? settings.startupSeconds + gpuWork / gpuRoom : 0.0, span + last.duration});
    ideal.groupSeconds = cpuWork / settings.cpuWorkersPerGroup + gpuWork +
                         settings.startupSeconds * ((cpuWork > 0 ? 1 : 0) + (gpuWork > 0 ? 1 : 0));
    return ideal;
}

}  // namespace scaler::sim
