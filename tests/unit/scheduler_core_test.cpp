// SchedulerCore without sockets: messages in, recorded sends out, time injected.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include <capnp/message.h>
#include <spdlog/sinks/ostream_sink.h>

#include "adapter_messages.h"
#include "scaler/common/log.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/monitoring/metrics_exposition.h"
#include "scaler/scheduler/monitoring/monitor_snapshot_writer.h"
#include "scaler/scheduler/routing/scheduler_core.h"

using namespace scaler;
using namespace scaler::scheduler;
using namespace std::chrono_literals;

namespace {

struct SentTask {
    std::string worker;
    uint64_t handle;
};
struct SentResult {
    std::string client;
    uint64_t taskId;
    wire::TaskResultStatus status;
    std::string payload;
    std::string error;
    TaskTimings timings;
};
struct SentCancel {
    std::string worker;
    uint64_t handle;
    bool force;
};
struct SentConfirm {
    std::string client;
    uint64_t taskId;
    wire::CancelConfirmKind kind;
};

class RecordingOutbox : public SchedulerOutbox {
public:
    std::map<PeerId, std::string> peers;
    std::vector<SentTask> tasks;
    std::vector<SentResult> results;
    std::vector<SentCancel> cancels;
    std::vector<SentConfirm> confirms;
    std::vector<std::pair<std::string, wire::ProtocolErrorCode>> errors;
    std::vector<std::string> shutdowns;
    std::vector<bool> shutdownResponses;
    int echoes = 0;
    ClientShare lastShare;

    void peerRegistered(PeerId peer, const std::string& identity) override { peers[peer] = identity; }
    void peerReleased(PeerId peer) override { peers.erase(peer); }
    void sendTask(PeerId worker, uint64_t handle, size_t) override {
        tasks.push_back({peers.at(worker), handle});
    }
    void sendTaskCancel(PeerId worker, uint64_t handle, bool force) override {
        cancels.push_back({peers.at(worker), handle, force});
    }
    void sendWorkerHeartbeatEcho(PeerId) override { ++echoes; }
    void sendDisconnectResponse(PeerId) override {}
    void sendSchedulerShutdown(PeerId worker) override { shutdowns.push_back(peers.at(worker)); }
    std::vector<std::pair<std::string, std::string>> stopping;
    void sendSchedulerStopping(PeerId peer, std::string_view why) override {
        stopping.emplace_back(peers.at(peer), std::string(why));
    }
    void sendTaskResult(PeerId client, uint64_t id, wire::TaskResultStatus status, std::string_view payload,
                        std::string_view error, const TaskTimings& timings) override {
        results.push_back({peers.at(client), id, status, std::string(payload), std::string(error), timings});
    }
    void sendTaskCancelConfirm(PeerId client, uint64_t id, wire::CancelConfirmKind kind) override {
        confirms.push_back({peers.at(client), id, kind});
    }
    void sendClientHeartbeatEcho(PeerId, const ClientShare& share) override {
        ++echoes;
        lastShare = share;
    }
    struct SentAck {
        std::string client;
        uint64_t objectId;
        uint64_t received;
        std::string error;
    };
    std::vector<SentAck> acks;
    void sendObjectPutAck(PeerId client, uint64_t id, uint64_t received, std::string_view error) override {
        acks.push_back({peers.at(client), id, received, std::string(error)});
    }
    struct SentChunk {
        std::string worker;
        uint64_t handle, totalSize, offset;
        std::string bytes, error;
    };
    std::vector<SentChunk> chunks;
    void sendObjectChunk(PeerId worker, uint64_t handle, uint64_t total, uint64_t offset,
                         std::string_view bytes, std::string_view error) override {
        chunks.push_back({peers.at(worker), handle, total, offset, std::string(bytes), std::string(error)});
    }
    void sendClientShutdownResponse(PeerId, bool accepted) override { shutdownResponses.push_back(accepted); }
    struct AdapterCommand {
        std::string adapter;
        uint64_t requestId;
        wire::WorkerAdapterCommandType command;
        std::string groupId;
        std::string capabilities;
    };
    std::vector<AdapterCommand> adapterCommands;
    void sendAdapterHeartbeatEcho(PeerId) override { ++echoes; }
    void sendAdapterCommand(PeerId adapter, uint64_t requestId, wire::WorkerAdapterCommandType command,
                            std::string_view groupId, const CapabilityList& caps) override {
        adapterCommands.push_back(
            {peers.at(adapter), requestId, command, std::string(groupId), formatCapabilities(caps)});
    }
    void sendProtocolError(std::string_view identity, wire::ProtocolErrorCode code,
                           std::string_view) override {
        errors.emplace_back(std::string(identity), code);
    }
};

class SchedulerCoreTest : public ::testing::Test {
protected:
    RoleSet rolesOfNextSender = kEveryRole;  // what CURVE authentication granted the sender's connection
    std::string keyOfNextSender;             // and the CURVE key it authenticated with ("": no CURVE)
    void SetUp() override { make("allocate=capability; scaling=no"); }

    void make(const std::string& policy, int maxRetries = 3) {
        config.policyContentText = policy;
        config.policy = parsePolicyContent(policy);
        config.maxTaskRetries = maxRetries;
        config.workerTimeoutSeconds = 10;
        config.clientTimeoutSeconds = 10;
        core = std::make_unique<SchedulerCore>(config, outbox, now);
    }

    void deliver(const std::string& from, capnp::MallocMessageBuilder& builder) {
        core->setNow(now);
        core->onMessage(from, builder.getRoot<wire::Message>().asReader(), rolesOfNextSender,
                        keyOfNextSender);
        core->dispatch();
    }

    void clientHeartbeat(const std::string& client, uint32_t version = wire::PROTOCOL_VERSION) {
        capnp::MallocMessageBuilder b;
        b.initRoot<wire::Message>().initClientHeartbeat().setProtocolVersion(version);
        deliver(client, b);
    }

    void workerHeartbeat(const std::string& worker, const std::string& caps = "", uint32_t queueSize = 10) {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setQueueSize(queueSize);
        const auto list = parseCapabilities(caps);
        capabilitiesToWire(list, hb.initCapabilities(static_cast<unsigned>(list.size())));
        deliver(worker, b);
    }

    // A worker heartbeat with its resident memory and memory limit.
    void memoryHeartbeat(const std::string& worker, uint64_t rss, uint64_t limit, uint32_t queueSize = 10) {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setQueueSize(queueSize);
        hb.initResource().setRssBytes(rss);
        hb.setMemoryLimitBytes(limit);
        deliver(worker, b);
    }
    void submit(const std::string& client, uint64_t id, const std::string& payload = "p",
                const std::string& caps = "", int32_t priority = 0) {
        capnp::MallocMessageBuilder b;
        auto task = b.initRoot<wire::Message>().initTasks(1)[0];
        task.setTaskId(id);
        task.setPriority(priority);
        task.setFunctionName("echo");
        task.setPayload(asData(payload));
        const auto list = parseCapabilities(caps);
        capabilitiesToWire(list, task.initCapabilities(static_cast<unsigned>(list.size())));
        deliver(client, b);
    }

    // A "concat" task whose one argument is the client's object `objectId`.
    void submitWithObject(const std::string& client, uint64_t id, uint64_t objectId) {
        capnp::MallocMessageBuilder b;
        auto task = b.initRoot<wire::Message>().initTasks(1)[0];
        task.setTaskId(id);
        task.setFunctionName("concat");
        task.initArgs(1)[0].setObject(objectId);
        deliver(client, b);
    }

    void result(const std::string& worker, uint64_t handle, const std::string& payload,
                wire::TaskResultStatus status = wire::TaskResultStatus::SUCCESS) {
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<wire::Message>().initTaskResults(1)[0];
        r.setTaskId(handle);
        r.setStatus(status);
        r.setPayload(asData(payload));
        deliver(worker, b);
    }

    void clientCancel(const std::string& client, uint64_t id) {
        capnp::MallocMessageBuilder b;
        auto c = b.initRoot<wire::Message>().initTaskCancels(1)[0];
        c.setTaskId(id);
        c.setForce(true);
        deliver(client, b);
    }

    void confirm(const std::string& worker, uint64_t handle, wire::CancelConfirmKind kind) {
        capnp::MallocMessageBuilder b;
        auto c = b.initRoot<wire::Message>().initTaskCancelConfirms(1)[0];
        c.setTaskId(handle);
        c.setKind(kind);
        deliver(worker, b);
    }

    void clientDisconnect(const std::string& client, wire::ClientDisconnectKind kind) {
        capnp::MallocMessageBuilder b;
        b.initRoot<wire::Message>().initClientDisconnect().setKind(kind);
        deliver(client, b);
    }

    void tick(std::chrono::milliseconds advance) {
        now += advance;
        core->setNow(now);
        core->onTick();
        core->dispatch();
    }

    SchedulerConfig config;
    RecordingOutbox outbox;
    TimePoint now = TimePoint{} + 1000s;
    std::unique_ptr<SchedulerCore> core;
};

}  // namespace

TEST_F(SchedulerCoreTest, TaskFlowsToAWorkerAndTheResultBackToItsClient) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 42, "hello");
    ASSERT_EQ(outbox.tasks.size(), 1u);
    EXPECT_EQ(outbox.tasks[0].worker, "W1");
    const TaskRecord* record = core->tasks().find(outbox.tasks[0].handle);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->payload(), "hello");
    EXPECT_EQ(record->functionName(), "echo");
    result("W1", outbox.tasks[0].handle, "hello");
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].client, "C1");
    EXPECT_EQ(outbox.results[0].taskId, 42u);
    EXPECT_EQ(outbox.results[0].payload, "hello");
    EXPECT_EQ(core->counts()[TaskState::succeeded], 1u);
    EXPECT_EQ(core->tasks().liveCount(), 0u);
}

