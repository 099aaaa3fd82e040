#include "fuzz_message_kinds.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <capnp/message.h>

#include "scaler/protocol/message_codec.h"
#include "scaler/scheduler/config/policy_content.h"
#include "scaler/scheduler/routing/scheduler_core.h"

namespace scaler::fuzz {

namespace {

using namespace scaler::scheduler;
using W = wire::Message;

// The input as a source of choices; past its end every choice is 0, so any input is a whole conversation.
class Choices {
public:
    Choices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool empty() const { return at_ >= size_; }
    uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
    uint64_t upTo(uint64_t max) {  // 0..max, mostly small
        uint64_t value = byte();
        if (max > 255 && (value & 0x80)) value = (value << 8 | byte()) ^ (uint64_t{byte()} << 16);
        return max == UINT64_MAX ? value : value % (max + 1);
    }
    uint64_t u64() {
        uint64_t value = 0;
        for (int i = 0; i < 8; ++i) value = value << 8 | byte();
        return value;
    }
    // Edge values as often as ordinary ones: 0, 1, the maximum, around a limit.
    uint64_t interesting() {
        switch (byte() % 6) {
            case 0:
                return 0;
            case 1:
                return 1;
            case 2:
                return UINT64_MAX - upTo(2);
            case 3:
                return (uint64_t{1} << 20) + upTo(16) - 8;  // the store's limit here
            case 4:
                return upTo(4096);
            default:
                return u64();
        }
    }
    std::string text(size_t max) {
        const size_t n = upTo(max);
        std::string out;
        for (size_t i = 0; i < n && !empty(); ++i) out.push_back(static_cast<char>(byte()));
        return out;
    }
    // One of a few names most of the time, so different messages meet on the same records.
    std::string name(const std::vector<std::string>& usual, size_t max) {
        const uint8_t pick = byte();
        return pick < 224 ? usual[pick % usual.size()] : text(max);
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t at_ = 0;
};

// Remembers what the scheduler sent, so workers and adapters can answer with real handles and request ids.
class RememberingOutbox : public DiscardingOutbox {
public:
    void sendTask(PeerId, uint64_t handle, size_t) override {
        ++tasksSent;
        remember(taskHandles, handle);
    }
    void sendAdapterCommand(PeerId, uint64_t requestId, wire::WorkerAdapterCommandType, std::string_view,
                            const CapabilityList&) override {
        remember(adapterRequests, requestId);
    }
    std::vector<uint64_t> taskHandles, adapterRequests;
    uint64_t tasksSent = 0;

private:
    static void remember(std::vector<uint64_t>& list, uint64_t value) {
        if (list.size() >= 64) list.erase(list.begin());
        list.push_back(value);
    }
};

const char* const kClients[] = {"client-0", "client-1"};
const char* const kWorkers[] = {"worker-0", "worker-1"};
const char* const kAdapter = "adapter-0";
const std::vector<std::string> kFunctions{"echo", "noop", "python", "exec", ""};
const std::vector<std::string> kCapabilityNames{"gpu", "linux", "mem", "gpu=1,linux", ""};

void setCapabilities(capnp::List<wire::Capability>::Builder list, Choices& in) {
    for (unsigned i = 0; i < list.size(); ++i) {
        list[i].setName(in.name(kCapabilityNames, 200));
        list[i].setValue(static_cast<int64_t>(in.interesting()));
    }
}

uint64_t taskId(Choices& in, const RememberingOutbox& out, bool fromWorker) {
    if (fromWorker && !out.taskHandles.empty() && in.byte() < 200)
        return out.taskHandles[in.byte() % out.taskHandles.size()];
    return in.byte() < 240 ? in.upTo(32) : in.u64();
}

uint64_t objectHandle(Choices& in) {
    // handles are generation << 32 | index: small ones name real objects
    return in.byte() < 224 ? (in.upTo(3) << 32 | in.upTo(15)) : in.u64();
}

// `node`: in a graph, this node's index (its id is index + 1, and it mostly uses earlier nodes); -1 outside.
void buildTask(wire::Task::Builder task, Choices& in, int node) {
    const bool inGraph = node >= 0;
    task.setTaskId(in.byte() < 240 ? in.upTo(32) : in.u64());
    task.setFunctionName(in.byte() < 192 ? "echo" : in.name(kFunctions, 300));
    const std::string payload = in.text(64);
    task.setPayload(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
    setCapabilities(task.initCapabilities(static_cast<unsigned>(in.byte() < 192 ? 0 : in.upTo(3))), in);
    task.setTimeoutMs(in.byte() < 192 ? 0 : static_cast<uint32_t>(in.interesting()));
    task.setPriority(in.byte() < 192 ? 0 : static_cast<int32_t>(in.interesting()));
    task.setProfiling(in.byte() & 1);
    auto args = task.initArgs(static_cast<unsigned>(in.upTo(4)));
    for (unsigned i = 0; i < args.size(); ++i) {
        switch (in.byte() % (inGraph ? 3 : 2)) {
            case 0: {
                const std::string data = in.text(32);
                args[i].setData(
                    capnp::Data::Reader(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
                break;
            }
            case 1:
                args[i].setObject(in.byte() < 224 ? in.upTo(8) : in.u64());
                args[i].setObjectSize(in.interesting());
                break;
            default:
                args[i].setNode(node > 0 && in.byte() < 224 ? 1 + in.upTo(static_cast<uint64_t>(node - 1))
                                                            : in.upTo(40));
        }
    }
    if (in.byte() < 16) task.setResultObjectId(in.upTo(8));
}

void buildObjects(W::Builder m, Choices& in, bool fromWorker) {
    if (fromWorker) {
        auto request = m.initObjectRequest();
        request.setObjectId(objectHandle(in));
        request.setOffset(in.interesting());
        request.setLength(in.interesting());
        return;
    }
    switch (in.byte() % 4) {
        case 0:
        case 1: {  // puts: whole, in chunks, oversized, out of order
            auto put = m.initObjectPut();
            put.setObjectId(in.upTo(8));
            if (in.byte() & 1) put.setName(in.text(100));
            put.setTotalSize(in.interesting());
            put.setOffset(in.byte() < 200 ? in.upTo(64) : in.interesting());
            const std::string data = in.text(96);
            put.setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
            break;
        }
        case 2: {
            auto del = m.initObjectDelete();
            auto ids = del.initObjectIds(static_cast<unsigned>(in.upTo(4)));
            for (unsigned i = 0; i < ids.size(); ++i) ids.set(i, in.upTo(10));
            del.setAll(in.byte() < 32);
            break;
        }
        default: {  // a task that uses objects, so a worker may fetch them
            auto tasks = m.initTasks(1);
            buildTask(tasks[0], in, -1);
        }
    }
}

void buildGraph(W::Builder m, Choices& in) {
    if (in.byte() < 32) {
        auto cancels = m.initTaskCancels(static_cast<unsigned>(in.upTo(3) + 1));
        for (auto c : cancels) {
            c.setTaskId(in.upTo(40));
            c.setForce(in.byte() & 1);
        }
        return;
    }
    auto graph = m.initTaskGraph();
    auto nodes = graph.initNodes(static_cast<unsigned>(in.upTo(12)));
    for (unsigned i = 0; i < nodes.size(); ++i) {
        buildTask(nodes[i], in, static_cast<int>(i));
        if (in.byte() < 224) nodes[i].setTaskId(i + 1);  // mostly the ids the references use
    }
    auto outputs = graph.initOutputs(static_cast<unsigned>(in.upTo(4)));
    for (unsigned i = 0; i < outputs.size(); ++i)
        outputs.set(i, in.byte() < 224 ? 1 + in.upTo(nodes.size()) : in.upTo(40));
}

void buildTaskTraffic(W::Builder m, Choices& in, const RememberingOutbox& out, bool fromWorker) {
    if (!fromWorker) {
        if (in.byte() < 48) {
            auto cancels = m.initTaskCancels(static_cast<unsigned>(in.upTo(3) + 1));
            for (auto c : cancels) {
                c.setTaskId(taskId(in, out, false));
                c.setForce(in.byte() & 1);
            }
            return;
        }
        auto tasks = m.initTasks(static_cast<unsigned>(in.upTo(5) + 1));
        for (auto task : tasks) buildTask(task, in, -1);
        return;
    }
    switch (in.byte() % 4) {
        case 0:
        case 1: {
            auto results = m.initTaskResults(static_cast<unsigned>(in.upTo(3) + 1));
            for (auto r : results) {
                r.setTaskId(taskId(in, out, true));
                r.setStatus(static_cast<wire::TaskResultStatus>(in.upTo(5)));
                const std::string payload = in.text(64);
                r.setPayload(
                    capnp::Data::Reader(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
                r.setError(in.text(40));
                r.setDurationUs(in.interesting());
                if (in.byte() < 64) {  // a result in parts
                    r.setTotalSize(in.interesting());
                    r.setOffset(in.byte() < 128 ? 0 : in.interesting());
                }
            }
            break;
        }
        case 2: {
            auto confirms = m.initTaskCancelConfirms(static_cast<unsigned>(in.upTo(2) + 1));
            for (auto c : confirms) {
                c.setTaskId(taskId(in, out, true));
                c.setKind(static_cast<wire::CancelConfirmKind>(in.upTo(3)));
            }
            break;
        }
        default: {
            auto waiting = m.initTaskWaiting();
            waiting.setTaskId(taskId(in, out, true));
            waiting.setWaiting(in.byte() & 1);
        }
    }
}

void buildHeartbeat(W::Builder m, Choices& in, const RememberingOutbox& out, int sender) {
    const uint32_t version = in.byte() < 240 ? wire::PROTOCOL_VERSION : static_cast<uint32_t>(in.u64());
    if (sender < 2) {  // a client
        switch (in.byte() % 4) {
            case 0:
                m.initClientDisconnect().setKind(static_cast<wire::ClientDisconnectKind>(in.upTo(2)));
                return;
            default: {
                auto hb = m.initClientHeartbeat();
                hb.setProtocolVersion(version);
                hb.setLatencyUs(static_cast<uint32_t>(in.interesting()));
                hb.setSchedulerIncarnation(in.byte() < 128 ? 0 : in.interesting());
                hb.setFreshSession(in.byte() & 1);
                hb.initResource().setCpuPermille(static_cast<uint16_t>(in.interesting()));
            }
        }
        return;
    }
    if (sender < 4) {  // a worker
        if (in.byte() < 24) {
            m.initDisconnectRequest();
            return;
        }
        auto hb = m.initWorkerHeartbeat();
        hb.setProtocolVersion(version);
        hb.setQueueSize(static_cast<uint32_t>(in.upTo(64)));
        hb.setQueuedTasks(static_cast<uint32_t>(in.interesting()));
        hb.setRunningTasks(static_cast<uint32_t>(in.interesting()));
        hb.setCompletedTasks(in.interesting());
        setCapabilities(hb.initCapabilities(static_cast<unsigned>(in.upTo(4))), in);
        hb.setAdapterId(in.byte() < 128 ? "" : kAdapter);
        hb.setWorkerGroupId(in.text(20));
        hb.setHostname(in.text(40));
        hb.setObjectCacheBytes(in.interesting());
        hb.setSchedulerIncarnation(in.byte() < 128 ? 0 : in.interesting());
        hb.setFreshSession(in.byte() & 1);
        hb.setMemoryLimitBytes(in.interesting());
        auto resource = hb.initResource();
        resource.setCpuPermille(static_cast<uint16_t>(in.interesting()));
        resource.setRssBytes(in.interesting());
        return;
    }
    if (in.byte() < 96 && !out.adapterRequests.empty()) {  // an adapter answers a command
        auto response = m.initWorkerAdapterCommandResponse();
        response.setRequestId(out.adapterRequests[in.byte() % out.adapterRequests.size()]);
        response.setWorkerGroupId(in.text(16));
        response.setCommand(static_cast<wire::WorkerAdapterCommandType>(in.upTo(1)));
        response.setStatus(static_cast<wire::WorkerAdapterCommandStatus>(in.upTo(6)));
        auto ids = response.initWorkerIds(static_cast<unsigned>(in.upTo(3)));
        for (unsigned i = 0; i < ids.size(); ++i) ids.set(i, kWorkers[in.byte() & 1]);
        setCapabilities(response.initCapabilities(static_cast<unsigned>(in.upTo(2))), in);
        response.setMessage(in.text(40));
        return;
    }
    auto hb = m.initWorkerAdapterHeartbeat();
    hb.setProtocolVersion(version);
    hb.setMaxWorkerGroups(static_cast<uint32_t>(in.interesting()));
    hb.setWorkersPerGroup(static_cast<uint32_t>(in.interesting()));
    setCapabilities(hb.initCapabilities(static_cast<unsigned>(in.upTo(3))), in);
    hb.setKind(in.name({"native", "container", "ecs"}, 30));
    auto groups = hb.initGroups(static_cast<unsigned>(in.upTo(3)));
    for (unsigned i = 0; i < groups.size(); ++i) {
        groups[i].setWorkerGroupId(in.text(16));
        auto ids = groups[i].initWorkerIds(static_cast<unsigned>(in.upTo(2)));
        for (unsigned j = 0; j < ids.size(); ++j) ids.set(j, kWorkers[in.byte() & 1]);
    }
    hb.setPriority(static_cast<uint32_t>(in.interesting()));
    hb.setSchedulerIncarnation(in.byte() < 128 ? 0 : in.interesting());
    hb.setFreshSession(in.byte() & 1);
}

// What must hold after every message, whatever came: the store within its limit, every task counted once.
void checkInvariants(const SchedulerCore& core) {
    if (core.objects().chargedBytes() > core.objects().limit()) {
        std::fprintf(stderr, "object store holds %llu bytes over its limit of %llu\n",
                     static_cast<unsigned long long>(core.objects().chargedBytes()),
                     static_cast<unsigned long long>(core.objects().limit()));
        std::abort();
    }
    // the live states' counts go down as tasks leave them: a task counted out twice wraps one
    for (TaskState state :
         {TaskState::queued, TaskState::assigned, TaskState::cancelling, TaskState::balancing}) {
        if (core.counts()[state] > (uint64_t{1} << 32)) {
            std::fprintf(stderr, "the count of tasks in state %d wrapped\n", static_cast<int>(state));
            std::abort();
        }
    }
}

}  // namespace

const char* messageKindName(MessageKind kind) {
    switch (kind) {
        case MessageKind::objects:
            return "objects";
        case MessageKind::graphs:
            return "graphs";
        case MessageKind::tasks:
            return "tasks";
        case MessageKind::heartbeats:
            return "heartbeats";
    }
    return "?";
}

void runMessageKind(MessageKind kind, const uint8_t* data, size_t size, KindReach* reach) {
    SchedulerConfig config;
    config.policy = parsePolicyContent("allocate=capability; scaling=capability");
    config.maxMessageBytes = 1u << 20;
    config.objectMemoryLimit = 1u << 20;
    RememberingOutbox outbox;
    auto now = Clock::now();
    SchedulerCore core(config, outbox, now);
    FrameReader reader(config.maxMessageBytes);
    Choices in(data, size);
    const auto deliver = [&](const char* identity, capnp::MallocMessageBuilder& builder) {
        // through the wire encoding, as a socket would deliver it
        zmq::message_t frame = encodeFrame(builder);
        if (!reader.load(frame)) return;
        if (reach != nullptr) ++reach->messages;
        core.onMessage(identity, reader.root(), kEveryRole);
        core.dispatch();
        checkInvariants(core);
    };
    // everyone registered first, so most messages reach the code behind registration
    for (const char* client : kClients) {
        capnp::MallocMessageBuilder b;
        b.initRoot<W>().initClientHeartbeat().setProtocolVersion(wire::PROTOCOL_VERSION);
        deliver(client, b);
    }
    for (const char* worker : kWorkers) {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<W>().initWorkerHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setQueueSize(8);
        deliver(worker, b);
    }
    for (int step = 0; step < 256 && !in.empty(); ++step) {
        const uint8_t pick = in.byte();
        if (pick >= 240) {  // time passes: deadlines, balancing, expiry, scaling
            now += std::chrono::milliseconds(in.upTo(20'000));
            core.setNow(now);
            core.onTick();
            core.dispatch();
            checkInvariants(core);
            continue;
        }
        const int sender = pick % 5;  // clients 0-1, workers 2-3, the adapter 4
        const char* identity = sender < 2 ? kClients[sender] : sender < 4 ? kWorkers[sender - 2] : kAdapter;
        capnp::MallocMessageBuilder builder;
        W::Builder m = builder.initRoot<W>();
        switch (kind) {
            case MessageKind::objects:
                buildObjects(m, in, sender >= 2);
                break;
            case MessageKind::graphs:
                if (sender >= 2) {
                    buildTaskTraffic(m, in, outbox, true);
                } else {
                    buildGraph(m, in);
                }
                break;
            case MessageKind::tasks:
                buildTaskTraffic(m, in, outbox, sender >= 2);
                break;
            case MessageKind::heartbeats:
                buildHeartbeat(m, in, outbox, sender);
                break;
        }
        deliver(identity, builder);
    }
    if (reach != nullptr) {
        reach->tasksSucceeded += core.counts()[TaskState::succeeded];
        reach->tasksFailed += core.counts()[TaskState::failed];
        reach->tasksCancelled += core.counts()[TaskState::cancelled];
        reach->tasksRejected += core.counts()[TaskState::rejected];
        reach->tasksSentToWorkers += outbox.tasksSent;
        reach->objectsStored += core.objects().count();
    }
}

}  // namespace scaler::fuzz