TEST_F(SchedulerCoreTest, TasksSpreadEvenlyAndRespectQueueSize) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 3);
    workerHeartbeat("W2", "", 3);
    for (uint64_t i = 1; i <= 8; ++i) submit("C1", i);
    ASSERT_EQ(outbox.tasks.size(), 6u);  // 2 workers x queue size 3
    int w1 = 0;
    for (const auto& t : outbox.tasks) w1 += t.worker == "W1";
    EXPECT_EQ(w1, 3);
    EXPECT_EQ(core->queuedTasks(), 2u);
    result("W2", outbox.tasks[1].handle, "x");  // a slot frees: the oldest queued task takes it
    ASSERT_EQ(outbox.tasks.size(), 7u);
    EXPECT_EQ(outbox.tasks.back().worker, "W2");
    EXPECT_EQ(core->tasks().find(outbox.tasks.back().handle)->clientTaskId, 7u);
}

// Once a capability set's tasks are known to be short, a burst goes out in chunks of about 1 ms of work, to
// fewer workers in larger frames; tasks known to be long are still spread one by one.
// Chunking, priority order and balancing plans are tested on the Dispatcher alone (dispatcher_test.cpp).

TEST_F(SchedulerCoreTest, CapabilityTaskWaitsForACapableWorkerWithoutBlockingOthers) {
    clientHeartbeat("C1");
    workerHeartbeat("CPU");
    submit("C1", 1, "g", "gpu");
    submit("C1", 2, "c");
    ASSERT_EQ(outbox.tasks.size(), 1u);  // the gpu task does not block the plain one (reference §12.7)
    EXPECT_EQ(core->tasks().find(outbox.tasks[0].handle)->clientTaskId, 2u);
    EXPECT_EQ(core->queuedTasks(), 1u);
    EXPECT_TRUE(outbox.results.empty());  // stays queued, not failed
    workerHeartbeat("GPU", "gpu=1,linux");
    ASSERT_EQ(outbox.tasks.size(), 2u);
    EXPECT_EQ(outbox.tasks[1].worker, "GPU");
}

// Reference §12.11: "gpu=2" meant "has gpu". Here a quantity asks for at least that much where the worker
// gives one; a bare name on either side matches any quantity.
TEST_F(SchedulerCoreTest, ATaskAskingForAQuantityRunsOnlyWhereThereIsThatMuch) {
    clientHeartbeat("C1");
    workerHeartbeat("ONE", "gpu=1");
    submit("C1", 1, "two", "gpu=2");
    submit("C1", 2, "one", "gpu=1");
    ASSERT_EQ(outbox.tasks.size(), 1u);
    EXPECT_EQ(core->tasks().find(outbox.tasks[0].handle)->clientTaskId, 2u) << "gpu=1 fits the gpu=1 worker";
    EXPECT_EQ(core->queuedTasks(), 1u) << "gpu=2 waits: one is not enough";
    workerHeartbeat("FOUR", "gpu=4");
    ASSERT_EQ(outbox.tasks.size(), 2u);
    EXPECT_EQ(outbox.tasks[1].worker, "FOUR");
    submit("C1", 3, "bare", "gpu");  // no quantity asked: any gpu worker
    submit("C1", 4, "eight", "gpu=8");
    ASSERT_EQ(outbox.tasks.size(), 3u);
    workerHeartbeat("SOME", "gpu");  // no quantity given: the reference's meaning, any amount
    ASSERT_EQ(outbox.tasks.size(), 4u);
    EXPECT_EQ(outbox.tasks[3].worker, "SOME");
    EXPECT_EQ(core->tasks().find(outbox.tasks[3].handle)->clientTaskId, 4u);
}

TEST_F(SchedulerCoreTest, EvenLoadNeverRunsATaskWhereItsCapabilityIsMissing) {
    make("allocate=even_load; scaling=no");
    clientHeartbeat("C1");
    workerHeartbeat("CPU");
    submit("C1", 1, "g", "gpu");
    EXPECT_TRUE(outbox.tasks.empty());  // it waited on the CPU worker before
    submit("C1", 2, "plain");
    workerHeartbeat("GPU", "gpu");
    ASSERT_EQ(outbox.tasks.size(), 2u);
    for (const auto& sent : outbox.tasks) {
        const uint64_t id = core->tasks().find(sent.handle)->clientTaskId;
        if (id == 1) {
            EXPECT_EQ(sent.worker, "GPU");
        }
    }
}

TEST_F(SchedulerCoreTest, WorkerTimeoutRequeuesItsTasksOldestFirst) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 1);
    submit("C1", 2);
    tick(5s);
    clientHeartbeat("C1");
    tick(6s);  // W1 silent for 11 s > 10 s
    EXPECT_EQ(core->connectedWorkers(), 0u);
    EXPECT_EQ(core->queuedTasks(), 2u);
    workerHeartbeat("W2");
    ASSERT_EQ(outbox.tasks.size(), 4u);
    EXPECT_EQ(core->tasks().find(outbox.tasks[2].handle)->clientTaskId, 1u);
    EXPECT_EQ(core->tasks().find(outbox.tasks[3].handle)->clientTaskId, 2u);
}

TEST_F(SchedulerCoreTest, LateResultFromATimedOutWorkerIsNotDeliveredTwice) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 1);
    const uint64_t oldHandle = outbox.tasks[0].handle;
    tick(11s);  // W1 and C1 both silent... keep the client alive
    clientHeartbeat("C1");
    workerHeartbeat("W2");
    submit("C1", 5);
    ASSERT_GE(outbox.tasks.size(), 2u);
    // W1 comes back and reports the result it finished: it no longer holds that task
    workerHeartbeat("W1");
    result("W1", oldHandle, "late");
    EXPECT_TRUE(outbox.results.empty() || std::none_of(outbox.results.begin(), outbox.results.end(),
                                                       [](auto& r) { return r.payload == "late"; }));
    EXPECT_GT(core->droppedMessages(), 0u);
}

TEST_F(SchedulerCoreTest, AProcessDeathTheWorkerReportsCountsAgainstTheRetryLimitAndNamesItsCause) {
    make("allocate=capability; scaling=no", 2);
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 9);
    for (size_t death = 1; death <= 2; ++death) {
        ASSERT_EQ(outbox.tasks.size(), death);  // queued again after the first: the worker is still there
        EXPECT_EQ(outbox.tasks.back().worker, "W1");
        capnp::MallocMessageBuilder b;
        auto r = b.initRoot<wire::Message>().initTaskResults(1)[0];
        r.setTaskId(outbox.tasks.back().handle);
        r.setStatus(wire::TaskResultStatus::WORKER_DIED);
        r.setError("the Python processor 77 running this task died: killed by signal 11 (SIGSEGV)");
        deliver("W1", b);
    }
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::WORKER_DIED);
    EXPECT_NE(outbox.results[0].error.find("died 2 times (retry limit 2)"), std::string::npos);
    EXPECT_NE(outbox.results[0].error.find("signal 11 (SIGSEGV)"), std::string::npos);
    EXPECT_EQ(core->connectedWorkers(), 1u);
    EXPECT_EQ(core->tasks().liveCount(), 0u);
}

TEST_F(SchedulerCoreTest, RetryLimitFailsTheTaskWithWorkerDied) {
    make("allocate=capability; scaling=no", 2);
    clientHeartbeat("C1");
    for (int death = 1; death <= 2; ++death) {
        const std::string worker = "W" + std::to_string(death);
        workerHeartbeat(worker);
        if (death == 1) submit("C1", 9);
        ASSERT_EQ(outbox.tasks.size(), static_cast<size_t>(death));
        EXPECT_EQ(outbox.tasks.back().worker, worker);
        now += 11s;
        clientHeartbeat("C1");
        tick(0ms);
    }
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::WORKER_DIED);
    EXPECT_NE(outbox.results[0].error.find("died 2 times"), std::string::npos);
    EXPECT_EQ(core->tasks().liveCount(), 0u);
}

TEST_F(SchedulerCoreTest, CancelOfAnAssignedTaskWaitsForTheWorker) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 3);
    clientCancel("C1", 3);
    ASSERT_EQ(outbox.cancels.size(), 1u);
    EXPECT_TRUE(outbox.cancels[0].force);
    EXPECT_TRUE(outbox.confirms.empty());  // reference §12.1: it answered at once
    EXPECT_EQ(core->tasks().liveCount(), 1u);
    confirm("W1", outbox.tasks[0].handle, wire::CancelConfirmKind::CANCELLED);
    ASSERT_EQ(outbox.confirms.size(), 1u);
    EXPECT_EQ(outbox.confirms[0].kind, wire::CancelConfirmKind::CANCELLED);
    EXPECT_EQ(core->tasks().liveCount(), 0u);
}

TEST_F(SchedulerCoreTest, CancelFailedKeepsTheTaskAndDeliversItsResult) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 3);
    clientCancel("C1", 3);
    confirm("W1", outbox.tasks[0].handle, wire::CancelConfirmKind::CANCEL_FAILED);
    ASSERT_EQ(outbox.confirms.size(), 1u);
    EXPECT_EQ(outbox.confirms[0].kind, wire::CancelConfirmKind::CANCEL_FAILED);
    result("W1", outbox.tasks[0].handle, "done");
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].payload, "done");
}

TEST_F(SchedulerCoreTest, CancelOfAQueuedTaskAndOfAnUnknownTask) {
    clientHeartbeat("C1");
    submit("C1", 1);
    clientCancel("C1", 1);
    clientCancel("C1", 77);
    ASSERT_EQ(outbox.confirms.size(), 2u);
    EXPECT_EQ(outbox.confirms[0].kind, wire::CancelConfirmKind::CANCELLED);
    EXPECT_EQ(outbox.confirms[1].kind, wire::CancelConfirmKind::NOT_FOUND);
    EXPECT_EQ(core->queuedTasks(), 0u);
}

TEST_F(SchedulerCoreTest, ClientDisconnectCancelsItsTasksEverywhere) {
    clientHeartbeat("C1");
    clientHeartbeat("C2");
    workerHeartbeat("W1", "", 1);
    submit("C1", 1);
    submit("C1", 2);
    submit("C2", 1);
    clientDisconnect("C1", wire::ClientDisconnectKind::DISCONNECT);
    ASSERT_EQ(outbox.cancels.size(), 1u);                 // the running one is stopped on its worker
    EXPECT_EQ(core->counts()[TaskState::cancelled], 1u);  // the queued one is gone at once
    confirm("W1", outbox.cancels[0].handle, wire::CancelConfirmKind::CANCELLED);
    EXPECT_EQ(core->counts()[TaskState::cancelled], 2u);
    ASSERT_EQ(outbox.tasks.size(), 2u);  // the worker is free for C2's task
    EXPECT_EQ(core->tasks().find(outbox.tasks[1].handle)->clientTaskId, 1u);
    EXPECT_TRUE(outbox.results.empty());
}

TEST_F(SchedulerCoreTest, ClientTimeoutCancelsItsTasks) {
    clientHeartbeat("C1");
    submit("C1", 1);
    tick(11s);
    EXPECT_EQ(core->connectedClients(), 0u);
    EXPECT_EQ(core->queuedTasks(), 0u);
    EXPECT_EQ(core->counts()[TaskState::cancelled], 1u);
}

TEST_F(SchedulerCoreTest, GracefulWorkerDisconnectRequeuesWithoutCountingADeath) {
    make("allocate=capability; scaling=no", 1);
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    submit("C1", 1);
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initDisconnectRequest();
    deliver("W1", b);
    EXPECT_EQ(core->queuedTasks(), 1u);  // with a retry limit of 1, a death would have failed it
    EXPECT_TRUE(outbox.results.empty());
}

TEST_F(SchedulerCoreTest, BalancingMovesQueuedTasksToANewIdleWorkerAtTheNextTick) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 100);
    for (uint64_t i = 1; i <= 10; ++i) submit("C1", i);
    workerHeartbeat("W2", "", 100);
    // a worker joining is the imbalance itself: no waiting for the period and its second confirmation
    tick(100ms);
    ASSERT_FALSE(outbox.cancels.empty());
    for (const auto& c : outbox.cancels) EXPECT_FALSE(c.force);
    const size_t sentBefore = outbox.tasks.size();
    for (const auto& c : outbox.cancels) confirm("W1", c.handle, wire::CancelConfirmKind::CANCELLED);
    EXPECT_EQ(outbox.tasks.size(), sentBefore + outbox.cancels.size());
    for (size_t i = sentBefore; i < outbox.tasks.size(); ++i) EXPECT_EQ(outbox.tasks[i].worker, "W2");
    EXPECT_EQ(core->tasks().liveCount(), 10u);  // nothing lost, nothing duplicated
}

TEST_F(SchedulerCoreTest, AnImbalanceAmongKnownWorkersMustBeSeenTwiceBeforeTasksMove) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 100);
    workerHeartbeat("W2", "", 100);
    tick(1100ms);  // the joins' early balance: nothing queued, nothing to move
    for (uint64_t i = 1; i <= 10; ++i) submit("C1", i);
    for (const auto& t : outbox.tasks) {
        if (t.worker == "W2") result("W2", t.handle, "done");  // W2 is quick and now idle; W1 holds 5
    }
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 100);
    workerHeartbeat("W2", "", 100);
    tick(1100ms);
    EXPECT_TRUE(outbox.cancels.empty()) << "seen once: it may be a moment's imbalance";
    tick(1100ms);
    EXPECT_FALSE(outbox.cancels.empty()) << "seen twice: W1's queued tasks move";
}

TEST_F(SchedulerCoreTest, BalanceCancelThatFailsKeepsTheTaskOnItsWorker) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 100);
    for (uint64_t i = 1; i <= 4; ++i) submit("C1", i);
    workerHeartbeat("W2", "", 100);
    tick(1100ms);
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 100);
    workerHeartbeat("W2", "", 100);
    tick(1100ms);
    ASSERT_FALSE(outbox.cancels.empty());
    const uint64_t handle = outbox.cancels[0].handle;
    confirm("W1", handle, wire::CancelConfirmKind::CANCEL_FAILED);
    EXPECT_EQ(core->tasks().find(handle)->state, TaskState::assigned);
    // the worker then dies: the task must come back (reference §12.2: it was lost)
    now += 11s;
    clientHeartbeat("C1");
    workerHeartbeat("W2", "", 100);
    tick(0ms);
    EXPECT_EQ(core->connectedWorkers(), 1u);
    const TaskRecord* record = core->tasks().find(handle);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->state, TaskState::assigned);
    EXPECT_EQ(outbox.tasks.back().handle, handle);
    EXPECT_EQ(outbox.tasks.back().worker, "W2");
}

TEST_F(SchedulerCoreTest, DuplicateTaskIdIsRejected) {
    clientHeartbeat("C1");
    submit("C1", 1);
    submit("C1", 1);
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::REJECTED);
    EXPECT_NE(outbox.results[0].error.find("duplicate"), std::string::npos);
}

TEST_F(SchedulerCoreTest, QueueLimitRejectsBeyondIt) {
    config.maxNumberOfTasksWaiting = 2;
    make("allocate=capability; scaling=no");
    clientHeartbeat("C1");
    for (uint64_t i = 1; i <= 3; ++i) submit("C1", i);
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].taskId, 3u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::REJECTED);
}

TEST_F(SchedulerCoreTest, ClientsAreToldTheirShareAndTasksPastTheLimitsAreRejected) {
    config.maxQueuedTasks = 10;
    config.maxQueuedBytes = 100;
    make("allocate=capability; scaling=no");
    clientHeartbeat("C1");
    EXPECT_EQ(outbox.lastShare.tasks, 5u);  // the limit over the clients + 1
    EXPECT_EQ(outbox.lastShare.bytes, 50u);
    clientHeartbeat("C2");
    EXPECT_EQ(outbox.lastShare.tasks, 3u);
    EXPECT_EQ(outbox.lastShare.bytes, 33u);
    // a client that does not wait within its share: the limits themselves still hold
    for (uint64_t i = 1; i <= 11; ++i) submit("C1", i);  // "echo" + "p": 5 bytes a task
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].taskId, 11u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::REJECTED);
    EXPECT_NE(outbox.results[0].error.find("--max-queued-tasks 10"), std::string::npos)
        << outbox.results[0].error;
    const std::string metrics = MetricsExposition(*core).render();
    EXPECT_NE(metrics.find("scaler_unfinished_tasks 10\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("scaler_unfinished_task_bytes 50\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("scaler_max_queued_tasks 10\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("scaler_client_task_share 3\n"), std::string::npos) << metrics;
    workerHeartbeat("W1", "", 100);  // drains the queue into the worker: its tasks are still unfinished
    submit("C2", 1);
    EXPECT_EQ(outbox.results.back().taskId, 1u);
    EXPECT_EQ(outbox.results.back().status, wire::TaskResultStatus::REJECTED);
}

TEST_F(SchedulerCoreTest, TasksPastTheByteLimitAreRejectedButOneAlwaysFits) {
    config.maxQueuedBytes = 100;
    make("allocate=capability; scaling=no");
    clientHeartbeat("C1");
    submit("C1", 1, std::string(200, 'x'));  // alone it is taken, however large
    EXPECT_TRUE(outbox.results.empty());
    submit("C1", 2, "small");
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::REJECTED);
    EXPECT_NE(outbox.results[0].error.find("--max-queued-bytes 100"), std::string::npos)
        << outbox.results[0].error;
}

TEST_F(SchedulerCoreTest, WrongVersionWrongRoleAndUnregisteredPeersAreRefused) {
    clientHeartbeat("OLD", 999);
    ASSERT_EQ(outbox.errors.size(), 1u);
    EXPECT_EQ(outbox.errors[0].second, wire::ProtocolErrorCode::VERSION_MISMATCH);
    EXPECT_EQ(core->connectedClients(), 0u);

    submit("STRANGER", 1);
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::NOT_REGISTERED);

    clientHeartbeat("C1");
    result("C1", 0, "forged");  // a client posing as a worker
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::ROLE_MISMATCH);
    workerHeartbeat("C1");
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::ROLE_MISMATCH);
    EXPECT_EQ(core->connectedWorkers(), 0u);
}

TEST_F(SchedulerCoreTest, APeerThatKnewAnotherSchedulerOrSessionRegistersOnlyAfresh) {
    config.incarnation = 42;
    make("allocate=capability; scaling=no");
    const auto heartbeat = [&](const std::string& who, bool worker, uint64_t incarnation, bool fresh) {
        capnp::MallocMessageBuilder b;
        if (worker) {
            auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
            hb.setProtocolVersion(wire::PROTOCOL_VERSION);
            hb.setQueueSize(10);
            hb.setSchedulerIncarnation(incarnation);
            hb.setFreshSession(fresh);
        } else {
            auto hb = b.initRoot<wire::Message>().initClientHeartbeat();
            hb.setProtocolVersion(wire::PROTOCOL_VERSION);
            hb.setSchedulerIncarnation(incarnation);
            hb.setFreshSession(fresh);
        }
        deliver(who, b);
    };
    // held work for a scheduler that is gone: told so, not registered, so what it queued behind the
    // heartbeat (old results, tasks never seen whole) is refused as unregistered
    heartbeat("W1", true, 7, false);
    heartbeat("C1", false, 7, true);
    EXPECT_EQ(core->connectedWorkers(), 0u);
    EXPECT_EQ(core->connectedClients(), 0u);
    ASSERT_EQ(outbox.errors.size(), 2u);
    EXPECT_EQ(outbox.errors[0].second, wire::ProtocolErrorCode::STATE_LOST);
    EXPECT_EQ(outbox.errors[1].second, wire::ProtocolErrorCode::STATE_LOST);
    result("W1", 1, "old");
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::NOT_REGISTERED);

    // this scheduler, but a session it no longer holds (it timed the peer out): also told
    heartbeat("C1", false, 42, false);
    EXPECT_EQ(core->connectedClients(), 0u);
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::STATE_LOST);

    // afresh with this scheduler, or new (0): registered
    heartbeat("W1", true, 42, true);
    heartbeat("C1", false, 42, true);
    heartbeat("C2", false, 0, true);
    EXPECT_EQ(core->connectedWorkers(), 1u);
    EXPECT_EQ(core->connectedClients(), 2u);
    // known peers' later heartbeats (fresh cleared) are ordinary
    const size_t errors = outbox.errors.size();
    heartbeat("C1", false, 42, false);
    EXPECT_EQ(outbox.errors.size(), errors);
    EXPECT_EQ(core->connectedClients(), 2u);
}

// An idle worker at its memory limit is no imbalance to fix: moving tasks toward it would cancel them on
// their worker only for dispatch to give them back, every balancing period.
TEST_F(SchedulerCoreTest, AWorkerNearItsMemoryLimitDrawsNoBalancingMoves) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 100);
    for (uint64_t i = 1; i <= 10; ++i) submit("C1", i);
    memoryHeartbeat("W2", 950, 1000, 100);  // joins idle, at 95% of its limit
    for (int i = 0; i < 4; ++i) {
        clientHeartbeat("C1");
        workerHeartbeat("W1", "", 100);
        memoryHeartbeat("W2", 950, 1000, 100);
        tick(1100ms);
    }
    EXPECT_TRUE(outbox.cancels.empty()) << "tasks were moved toward a worker that takes none";
    memoryHeartbeat("W2", 100, 1000, 100);  // recovered: now it is an idle worker like any other
    workerHeartbeat("W1", "", 100);
    tick(1100ms);
    tick(1100ms);
    EXPECT_FALSE(outbox.cancels.empty());
}

TEST_F(SchedulerCoreTest, AWorkerNearItsMemoryLimitGetsNoNewTasksUntilItIsWellUnderIt) {
    const auto heartbeat = [&](const std::string& worker, uint64_t rss, uint64_t limit) {
        memoryHeartbeat(worker, rss, limit);
    };
    clientHeartbeat("C1");
    heartbeat("W1", 950, 1000);  // 95%: full
    submit("C1", 1);
    EXPECT_TRUE(outbox.tasks.empty());
    EXPECT_EQ(core->queuedTasks(), 1u);
    EXPECT_TRUE(core->workerTable()[0].memoryFull);
    const auto supplies = [&] { return core->scaling().snapshot().workers.at(0).acceptingTasks; };
    EXPECT_FALSE(supplies()) << "the scaling policies see a full worker as no supply";
    heartbeat("W1", 850, 1000);  // 85%: not yet under 80%, still full
    EXPECT_TRUE(outbox.tasks.empty());
    heartbeat("W1", 700, 1000);  // 70%: takes tasks again
    EXPECT_TRUE(supplies());
    ASSERT_EQ(outbox.tasks.size(), 1u);
    EXPECT_EQ(outbox.tasks[0].worker, "W1");
    heartbeat("W1", 850, 1000);  // 85% while not full: under the 90% that makes it full
    submit("C1", 2);
    EXPECT_EQ(outbox.tasks.size(), 2u);
    heartbeat("W2", 10, 0);  // a worker that does not say its limit is never held back
    EXPECT_FALSE(core->workerTable()[1].memoryFull);
}

TEST_F(SchedulerCoreTest, AuthenticatedConnectionsActOnlyInTheirRole) {
    rolesOfNextSender = roleBit(PeerRole::client);
    clientHeartbeat("C1");
    EXPECT_EQ(core->connectedClients(), 1u);
    workerHeartbeat("C1-AS-WORKER");  // a client key registering as a worker
    ASSERT_FALSE(outbox.errors.empty());
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::NOT_AUTHORIZED);
    EXPECT_EQ(core->connectedWorkers(), 0u);

    rolesOfNextSender = roleBit(PeerRole::worker);
    workerHeartbeat("W1");
    EXPECT_EQ(core->connectedWorkers(), 1u);
    rolesOfNextSender = roleBit(PeerRole::client);
    submit("C1", 1);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    const size_t errors = outbox.errors.size();
    result("W1", outbox.tasks[0].handle, "forged");  // a client connection that took over W1's routing id
    EXPECT_EQ(outbox.errors.size(), errors + 1);
    EXPECT_EQ(outbox.errors.back().second, wire::ProtocolErrorCode::NOT_AUTHORIZED);
    EXPECT_TRUE(outbox.results.empty());

    rolesOfNextSender = 0;  // a connection with no role at all
    clientHeartbeat("C2");
    EXPECT_EQ(core->connectedClients(), 1u);
}

TEST_F(SchedulerCoreTest, ProtectedSchedulerRefusesShutdown) {
    config.protectedMode = true;
    make("allocate=capability; scaling=no");
    clientHeartbeat("C1");
    clientDisconnect("C1", wire::ClientDisconnectKind::SHUTDOWN);
    ASSERT_EQ(outbox.shutdownResponses.size(), 1u);
    EXPECT_FALSE(outbox.shutdownResponses[0]);
    EXPECT_FALSE(core->shutdownRequested());
}

TEST_F(SchedulerCoreTest, ShutdownStopsWorkersAndTheScheduler) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    clientDisconnect("C1", wire::ClientDisconnectKind::SHUTDOWN);
    EXPECT_EQ(outbox.shutdownResponses, std::vector<bool>{true});
    EXPECT_EQ(outbox.shutdowns, std::vector<std::string>{"W1"});
    EXPECT_TRUE(core->shutdownRequested());
}

TEST_F(SchedulerCoreTest, SnapshotCarriesCountsAndWorkerRows) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "gpu");
    submit("C1", 1);
    submit("C1", 2, "p", "windows");
    capnp::MallocMessageBuilder b;
    auto snapshot = b.initRoot<wire::MonitorSnapshot>();
    MonitorSnapshotWriter(*core).write(snapshot);
    EXPECT_EQ(snapshot.getTasks().getQueued(), 1u);
    EXPECT_EQ(snapshot.getTasks().getRunning(), 1u);
    EXPECT_EQ(snapshot.getClients(), 1u);
    ASSERT_EQ(snapshot.getWorkers().size(), 1u);
    EXPECT_EQ(std::string(snapshot.getWorkers()[0].getWorkerId().cStr()), "W1");
    EXPECT_EQ(snapshot.getWorkers()[0].getAssigned(), 1u);
}

TEST_F(SchedulerCoreTest, ManyTasksNoLossNoDuplicate) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 64);
    workerHeartbeat("W2", "", 64);
    std::map<uint64_t, int> delivered;
    for (uint64_t i = 1; i <= 5000; ++i) submit("C1", i, std::to_string(i));
    size_t next = 0;
    while (next < outbox.tasks.size()) {
        const SentTask sent = outbox.tasks[next++];
        const TaskRecord* record = core->tasks().find(sent.handle);
        ASSERT_NE(record, nullptr);
        result(sent.worker, sent.handle, std::string(record->payload()));
    }
    for (const auto& r : outbox.results) ++delivered[r.taskId];
    ASSERT_EQ(delivered.size(), 5000u);
    for (const auto& [id, n] : delivered) EXPECT_EQ(n, 1) << id;
    for (const auto& r : outbox.results) EXPECT_EQ(r.payload, std::to_string(r.taskId));
    EXPECT_EQ(core->tasks().liveCount(), 0u);
}

TEST_F(SchedulerCoreTest, BatchWithMixedCapabilitiesRoutesEachTask) {
    clientHeartbeat("C1");
    workerHeartbeat("GPU", "gpu");
    workerHeartbeat("CPU", "linux");
    capnp::MallocMessageBuilder b;
    auto tasks = b.initRoot<wire::Message>().initTasks(6);
    const char* caps[] = {"gpu", "gpu", "linux", "linux", "gpu", "windows"};
    for (unsigned i = 0; i < 6; ++i) {
        tasks[i].setTaskId(i + 1);
        tasks[i].setFunctionName("echo");
        const auto list = parseCapabilities(caps[i]);
        capabilitiesToWire(list, tasks[i].initCapabilities(static_cast<unsigned>(list.size())));
    }
    deliver("C1", b);
    ASSERT_EQ(outbox.tasks.size(), 5u);  // the windows task waits
    for (const auto& sent : outbox.tasks) {
        const uint64_t id = core->tasks().find(sent.handle)->clientTaskId;
        EXPECT_EQ(sent.worker, std::string(caps[id - 1]) == "gpu" ? "GPU" : "CPU") << id;
    }
    EXPECT_EQ(core->queuedTasks(), 1u);
}

// ---- scaling controller ------------------------------------------------------------------------------

using scaler::testing::InventoryGroup;

class SchedulerScalingTest : public SchedulerCoreTest {
protected:
    void SetUp() override {
        config.scalingIntervalSeconds = 1;
        config.workerAdapterTimeoutSeconds = 10;
        make("allocate=capability; scaling=capability; min_group_age_seconds=0");
    }

    void adapterHeartbeat(const std::string& adapter, uint32_t maxGroups, const std::string& caps,
                          const std::vector<InventoryGroup>& groups = {}) {
        capnp::MallocMessageBuilder b;
        scaler::testing::buildAdapterHeartbeat(b, maxGroups, caps, groups);
        deliver(adapter, b);
    }

    void startResponse(const std::string& adapter, uint64_t requestId, const std::string& groupId,
                       const std::string& worker, const std::string& caps,
                       wire::WorkerAdapterCommandStatus status = wire::WorkerAdapterCommandStatus::SUCCESS) {
        capnp::MallocMessageBuilder b;
        scaler::testing::buildStartResponse(b, requestId, groupId, worker, caps, status);
        deliver(adapter, b);
    }

    void groupWorkerHeartbeat(const std::string& worker, const std::string& adapter, const std::string& group,
                              const std::string& caps) {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setQueueSize(10);
        hb.setAdapterId(adapter);
        hb.setWorkerGroupId(group);
        const auto list = parseCapabilities(caps);
        capabilitiesToWire(list, hb.initCapabilities(static_cast<unsigned>(list.size())));
        deliver(worker, b);
    }

    void keepAlive() { clientHeartbeat("C1"); }
};

TEST_F(SchedulerScalingTest, AWorkerItsAdapterNoLongerListsIsDeadAtOnce) {
    clientHeartbeat("C1");
    const auto running = wire::WorkerGroupState::RUNNING;
    adapterHeartbeat("native", 2, "", {{"g1", running, "", {"W1", "W2"}}});
    groupWorkerHeartbeat("W1", "native", "g1", "");
    groupWorkerHeartbeat("W2", "native", "g1", "");
    submit("C1", 1);
    submit("C1", 2);
    ASSERT_EQ(outbox.tasks.size(), 2u);
    adapterHeartbeat("native", 2, "", {{"g1", running, "", {"W1"}}});  // W2's process exited
    EXPECT_EQ(core->connectedWorkers(), 2u);  // once could be a race with a fresh registration
    adapterHeartbeat("native", 2, "", {{"g1", running, "", {"W1"}}});
    EXPECT_EQ(core->connectedWorkers(), 1u);  // long before the worker timeout
    ASSERT_EQ(outbox.tasks.size(), 3u);       // W2's task went to W1
    EXPECT_EQ(outbox.tasks[2].worker, "W1");
    adapterHeartbeat("native", 2, "", {});  // the whole group is gone
    adapterHeartbeat("native", 2, "", {});
    EXPECT_EQ(core->connectedWorkers(), 0u);
    EXPECT_EQ(core->queuedTasks(), 2u);
}

TEST_F(SchedulerScalingTest, MetricsCountTasksDecisionsAndAdapterCommands) {
    const auto has = [](const std::string& text, const std::string& line) {
        return text.find(line) != std::string::npos;
    };
    clientHeartbeat("C1");
    adapterHeartbeat("cpu", 2, "");
    submit("C1", 1);
    tick(1100ms);
    ASSERT_EQ(outbox.adapterCommands.size(), 1u);
    now += 300ms;
    startResponse("cpu", outbox.adapterCommands[0].requestId, "g1", "W1", "");
    groupWorkerHeartbeat("W1", "cpu", "g1", "");
    ASSERT_EQ(outbox.tasks.size(), 1u);
    result("W1", outbox.tasks[0].handle, "ok");  // 1.4 s after the task arrived
    const std::string m = MetricsExposition(*core).render();
    EXPECT_TRUE(has(m, "scaler_tasks_finished_total{state=\"succeeded\"} 1\n")) << m;
    EXPECT_TRUE(has(m, "scaler_unfinished_tasks 0\n")) << m;
    EXPECT_TRUE(has(m, "scaler_unfinished_task_bytes 0\n")) << m;
    EXPECT_TRUE(
        has(m, "scaler_capability_set_tasks_finished_total{capabilities=\"\",state=\"succeeded\"} 1\n"));
    EXPECT_TRUE(has(m, "scaler_task_latency_seconds_bucket{le=\"1\"} 0\n"));
    EXPECT_TRUE(has(m, "scaler_task_latency_seconds_bucket{le=\"5\"} 1\n"));
    EXPECT_TRUE(has(m, "scaler_task_latency_seconds_count 1\n"));
    EXPECT_TRUE(has(m, "scaler_scaling_decisions_total{action=\"start\",rule=\"no_capable_worker\"} 1\n"));
    // sent when the task arrived (urgent scaling), answered 1.4 s later
    EXPECT_TRUE(
        has(m, "scaler_adapter_command_seconds_bucket{adapter=\"cpu\",command=\"start\",le=\"1\"} 0\n"));
    EXPECT_TRUE(
        has(m, "scaler_adapter_command_seconds_bucket{adapter=\"cpu\",command=\"start\",le=\"5\"} 1\n"));
    EXPECT_TRUE(has(m, "scaler_adapter_command_seconds_count{adapter=\"cpu\",command=\"start\"} 1\n"));
    EXPECT_TRUE(has(m, "scaler_workers{adapter=\"cpu\"} 1\n"));
    EXPECT_FALSE(has(m, "scaler_adapter_command_failures_total{"));
    // the bill: one group, billed in whole seconds at 1 a group-hour from its start command (2 s so far)
    tick(300ms);
    const std::string billed = MetricsExposition(*core).render();
    EXPECT_TRUE(has(billed, "scaler_adapter_cost_per_hour{adapter=\"cpu\"} 1\n")) << billed;
    EXPECT_TRUE(has(billed, "scaler_adapter_cost_total{adapter=\"cpu\"} 0.000555")) << billed;

    adapterHeartbeat("gpu-adapter", 1, "gpu");
    submit("C1", 2, "p", "gpu");  // a start that fails
    tick(1100ms);
    const auto gpuStart = std::find_if(outbox.adapterCommands.begin(), outbox.adapterCommands.end(),
                                       [](const auto& c) { return c.adapter == "gpu-adapter"; });
    ASSERT_NE(gpuStart, outbox.adapterCommands.end());
    startResponse("gpu-adapter", gpuStart->requestId, "", "", "gpu",
                  wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    EXPECT_TRUE(has(MetricsExposition(*core).render(),
                    "scaler_adapter_command_failures_total{adapter=\"gpu-adapter\",command=\"start\","));
}

TEST_F(SchedulerScalingTest, StartsAGroupForWaitingTasksOnceWhileItBoots) {
    clientHeartbeat("C1");
    adapterHeartbeat("gpu-adapter", 2, "gpu");
    adapterHeartbeat("cpu-adapter", 2, "");
    submit("C1", 1, "p", "gpu");
    tick(1100ms);
    ASSERT_EQ(outbox.adapterCommands.size(), 1u);
    EXPECT_EQ(outbox.adapterCommands[0].adapter, "gpu-adapter");
    EXPECT_EQ(outbox.adapterCommands[0].command, wire::WorkerAdapterCommandType::START_WORKER_GROUP);
    EXPECT_EQ(outbox.adapterCommands[0].capabilities, "gpu");
    tick(1100ms);  // pending start counts as supply
    EXPECT_EQ(outbox.adapterCommands.size(), 1u);
    startResponse("gpu-adapter", outbox.adapterCommands[0].requestId, "g1", "W-g1", "gpu");
    keepAlive();
    adapterHeartbeat("gpu-adapter", 2, "gpu", {{"g1", wire::WorkerGroupState::STARTING, "gpu", {"W-g1"}}});
    tick(1100ms);  // booting group counts as supply
    EXPECT_EQ(outbox.adapterCommands.size(), 1u);
    groupWorkerHeartbeat("W-g1", "gpu-adapter", "g1", "gpu");
    ASSERT_EQ(outbox.tasks.size(), 1u);
    EXPECT_EQ(outbox.tasks[0].worker, "W-g1");
    ASSERT_FALSE(core->scaling().events().empty());
    EXPECT_EQ(core->scaling().events().front().action, "start");
}

TEST_F(SchedulerScalingTest, IdleGroupIsDrainedThenShutDown) {
    clientHeartbeat("C1");
    adapterHeartbeat("A", 2, "");
    groupWorkerHeartbeat("W1", "A", "g1", "");
    adapterHeartbeat("A", 2, "", {{"g1", wire::WorkerGroupState::RUNNING, "", {"W1"}}});
    submit("C1", 1);
    submit("C1", 2);
    ASSERT_EQ(outbox.tasks.size(), 2u);
    tick(1100ms);  // busy: nothing happens
    EXPECT_TRUE(outbox.adapterCommands.empty());
    result("W1", outbox.tasks[0].handle, "x");
    result("W1", outbox.tasks[1].handle, "x");
    keepAlive();
    groupWorkerHeartbeat("W1", "A", "g1", "");
    adapterHeartbeat("A", 2, "", {{"g1", wire::WorkerGroupState::RUNNING, "", {"W1"}}});
    tick(1100ms);                                  // idle: drained at once (no tasks), then shut down
    ASSERT_EQ(outbox.adapterCommands.size(), 0u);  // drain this evaluation, shutdown the next
    EXPECT_EQ(core->scaling().findAdapter("A")->groups.at("g1").phase, GroupPhase::draining);
    keepAlive();
    groupWorkerHeartbeat("W1", "A", "g1", "");
    adapterHeartbeat("A", 2, "", {{"g1", wire::WorkerGroupState::RUNNING, "", {"W1"}}});
    tick(1100ms);
    ASSERT_EQ(outbox.adapterCommands.size(), 1u);
    EXPECT_EQ(outbox.adapterCommands[0].command, wire::WorkerAdapterCommandType::SHUTDOWN_WORKER_GROUP);
    EXPECT_EQ(outbox.adapterCommands[0].groupId, "g1");
    // a new task does not go to the draining group's worker
    submit("C1", 3);
    EXPECT_EQ(outbox.tasks.size(), 2u);
}

TEST_F(SchedulerScalingTest, DrainHandsQueuedTasksBackWithoutLosingThem) {
    make("allocate=capability; scaling=vanilla; min_group_age_seconds=0; lower_task_ratio=3");
    clientHeartbeat("C1");
    adapterHeartbeat("A", 4, "");
    groupWorkerHeartbeat("W1", "A", "g1", "");
    groupWorkerHeartbeat("W2", "A", "g2", "");
    adapterHeartbeat("A", 4, "",
                     {{"g1", wire::WorkerGroupState::RUNNING, "", {"W1"}},
                      {"g2", wire::WorkerGroupState::RUNNING, "", {"W2"}}});
    for (uint64_t i = 1; i <= 4; ++i) submit("C1", i);  // 2 on each worker
    const size_t sent = outbox.tasks.size();
    ASSERT_EQ(sent, 4u);
    // finish W2's tasks: it becomes idle; 2 tasks / 2 workers = 1 < 3: stop g2
    for (const auto& t : std::vector<SentTask>(outbox.tasks)) {
        if (t.worker == "W2") result("W2", t.handle, "x");
    }
    tick(1100ms);
    EXPECT_EQ(core->scaling().findAdapter("A")->groups.at("g2").phase, GroupPhase::draining);
    EXPECT_EQ(core->tasks().liveCount(), 2u);
}

TEST_F(SchedulerScalingTest, AdapterInventoryRestoresGroupsAfterATimeout) {
    adapterHeartbeat("A", 2, "", {{"g1", wire::WorkerGroupState::RUNNING, "", {"W1"}}});
    ASSERT_NE(core->scaling().findAdapter("A"), nullptr);
    EXPECT_EQ(core->scaling().findAdapter("A")->groups.count("g1"), 1u);
    tick(11s);
    EXPECT_EQ(core->scaling().findAdapter("A"), nullptr);
    adapterHeartbeat("A", 2, "", {{"g1", wire::WorkerGroupState::RUNNING, "", {"W1"}}});
    ASSERT_NE(core->scaling().findAdapter("A"), nullptr);
    EXPECT_EQ(core->scaling().findAdapter("A")->groups.count("g1"), 1u);  // no orphan
    adapterHeartbeat("A", 2, "", {});
    EXPECT_EQ(core->scaling().findAdapter("A")->groups.count("g1"),
              0u);  // gone from the inventory: gone here
}

TEST_F(SchedulerScalingTest, FailedStartBacksOffAndIsReported) {
    clientHeartbeat("C1");
    adapterHeartbeat("A", 2, "");
    submit("C1", 1);
    tick(1100ms);
    ASSERT_EQ(outbox.adapterCommands.size(), 1u);
    startResponse("A", outbox.adapterCommands[0].requestId, "", "", "",
                  wire::WorkerAdapterCommandStatus::LAUNCH_FAILED);
    keepAlive();
    adapterHeartbeat("A", 2, "");
    tick(1100ms);
    EXPECT_EQ(outbox.adapterCommands.size(), 1u);  // backing off
    EXPECT_EQ(core->scaling().events().back().action, "start failed");
    for (int i = 0; i < 5; ++i) {
        keepAlive();
        adapterHeartbeat("A", 2, "");
        tick(1100ms);
    }
    EXPECT_EQ(outbox.adapterCommands.size(), 2u);  // tried again after the back-off
}

TEST_F(SchedulerScalingTest, UnschedulableDemandIsReportedNotStarted) {
    clientHeartbeat("C1");
    adapterHeartbeat("A", 2, "linux");
    submit("C1", 1, "p", "windows");
    tick(1100ms);
    EXPECT_TRUE(outbox.adapterCommands.empty());
    capnp::MallocMessageBuilder b;
    auto snapshot = b.initRoot<wire::MonitorSnapshot>();
    MonitorSnapshotWriter(*core).write(snapshot);
    ASSERT_EQ(snapshot.getUnschedulable().size(), 1u);
    EXPECT_EQ(std::string(snapshot.getUnschedulable()[0].cStr()), "windows");
    ASSERT_EQ(snapshot.getAdapters().size(), 1u);
}

TEST_F(SchedulerScalingTest, TheSnapshotCarriesHeldCommandsDemandAndTheMeasuredStartUp) {
    make("allocate=capability; scaling=capability; max_groups_per_adapter=1");
    clientHeartbeat("C1");
    adapterHeartbeat("A", 4, "");
    for (uint64_t id = 1; id <= 20; ++id) submit("C1", id);
    tick(1100ms);  // 20 tasks / 5 per worker: 4 groups wanted, the ceiling lets one through
    ASSERT_EQ(outbox.adapterCommands.size(), 1u);
    capnp::MallocMessageBuilder b;
    auto snapshot = b.initRoot<wire::MonitorSnapshot>();
    MonitorSnapshotWriter(*core).write(snapshot);
    ASSERT_EQ(snapshot.getHeldScaling().size(), 3u);
    EXPECT_EQ(std::string(snapshot.getHeldScaling()[0].getAction().cStr()), "start");
    EXPECT_EQ(std::string(snapshot.getHeldScaling()[0].getAdapterId().cStr()), "A");
    EXPECT_EQ(std::string(snapshot.getHeldScaling()[0].getHeldBecause().cStr()),
              "max_groups_per_adapter 1 reached (1 groups)");
    EXPECT_NE(std::string(snapshot.getHeldScaling()[0].getWantedBecause().cStr()).find("20 tasks"),
              std::string::npos);
    ASSERT_EQ(snapshot.getDemand().size(), 1u);
    EXPECT_EQ(snapshot.getDemand()[0].getTasks(), 20u);
    EXPECT_EQ(snapshot.getDemand()[0].getQueued(), 20u);

    // the command went out when the tasks arrived (urgent scaling); the adapter answers 1.4 s after it and
    // its worker connects 2 s after that
    now += 300ms;
    startResponse("A", outbox.adapterCommands[0].requestId, "g1", "W1", "");
    EXPECT_EQ(core->scaling().findAdapter("A")->startupSeconds, 0);  // not measured yet
    now += 2000ms;
    groupWorkerHeartbeat("W1", "A", "g1", "");
    EXPECT_NEAR(core->scaling().findAdapter("A")->startupSeconds, 3.4, 1e-6);
    EXPECT_NEAR(core->scaling().snapshot().adapters[0].startupSeconds, 3.4, 1e-6);
}

// ---- priorities ----------------------------------------------------------------------------------------

TEST_F(SchedulerCoreTest, HigherPrioritiesRunFirstAndEqualOnesInArrivalOrder) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 1);
    submit("C1", 1);  // runs at once: the worker was idle
    const std::vector<std::pair<uint64_t, int32_t>> backlog = {{2, 0}, {3, 5}, {4, 1},
                                                               {5, 5}, {6, 0}, {7, -3}};
    for (const auto& [id, priority] : backlog) submit("C1", id, "p", "", priority);
    std::vector<uint64_t> order;
    for (size_t i = 0; i <= backlog.size(); ++i) {
        ASSERT_EQ(outbox.tasks.size(), i + 1);
        const uint64_t handle = outbox.tasks[i].handle;
        order.push_back(core->tasks().find(handle)->clientTaskId);
        result("W1", handle, "done");
    }
    EXPECT_EQ(order, (std::vector<uint64_t>{1, 3, 5, 4, 2, 6, 7}));
}

TEST_F(SchedulerCoreTest, ATaskHandedBackKeepsItsPlaceAmongItsPriority) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 1);
    submit("C1", 1, "p", "", 9);  // on W1
    submit("C1", 2, "p", "", 0);
    submit("C1", 3, "p", "", 9);  // both wait at the scheduler
    ASSERT_EQ(outbox.tasks.size(), 1u);
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initDisconnectRequest();
    deliver("W1", b);  // W1 leaves: task 1 goes back to the front of priority 9, ahead of task 3
    workerHeartbeat("W2", "", 1);
    ASSERT_EQ(outbox.tasks.size(), 2u);
    EXPECT_EQ(outbox.tasks[1].worker, "W2");
    EXPECT_EQ(core->tasks().find(outbox.tasks[1].handle)->clientTaskId, 1u);
}

TEST_F(SchedulerCoreTest, APriorityOutOfRangeIsRejectedNamingIt) {
    clientHeartbeat("C1");
    submit("C1", 1, "p", "", 40000);
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::REJECTED);
    EXPECT_EQ(outbox.results[0].error, "priority 40000 is not in -32768..32767");
}

TEST_F(SchedulerCoreTest, ProfilingIsPassedToTheWorkerAndItsFiguresBackToTheClient) {
    clientHeartbeat("C1");
    workerHeartbeat("W1");
    capnp::MallocMessageBuilder b;
    auto task = b.initRoot<wire::Message>().initTasks(1)[0];
    task.setTaskId(8);
    task.setFunctionName("echo");
    task.setProfiling(true);
    deliver("C1", b);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    EXPECT_TRUE(core->tasks().find(outbox.tasks[0].handle)->profiling);
    capnp::MallocMessageBuilder r;
    auto answer = r.initRoot<wire::Message>().initTaskResults(1)[0];
    answer.setTaskId(outbox.tasks[0].handle);
    answer.setStatus(wire::TaskResultStatus::SUCCESS);
    answer.setDurationUs(1500);
    answer.setCpuTimeUs(1200);
    answer.setPeakRssBytes(64u << 20);
    deliver("W1", r);
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].timings.durationUs, 1500u);
    EXPECT_EQ(outbox.results[0].timings.cpuTimeUs, 1200u);
    EXPECT_EQ(outbox.results[0].timings.peakRssBytes, 64u << 20);
}

// ---- hostile input ------------------------------------------------------------------------------------

TEST_F(SchedulerCoreTest, AFloodOfGarbageIsCountedAndLoggedThrottledWithSafeIdentities) {
    std::ostringstream captured;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    log::transport().sinks().push_back(sink);
    for (int i = 0; i < 10000; ++i) {
        const std::string identity{'\x01', '\n', static_cast<char>(i & 0xff), '\x7f'};
        core->onUndecodableFrame(identity, "message length 3 is not a whole number of 8-byte words");
    }
    capnp::MallocMessageBuilder b;
    b.initRoot<wire::Message>().initTasks(0);
    deliver(std::string("\x02\x03", 2), b);  // decodable, from a peer that never registered
    log::transport().sinks().pop_back();
    EXPECT_EQ(core->droppedMessages(), 10001u);
    const std::string text = captured.str();
    const auto lines = std::count(text.begin(), text.end(), '\n');
    EXPECT_LE(lines, 20 + 10) << "first 20, then every 1,000th";
    EXPECT_GE(lines, 20);
    EXPECT_EQ(text.find('\x01'), std::string::npos);
    EXPECT_NE(text.find("'\\x01\\x0a"), std::string::npos) << text.substr(0, 300);
}

TEST_F(SchedulerCoreTest, StoppingTellsEveryClientAndWorkerAndCountsTasksLeftOnWorkers) {
    clientHeartbeat("C1");
    workerHeartbeat("W1", "", 1);
    submit("C1", 1);
    submit("C1", 2);  // queued at the scheduler
    EXPECT_EQ(core->stopServing("stopping (signal)"), 1u);
    ASSERT_EQ(outbox.stopping.size(), 2u);
    EXPECT_EQ(outbox.stopping[0], std::make_pair(std::string("C1"), std::string("stopping (signal)")));
    EXPECT_EQ(outbox.stopping[1].first, "W1");
}

// ---- objects, graphs, nesting ---------------------------------------------------------------------------

namespace {

struct NodeSpec {
    uint64_t key;
    const char* function;
    std::vector<std::string> data;  // bytes arguments
    std::vector<uint64_t> nodes;    // then node arguments
};

void buildGraph(capnp::MallocMessageBuilder& b, const std::vector<NodeSpec>& nodes,
                const std::vector<uint64_t>& outputs) {
    auto graph = b.initRoot<wire::Message>().initTaskGraph();
    auto list = graph.initNodes(static_cast<unsigned>(nodes.size()));
    for (unsigned i = 0; i < nodes.size(); ++i) {
        list[i].setTaskId(nodes[i].key);
        list[i].setFunctionName(nodes[i].function);
        auto args = list[i].initArgs(static_cast<unsigned>(nodes[i].data.size() + nodes[i].nodes.size()));
        unsigned a = 0;
        for (const auto& d : nodes[i].data) args[a++].setData(asData(d));
        for (uint64_t n : nodes[i].nodes) args[a++].setNode(n);
    }
    auto out = graph.initOutputs(static_cast<unsigned>(outputs.size()));
    for (unsigned i = 0; i < outputs.size(); ++i) out.set(i, outputs[i]);
}

}  // namespace

TEST_F(SchedulerCoreTest, GraphNodesRunAfterTheirInputsAndOnlyRequestedKeysAreAnswered) {
    clientHeartbeat("C");
    workerHeartbeat("W", "", 10);
    capnp::MallocMessageBuilder b;
    buildGraph(b, {{1, "echo", {"A"}, {}}, {2, "concat", {"B"}, {1}}, {3, "echo", {"unused"}, {}}}, {2});
    deliver("C", b);
    ASSERT_EQ(outbox.tasks.size(), 1u) << "only the node without inputs runs; the unneeded one never";
    EXPECT_EQ(core->graphs().waitingNodes(), 1u);
    result("W", outbox.tasks[0].handle, "A");
    EXPECT_TRUE(outbox.results.empty()) << "an intermediate result is not sent to the client";
    ASSERT_EQ(outbox.tasks.size(), 2u);
    result("W", outbox.tasks[1].handle, "BA");
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].taskId, 2u);
    EXPECT_EQ(outbox.results[0].payload, "BA");
    EXPECT_EQ(core->graphs().liveGraphs(), 0u);
}

TEST_F(SchedulerCoreTest, AGraphWithACycleOrAnUnknownKeyIsRefusedForEveryOutput) {
    clientHeartbeat("C");
    workerHeartbeat("W");
    capnp::MallocMessageBuilder cyclic;
    buildGraph(cyclic, {{1, "echo", {}, {2}}, {2, "echo", {}, {1}}, {3, "echo", {"x"}, {}}}, {1, 3});
    deliver("C", cyclic);
    ASSERT_EQ(outbox.results.size(), 2u);
    for (const auto& r : outbox.results) {
        EXPECT_EQ(r.status, wire::TaskResultStatus::REJECTED);
        EXPECT_NE(r.error.find("cycle"), std::string::npos) << r.error;
    }
    capnp::MallocMessageBuilder unknown;
    buildGraph(unknown, {{4, "echo", {}, {99}}}, {4});
    deliver("C", unknown);
    ASSERT_EQ(outbox.results.size(), 3u);
    EXPECT_NE(outbox.results[2].error.find("99"), std::string::npos) << outbox.results[2].error;
    EXPECT_TRUE(outbox.tasks.empty());
    EXPECT_EQ(core->graphs().liveGraphs(), 0u);
}

TEST_F(SchedulerCoreTest, AFailedNodeFailsWaitingDependentsWithItsError) {
    clientHeartbeat("C");
    workerHeartbeat("W");
    capnp::MallocMessageBuilder b;
    buildGraph(b, {{1, "fail", {"x"}, {}}, {2, "echo", {}, {1}}, {3, "echo", {}, {2}}}, {3});
    deliver("C", b);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    capnp::MallocMessageBuilder r;
    auto failure = r.initRoot<wire::Message>().initTaskResults(1)[0];
    failure.setTaskId(outbox.tasks[0].handle);
    failure.setStatus(wire::TaskResultStatus::FAILED);
    failure.setError("disk full");
    deliver("W", r);
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].taskId, 3u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::FAILED);
    EXPECT_NE(outbox.results[0].error.find("disk full"), std::string::npos) << outbox.results[0].error;
    EXPECT_EQ(core->counts()[TaskState::failed], 3u);
    EXPECT_EQ(core->graphs().liveGraphs(), 0u);
}

TEST_F(SchedulerCoreTest, AWaitingTaskLendsItsSlotUntilItStopsWaiting) {
    clientHeartbeat("C");
    workerHeartbeat("W", "", 1);
    submit("C", 1);
    submit("C", 2);
    submit("C", 3);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    const auto waiting = [&](uint64_t handle, bool on) {
        capnp::MallocMessageBuilder b;
        auto w = b.initRoot<wire::Message>().initTaskWaiting();
        w.setTaskId(handle);
        w.setWaiting(on);
        deliver("W", b);
    };
    waiting(outbox.tasks[0].handle, true);
    ASSERT_EQ(outbox.tasks.size(), 2u) << "the waiting parent's slot went to the next task";
    waiting(outbox.tasks[0].handle, false);
    result("W", outbox.tasks[1].handle, "done");
    EXPECT_EQ(outbox.tasks.size(), 2u) << "the parent works again: its slot is its own";
    result("W", outbox.tasks[0].handle, "done");
    EXPECT_EQ(outbox.tasks.size(), 3u);
}

TEST_F(SchedulerCoreTest, AnObjectIsAcknowledgedServedInChunksAndFreedWithItsLastTask) {
    clientHeartbeat("C");
    workerHeartbeat("W");
    const auto put = [&](uint64_t offset, const std::string& data) {
        capnp::MallocMessageBuilder b;
        auto p = b.initRoot<wire::Message>().initObjectPut();
        p.setObjectId(5);
        p.setName("table");
        p.setTotalSize(6);
        p.setOffset(offset);
        p.setData(asData(data));
        deliver("C", b);
    };
    put(0, "abc");
    put(3, "def");
    ASSERT_EQ(outbox.acks.size(), 2u);
    EXPECT_EQ(outbox.acks[1].received, 6u);
    EXPECT_EQ(outbox.acks[1].error, "");
    submitWithObject("C", 1, 5);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    // the client deletes it while the task still needs it: the worker can still fetch it
    capnp::MallocMessageBuilder del;
    del.initRoot<wire::Message>().initObjectDelete().initObjectIds(1).set(0, 5);
    deliver("C", del);
    EXPECT_EQ(core->objects().count(), 1u);
    // the worker asks for a range by the store's handle
    capnp::MallocMessageBuilder ask;
    auto request = ask.initRoot<wire::Message>().initObjectRequest();
    request.setObjectId(uint64_t{1} << 32);  // generation 1, slot 0: the first object
    request.setOffset(2);
    request.setLength(3);
    deliver("W", ask);
    ASSERT_EQ(outbox.chunks.size(), 1u);
    EXPECT_EQ(outbox.chunks[0].bytes, "cde");
    EXPECT_EQ(outbox.chunks[0].totalSize, 6u);
    result("W", outbox.tasks[0].handle, "abcdef");
    EXPECT_EQ(core->objects().count(), 0u) << "deleted and no task left: freed";
    deliver("W", ask);
    ASSERT_EQ(outbox.chunks.size(), 2u);
    EXPECT_NE(outbox.chunks[1].error, "");
}

namespace {
// A task whose capability list is written raw, as a hostile client could.
void submitRawCapabilities(capnp::MallocMessageBuilder& b, uint64_t id,
                           const std::vector<std::pair<std::string, int64_t>>& capabilities) {
    auto task = b.initRoot<wire::Message>().initTasks(1)[0];
    task.setTaskId(id);
    task.setFunctionName("echo");
    auto list = task.initCapabilities(static_cast<unsigned>(capabilities.size()));
    for (unsigned i = 0; i < capabilities.size(); ++i) {
        list[i].setName(capabilities[i].first);
        list[i].setValue(capabilities[i].second);
    }
}
}  // namespace

TEST_F(SchedulerCoreTest, CapabilityNamesOnTheWireAreCheckedAsTheParserChecksThem) {
    clientHeartbeat("C");
    workerHeartbeat("W", "gpu=1,linux");
    const std::vector<std::vector<std::pair<std::string, int64_t>>> bad = {
        {{"gpu=1,linux", -1}},          // would pose as the set gpu=1,linux
        {{std::string(129, 'n'), -1}},  // too long for logs and metrics labels
        {{"gpu", -2}},                  // no such quantity
        {{"line\nbreak", -1}},
    };
    uint64_t id = 1;
    for (const auto& capabilities : bad) {
        capnp::MallocMessageBuilder b;
        submitRawCapabilities(b, id++, capabilities);
        deliver("C", b);
    }
    std::vector<std::pair<std::string, int64_t>> many;
    for (int i = 0; i < 65; ++i) many.emplace_back("c" + std::to_string(i), -1);
    capnp::MallocMessageBuilder tooMany;
    submitRawCapabilities(tooMany, id++, many);
    deliver("C", tooMany);
    ASSERT_EQ(outbox.results.size(), 5u);
    for (const auto& r : outbox.results) EXPECT_EQ(r.status, wire::TaskResultStatus::REJECTED) << r.error;
    EXPECT_NE(outbox.results[0].error.find("invalid capability name"), std::string::npos);
    EXPECT_NE(outbox.results[4].error.find("at most 64"), std::string::npos) << outbox.results[4].error;
    EXPECT_TRUE(outbox.tasks.empty());
    // the legitimate set still works
    submit("C", 100, "p", "gpu=1,linux");
    ASSERT_EQ(outbox.tasks.size(), 1u);
}

TEST_F(SchedulerCoreTest, AWorkerWithBadCapabilityNamesIsNotAdmitted) {
    capnp::MallocMessageBuilder b;
    auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
    hb.setProtocolVersion(wire::PROTOCOL_VERSION);
    hb.setQueueSize(1);
    hb.initCapabilities(1)[0].setName(std::string(4096, 'x'));
    const uint64_t droppedBefore = core->droppedMessages();
    deliver("W", b);
    EXPECT_EQ(core->droppedMessages(), droppedBefore + 1);
    clientHeartbeat("C");
    submit("C", 1);
    EXPECT_TRUE(outbox.tasks.empty()) << "the refused worker got a task";
}

TEST_F(SchedulerCoreTest, AHugeCyclicGraphIsRefusedWithBoundedAnswers) {
    clientHeartbeat("C");
    workerHeartbeat("W");
    std::vector<NodeSpec> nodes;
    std::vector<uint64_t> outputs;
    constexpr uint64_t kNodes = 20000;
    for (uint64_t k = 1; k <= kNodes; ++k) {
        nodes.push_back({k, "echo", {}, {k % kNodes + 1}});
        outputs.push_back(k);
    }
    capnp::MallocMessageBuilder b;
    buildGraph(b, nodes, outputs);
    deliver("C", b);
    ASSERT_EQ(outbox.results.size(), kNodes);
    size_t bytes = 0;
    for (const auto& r : outbox.results) {
        EXPECT_EQ(r.status, wire::TaskResultStatus::REJECTED);
        bytes += r.error.size();
    }
    EXPECT_NE(outbox.results[0].error.find("cycle"), std::string::npos) << outbox.results[0].error;
    EXPECT_LT(bytes / kNodes, 400u) << "each answer carried the cycle's whole text";
    EXPECT_EQ(core->graphs().liveGraphs(), 0u);
}

TEST_F(SchedulerCoreTest, APlainTaskCannotTakeTheKeyOfAWaitingGraphNode) {
    clientHeartbeat("C");
    workerHeartbeat("W", "", 10);
    capnp::MallocMessageBuilder b;
    buildGraph(b, {{1, "echo", {"A"}, {}}, {2, "concat", {"B"}, {1}}}, {2});
    deliver("C", b);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    submit("C", 2, "impostor");  // the key of the waiting node
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].status, wire::TaskResultStatus::REJECTED);
    EXPECT_NE(outbox.results[0].error.find("node of a live graph"), std::string::npos)
        << outbox.results[0].error;
    result("W", outbox.tasks[0].handle, "A");
    ASSERT_EQ(outbox.tasks.size(), 2u);
    result("W", outbox.tasks[1].handle, "BA");
    ASSERT_EQ(outbox.results.size(), 2u) << "one answer for the node, none more";
    EXPECT_EQ(outbox.results[1].payload, "BA");
}

TEST_F(SchedulerCoreTest, AGraphWithNoOutputsIsNotKept) {
    clientHeartbeat("C");
    workerHeartbeat("W");
    capnp::MallocMessageBuilder b;
    buildGraph(b, {{1, "echo", {"A"}, {}}, {2, "echo", {"B"}, {1}}}, {});
    deliver("C", b);
    EXPECT_EQ(core->graphs().liveGraphs(), 0u);
    EXPECT_TRUE(outbox.tasks.empty());
    EXPECT_TRUE(outbox.results.empty());
}

TEST_F(SchedulerCoreTest, UnderCurveAnIdentityIsBoundToTheKeyThatRegisteredIt) {
    rolesOfNextSender = roleBit(PeerRole::worker);
    keyOfNextSender = "worker-key";
    workerHeartbeat("W");
    rolesOfNextSender = roleBit(PeerRole::client);
    keyOfNextSender = "alice-key";
    clientHeartbeat("C");
    submit("C", 1);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    // another client key claims C: told, and nothing it says counts
    keyOfNextSender = "mallory-key";
    const uint64_t droppedBefore = core->droppedMessages();
    submit("C", 2);
    capnp::MallocMessageBuilder disconnect;
    disconnect.initRoot<wire::Message>().initClientDisconnect().setKind(
        wire::ClientDisconnectKind::DISCONNECT);
    deliver("C", disconnect);
    EXPECT_EQ(core->droppedMessages(), droppedBefore + 2);
    ASSERT_FALSE(outbox.errors.empty());
    EXPECT_EQ(outbox.errors.back(),
              std::make_pair(std::string("C"), wire::ProtocolErrorCode::NOT_AUTHORIZED));
    EXPECT_EQ(outbox.tasks.size(), 1u) << "the claimant's task was taken";
    // C itself goes on
    rolesOfNextSender = roleBit(PeerRole::worker);
    keyOfNextSender = "worker-key";
    result("W", outbox.tasks[0].handle, "p");
    ASSERT_EQ(outbox.results.size(), 1u);
    EXPECT_EQ(outbox.results[0].taskId, 1u);
}

TEST_F(SchedulerCoreTest, AWorkerReadsOnlyTheObjectsOfTasksItHolds) {
    clientHeartbeat("C");
    workerHeartbeat("W1", "", 1);
    workerHeartbeat("W2", "", 1);
    capnp::MallocMessageBuilder b;
    auto p = b.initRoot<wire::Message>().initObjectPut();
    p.setObjectId(5);
    p.setName("secret");
    p.setTotalSize(6);
    p.setData(asData(std::string("s3cr3t")));
    deliver("C", b);
    submitWithObject("C", 1, 5);
    ASSERT_EQ(outbox.tasks.size(), 1u);
    const std::string holder = outbox.tasks[0].worker;
    const std::string other = holder == "W1" ? "W2" : "W1";
    const auto ask = [&](const std::string& worker) {
        capnp::MallocMessageBuilder m;
        auto request = m.initRoot<wire::Message>().initObjectRequest();
        request.setObjectId(uint64_t{1} << 32);  // the first object's handle: guessable
        request.setLength(100);
        deliver(worker, m);
        return outbox.chunks.back();
    };
    EXPECT_NE(ask(other).error, "") << "a worker with no task using it read it";
    EXPECT_EQ(ask(holder).bytes, "s3cr3t");
    EXPECT_EQ(ask(holder).bytes, "s3cr3t");
    result(holder, outbox.tasks[0].handle, "done");
    EXPECT_NE(ask(holder).error, "") << "read after its task ended";
}

TEST_F(SchedulerCoreTest, CapabilitySetsNoTaskUsesAreReleasedAndTheirIdsReused) {
    clientHeartbeat("C");
    workerHeartbeat("W", "gpu");
    submit("C", 1, "p", "gpu");  // runs and ends
    ASSERT_EQ(outbox.tasks.size(), 1u);
    result("W", outbox.tasks[0].handle, "r");
    submit("C", 2, "p", "blue");  // waits: no worker has blue
    // a graph whose second node (green) waits for its first (red, which no worker has either)
    capnp::MallocMessageBuilder g;
    buildGraph(g, {{10, "echo", {"x"}, {}}, {11, "echo", {}, {10}}}, {11});
    auto nodes = g.getRoot<wire::Message>().getTaskGraph().getNodes();
    capabilitiesToWire(parseCapabilities("red"), nodes[0].initCapabilities(1));
    capabilitiesToWire(parseCapabilities("green"), nodes[1].initCapabilities(1));
    deliver("C", g);
    submit("C", 2, "p", "unused");  // a duplicate of the live task 2: refused after its set was made
    const size_t before = core->capabilitySets().liveSets();
    EXPECT_EQ(before, 6u);  // {}, gpu, blue, red, green, unused
    for (auto passed = 0s; passed < SchedulerCore::kCapabilitySetIdleRelease + 20s; passed += 5s) {
        clientHeartbeat("C");  // all stay alive meanwhile
        workerHeartbeat("W", "gpu");
        tick(5s);
    }
    // gpu and unused went; blue has a queued task, red a queued node, green a waiting one
    EXPECT_EQ(core->capabilitySets().liveSets(), 4u);
    std::vector<std::string> live;
    for (CapabilitySetId id = 0; id < core->capabilitySets().size(); ++id) {
        if (core->capabilitySets()[id].live)
            live.push_back(formatCapabilities(core->capabilitySets()[id].capabilities));
    }
    EXPECT_EQ(live, (std::vector<std::string>{"", "blue", "red", "green"}));
    // a released id serves a new set, and the worker that has it is found for it
    workerHeartbeat("W2", "violet");
    const size_t sent = outbox.tasks.size();
    submit("C", 4, "p", "violet");
    ASSERT_EQ(outbox.tasks.size(), sent + 1);
    EXPECT_EQ(outbox.tasks.back().worker, "W2");
    EXPECT_EQ(core->capabilitySets().size(), 6u);  // no new id was needed
}

TEST_F(SchedulerCoreTest, OneClientCannotTakeEveryCapabilitySetFromTheOthers) {
    clientHeartbeat("greedy");
    clientHeartbeat("other");
    for (uint64_t id = 1; id <= CapabilitySetRegistry::kMaxSetsPerClient + 1; ++id)
        submit("greedy", id, "p", "made-up-" + std::to_string(id));
    ASSERT_FALSE(outbox.results.empty());
    EXPECT_EQ(outbox.results.back().taskId, CapabilitySetRegistry::kMaxSetsPerClient + 1);
    EXPECT_EQ(outbox.results.back().status, wire::TaskResultStatus::REJECTED);
    EXPECT_NE(outbox.results.back().error.find("distinct capability sets already"), std::string::npos)
        << outbox.results.back().error;
    const size_t refusals = outbox.results.size();
    submit("other", 1, "p", "gpu");
    EXPECT_EQ(outbox.results.size(), refusals);  // queued, not refused
    EXPECT_EQ(core->queuedTasks(), CapabilitySetRegistry::kMaxSetsPerClient + 1);
}

TEST_F(SchedulerCoreTest, MetricsLabelOnlyABoundedNumberOfCapabilitySetsWithBoundedNames) {
    // 8 clients bring 2,000 sets with names of 128 bytes, 64 names each: every set at the wire's limits
    uint64_t id = 1;
    for (int c = 0; c < 8; ++c) {
        const std::string client = "C" + std::to_string(c);
        clientHeartbeat(client);
        for (int s = 0; s < 250; ++s, ++id) {
            std::vector<std::pair<std::string, int64_t>> names;
            for (int n = 0; n < 64; ++n)
                names.emplace_back(std::string(120, 'a' + n % 26) + std::to_string(id), -1);
            capnp::MallocMessageBuilder b;
            submitRawCapabilities(b, id, names);
            deliver(client, b);
        }
    }
    ASSERT_EQ(core->capabilitySets().liveSets(), 2001u);
    const std::string m = MetricsExposition(*core).render();
    size_t series = 0;
    for (size_t at = m.find("\nscaler_capability_set_live_tasks{"); at != std::string::npos;
         at = m.find("\nscaler_capability_set_live_tasks{", at + 1))
        ++series;
    EXPECT_EQ(series, 256u);
    EXPECT_NE(m.find("scaler_capability_sets 2001\n"), std::string::npos);
    EXPECT_LT(m.size(), 1u << 20) << "a scrape of " << m.size() << " bytes";  // 2,000 full labels: 100 MB
}
