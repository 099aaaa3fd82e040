// WorkerSession without a socket: messages in, recorded messages out, time injected. The real TaskExecutor
// runs the tasks where results matter; where the session's decisions about running work matter (shutdown,
// a stopping scheduler, lost state), a scripted TaskExecution stands in, so nothing waits on a thread.
#include <gtest/gtest.h>
#include <poll.h>

#include "recording_sink.h"
#include "scaler/protocol/message_limits.h"
#include "scaler/worker/task_executor.h"
#include "scaler/worker/worker_session.h"

using namespace scaler;
using namespace scaler::worker;
using scaler::testing::IncomingMessage;
using scaler::testing::RecordingSink;
using namespace std::chrono_literals;
using W = wire::Message;

namespace {

// "wait" runs until interrupted or cancelled; anything else finishes as soon as it starts (echoing its
// payload); one task runs at a time, the rest queue.
class ScriptedExecution : public TaskExecution {
public:
    std::deque<ExecutorTask> queue;
    std::optional<uint64_t> runningHandle;
    std::vector<ExecutorOutcome> outcomes;
    int interrupts = 0;
    uint64_t done = 0;
    bool stopsWhenAsked = true;  // false: an interrupted task ends only at stopRunning(), as a slow one would
    uint64_t durationUs = 0;     // each finished task's reported run time

    void submit(std::vector<ExecutorTask> tasks) override {
        for (auto& t : tasks) queue.push_back(std::move(t));
        startNext();
    }
    CancelAnswer cancel(uint64_t handle, bool force) override {
        if (runningHandle == handle) {
            if (!force) return CancelAnswer::cancelFailed;
            finishRunning();
            return CancelAnswer::pending;
        }
        const auto before = queue.size();
        std::erase_if(queue, [&](const ExecutorTask& t) { return t.handle == handle; });
        return queue.size() < before ? CancelAnswer::cancelled : CancelAnswer::notFound;
    }
    size_t dropQueued() override { return std::exchange(queue, {}).size(); }
    void interruptRunning() override {
        ++interrupts;
        if (runningHandle && stopsWhenAsked) finishRunning();
    }
    void stopRunning() {
        if (runningHandle) finishRunning();
    }
    std::vector<ExecutorOutcome> takeOutcomes() override { return std::exchange(outcomes, {}); }
    bool hasOutcomes() const override { return !outcomes.empty(); }
    std::vector<std::pair<uint64_t, bool>> takeWaitingChanges() override { return {}; }
    std::optional<HungTask> hungTask(Clock::time_point, Clock::duration) const override {
        return std::nullopt;
    }
    size_t queued() const override { return queue.size(); }
    std::vector<std::string> functionNames() const override { return {"echo", "wait"}; }
    size_t runningCount() const override { return runningHandle ? 1 : 0; }
    uint64_t completed() const override { return done; }

private:
    void finishRunning() {
        ExecutorOutcome cancelled;
        cancelled.kind = ExecutorOutcome::Kind::cancelled;
        cancelled.handle = *runningHandle;
        outcomes.push_back(cancelled);
        runningHandle.reset();
        ++done;
        startNext();
    }
    void startNext() {
        while (!runningHandle && !queue.empty()) {
            ExecutorTask task = std::move(queue.front());
            queue.pop_front();
            if (task.functionName == "wait") {
                runningHandle = task.handle;
                return;
            }
            ExecutorOutcome result;
            result.handle = task.handle;
            result.payload = task.payload;
            result.durationUs = durationUs;
            outcomes.push_back(std::move(result));
            ++done;
        }
    }
};

class WorkerSessionTest : public ::testing::Test {
protected:
    WorkerSessionTest() {
        registry.add("echo", [](TaskContext&, std::string_view payload) { return std::string(payload); });
        registry.add("wait", [](TaskContext& context, std::string_view) {
            context.sleepFor(10s);  // until cancelled or interrupted
            return std::string();
        });
        config.schedulerAddress = "tcp://127.0.0.1:1";
        config.capabilities = parseCapabilities("linux,gpu=2");
        config.queueSize = 7;
        config.heartbeatIntervalSeconds = 2;
        config.deathTimeoutSeconds = 30;
        config.shutdownGraceSeconds = 5;
        config.memoryLimitBytes = 3u << 30;
    }

    void make() {
        executor = std::make_unique<TaskExecutor>(registry);
        session = std::make_unique<WorkerSession>(config, "W1", *executor, sink, "host-a", 42, now);
        session->start(now);
    }
    void makeScripted() {
        session = std::make_unique<WorkerSession>(config, "W1", scripted, sink, "host-a", 42, now);
        session->start(now);
    }
    void deliver(IncomingMessage message) { session->onMessage(message.reader(), now); }
    void tasks(std::vector<std::pair<uint64_t, std::string>> handlesAndFunctions) {
        deliver(IncomingMessage([&](W::Builder m) {
            auto list = m.initTasks(static_cast<unsigned>(handlesAndFunctions.size()));
            for (unsigned i = 0; i < handlesAndFunctions.size(); ++i) {
                list[i].setTaskId(handlesAndFunctions[i].first);
                list[i].setFunctionName(handlesAndFunctions[i].second);
                list[i].setPayload(capnp::Data::Reader(reinterpret_cast<const kj::byte*>("hi"), 2));
            }
        }));
    }
    // Waits (up to 10 s) for the executor to publish outcomes, then lets the session send them.
    void awaitOutcomes() {
        pollfd fd{executor->notifyFd(), POLLIN, 0};
        ASSERT_EQ(poll(&fd, 1, 10000), 1) << "no outcome within 10 s";
        session->onTick(now, false);
    }
    void advance(std::chrono::milliseconds by, bool shutdown = false) {
        now += by;
        session->onTick(now, shutdown);
    }

    FunctionRegistry registry;
    WorkerConfig config;
    RecordingSink sink;
    WorkerSession::TimePoint now = WorkerSession::TimePoint{} + 100s;
    std::unique_ptr<TaskExecutor> executor;
    ScriptedExecution scripted;
    std::unique_ptr<WorkerSession> session;
};

TEST_F(WorkerSessionTest, RegistersWithItsCapabilitiesAndHeartbeatsEveryInterval) {
    make();
    ASSERT_EQ(sink.each(W::WORKER_HEARTBEAT,
                        [](W::Reader m) {
                            const auto hb = m.getWorkerHeartbeat();
                            EXPECT_EQ(hb.getProtocolVersion(), wire::PROTOCOL_VERSION);
                            EXPECT_EQ(hb.getQueueSize(), 7u);
                            EXPECT_EQ(formatCapabilities(capabilitiesFromWire(hb.getCapabilities())),
                                      "gpu=2,linux");
                            EXPECT_EQ(hb.getPid(), 42u);
                            EXPECT_EQ(hb.getMemoryLimitBytes(), 3u << 30);
                            EXPECT_EQ(std::string(hb.getHostname().cStr()), "host-a");
                        }),
              1u);
    advance(1900ms);
    EXPECT_EQ(sink.each(W::WORKER_HEARTBEAT), 1u);
    advance(100ms);
    EXPECT_EQ(sink.each(W::WORKER_HEARTBEAT), 2u);  // echo or not: one lost echo must not silence it
}

TEST_F(WorkerSessionTest, TasksRunAndTheirResultsGoBack) {
    make();
    tasks({{11, "echo"}, {12, "nosuch"}});
    std::map<uint64_t, wire::TaskResultStatus> statuses;
    while (statuses.size() < 2 && !HasFatalFailure()) {
        awaitOutcomes();
        sink.each(W::TASK_RESULTS, [&](W::Reader m) {
            for (auto r : m.getTaskResults()) statuses[r.getTaskId()] = r.getStatus();
        });
    }
    ASSERT_EQ(statuses.size(), 2u);
    EXPECT_EQ(statuses[11], wire::TaskResultStatus::SUCCESS);
    EXPECT_EQ(statuses[12], wire::TaskResultStatus::FAILED);
}

TEST_F(WorkerSessionTest, AQueuedTaskIsCancelledAndConfirmed) {
    make();
    tasks({{1, "wait"}, {2, "echo"}});
    deliver(IncomingMessage([](W::Builder m) {
        auto c = m.initTaskCancels(1)[0];
        c.setTaskId(2);
        c.setForce(false);
    }));
    session->onTick(now, false);
    wire::CancelConfirmKind kind{};
    ASSERT_EQ(sink.each(W::TASK_CANCEL_CONFIRMS,
                        [&](W::Reader m) { kind = m.getTaskCancelConfirms()[0].getKind(); }),
              1u);
    EXPECT_EQ(kind, wire::CancelConfirmKind::CANCELLED);
}

TEST_F(WorkerSessionTest, ARestartedSchedulerIsJoinedAgainButNotWhileLeaving) {
    make();
    const auto notRegistered = [] {
        return IncomingMessage([](W::Builder m) {
            auto e = m.initProtocolError();
            e.setCode(wire::ProtocolErrorCode::NOT_REGISTERED);
            e.setMessage("send a heartbeat first");
        });
    };
    deliver(notRegistered());
    EXPECT_EQ(sink.each(W::WORKER_HEARTBEAT), 2u);
    advance(10ms, true);  // shutdown: nothing running, so it leaves at once
    EXPECT_EQ(session->phase(), WorkerSession::Phase::leaving);
    EXPECT_EQ(sink.each(W::DISCONNECT_REQUEST), 1u);
    deliver(notRegistered());
    EXPECT_EQ(sink.each(W::WORKER_HEARTBEAT), 2u);  // registering now would strand tasks on an exiting worker
    deliver(IncomingMessage([](W::Builder m) { m.initDisconnectResponse(); }));
    EXPECT_TRUE(session->done());
    EXPECT_EQ(session->exitCode(), 0);
}

TEST_F(WorkerSessionTest, ShutdownHandsBackQueuedTasksAndWaitsForTheRunningOne) {
    makeScripted();
    tasks({{1, "wait"}, {2, "echo"}, {3, "echo"}});
    ASSERT_TRUE(scripted.running());
    EXPECT_EQ(scripted.queued(), 2u);
    advance(10ms, true);
    EXPECT_EQ(session->phase(), WorkerSession::Phase::draining);
    EXPECT_EQ(scripted.queued(), 0u);  // handed back through the disconnect
    advance(1000ms, true);
    EXPECT_EQ(session->phase(), WorkerSession::Phase::draining);  // within the grace period
    EXPECT_EQ(scripted.interrupts, 0);
    advance(5000ms, true);
    EXPECT_EQ(session->phase(), WorkerSession::Phase::leaving);  // grace over: interrupted and returned
    EXPECT_EQ(scripted.interrupts, 1);
    EXPECT_EQ(sink.each(W::DISCONNECT_REQUEST), 1u);
    advance(2100ms, true);
    EXPECT_TRUE(session->done());  // no answer to the disconnect: leaves anyway
}

TEST_F(WorkerSessionTest, SilenceFromTheSchedulerPastTheDeathTimeoutExits) {
    make();
    advance(20000ms);
    deliver(IncomingMessage([](W::Builder m) { m.initWorkerHeartbeatEcho(); }));
    advance(29000ms);
    EXPECT_FALSE(session->done());  // the echo 29 s ago keeps it alive
    advance(2000ms);
    EXPECT_TRUE(session->done());
    EXPECT_EQ(session->exitCode(), 1);
}

TEST_F(WorkerSessionTest, ARefusalEndsTheSessionWithExitCodeOne) {
    make();
    deliver(IncomingMessage([](W::Builder m) {
        auto e = m.initProtocolError();
        e.setCode(wire::ProtocolErrorCode::VERSION_MISMATCH);
        e.setMessage("protocol version 1 is not supported");
    }));
    EXPECT_TRUE(session->done());
    EXPECT_EQ(session->exitCode(), 1);
}

}  // namespace

namespace {

TEST_F(WorkerSessionTest, AResultTooLargeForOneMessageTravelsInPartsThatFitTheLimit) {
    make();
    deliver(IncomingMessage([](W::Builder m) { m.initWorkerHeartbeatEcho().setMaxMessageBytes(64u << 10); }));
    std::string big(300u << 10, 'x');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    deliver(IncomingMessage([&](W::Builder m) {
        auto task = m.initTasks(1)[0];
        task.setTaskId(5);
        task.setFunctionName("echo");
        task.setPayload(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(big.data()), big.size()));
    }));
    while (sink.each(W::TASK_RESULTS) == 0 && !HasFatalFailure()) awaitOutcomes();
    std::string assembled;  // every part is sent at once, as the result is flushed
    uint64_t parts = 0;
    {
        sink.each(W::TASK_RESULTS, [&](W::Reader m) {
            for (auto r : m.getTaskResults()) {
                EXPECT_EQ(r.getStatus(), wire::TaskResultStatus::SUCCESS);
                EXPECT_EQ(r.getTotalSize(), big.size());
                EXPECT_EQ(r.getOffset(), assembled.size()) << "parts in order";
                EXPECT_LE(r.getPayload().size() + kEnvelopeBytes, 64u << 10) << "a part over the limit";
                assembled +=
                    std::string(reinterpret_cast<const char*>(r.getPayload().begin()), r.getPayload().size());
                ++parts;
            }
        });
    }
    EXPECT_EQ(assembled, big);
    EXPECT_GE(parts, 5u);
}

}  // namespace

namespace {

TEST_F(WorkerSessionTest, AStoppingSchedulerStopsTheWorkButNotTheWorker) {
    makeScripted();
    tasks({{1, "wait"}, {2, "echo"}, {3, "echo"}});
    ASSERT_TRUE(scripted.running());
    deliver(IncomingMessage([](W::Builder m) { m.setSchedulerStopping("stopping"); }));
    EXPECT_EQ(scripted.queued(), 0u);
    EXPECT_EQ(scripted.interrupts, 1);
    EXPECT_FALSE(scripted.running());  // interrupted
    EXPECT_FALSE(session->done());     // and waiting for a scheduler
    EXPECT_EQ(session->phase(), WorkerSession::Phase::serving);
}

TEST_F(WorkerSessionTest, ASchedulerThatLostOurStateGetsNoOldResultsAndUsAfreshOnceIdle) {
    makeScripted();
    scripted.stopsWhenAsked = false;
    deliver(IncomingMessage([](W::Builder m) { m.initWorkerHeartbeatEcho().setSchedulerIncarnation(7); }));
    tasks({{1, "wait"}, {2, "echo"}});
    ASSERT_TRUE(scripted.running());
    sink.clear();
    const auto stateLost = [&](uint64_t claimed) {
        deliver(IncomingMessage([=](W::Builder m) {
            auto e = m.initProtocolError();
            e.setCode(wire::ProtocolErrorCode::STATE_LOST);
            e.setClaimedIncarnation(claimed);
            e.setSchedulerIncarnation(9);
        }));
    };
    stateLost(7);
    EXPECT_EQ(scripted.queued(), 0u);
    EXPECT_EQ(scripted.interrupts, 1);
    ASSERT_TRUE(scripted.running());  // still stopping
    advance(10ms);
    EXPECT_EQ(sink.each(W::WORKER_HEARTBEAT), 0u)
        << "registered again while a task of the old one still runs";
    tasks({{3, "echo"}});  // from the scheduler that forgot us, before we registered again: not ours
    EXPECT_EQ(scripted.queued(), 0u);
    scripted.stopRunning();
    advance(10ms);
    EXPECT_EQ(sink.each(W::TASK_RESULTS), 0u) << "no result of a task the new scheduler never gave";
    std::vector<std::pair<uint64_t, bool>> heartbeats;
    sink.each(W::WORKER_HEARTBEAT, [&](W::Reader m) {
        heartbeats.emplace_back(m.getWorkerHeartbeat().getSchedulerIncarnation(),
                                m.getWorkerHeartbeat().getFreshSession());
    });
    EXPECT_EQ(heartbeats, (std::vector<std::pair<uint64_t, bool>>{{9, true}}));
    stateLost(7);  // an answer to a heartbeat from before: nothing more
    advance(10ms);
    EXPECT_EQ(sink.each(W::WORKER_HEARTBEAT), 1u);
    EXPECT_FALSE(session->done());

    deliver(IncomingMessage([](W::Builder m) { m.initWorkerHeartbeatEcho().setSchedulerIncarnation(9); }));
    tasks({{4, "echo"}});  // from the scheduler we registered with: ours, and answered
    advance(10ms);
    uint64_t answered = 0;
    sink.each(W::TASK_RESULTS, [&](W::Reader m) { answered = m.getTaskResults()[0].getTaskId(); });
    EXPECT_EQ(answered, 4u);
}

}  // namespace

TEST_F(WorkerSessionTest, AnObjectIsFetchedOnceInChunksForEveryTaskThatNeedsIt) {
    registry.add("concat", [](TaskContext& context, std::string_view) {
        std::string out;
        for (std::string_view a : context.arguments()) out.append(a);
        return out;
    });
    make();
    const uint64_t handle = (uint64_t{1} << 32) | 3;
    const std::string object(20u << 20, 'o');  // three 8 MiB requests
    const auto objectTask = [&](uint64_t taskHandle) {
        deliver(IncomingMessage([&](W::Builder m) {
            auto task = m.initTasks(1)[0];
            task.setTaskId(taskHandle);
            task.setFunctionName("concat");
            auto args = task.initArgs(2);
            args[0].setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>("<"), 1));
            args[1].setObject(handle);
            args[1].setObjectSize(object.size());
        }));
    };
    objectTask(1);
    objectTask(2);  // while the first fetch is under way: no second fetch
    std::vector<std::pair<uint64_t, uint64_t>> requests;
    sink.each(W::OBJECT_REQUEST, [&](W::Reader m) {
        EXPECT_EQ(m.getObjectRequest().getObjectId(), handle);
        requests.emplace_back(m.getObjectRequest().getOffset(), m.getObjectRequest().getLength());
    });
    ASSERT_EQ(requests.size(), 3u);
    EXPECT_EQ(requests[2].first, 16u << 20);
    EXPECT_EQ(requests[2].second, 4u << 20);
    for (const auto& [offset, length] : requests) {
        deliver(IncomingMessage([&](W::Builder m) {
            auto chunk = m.initObjectChunk();
            chunk.setObjectId(handle);
            chunk.setTotalSize(object.size());
            chunk.setOffset(offset);
            chunk.setData(
                capnp::Data::Reader(reinterpret_cast<const kj::byte*>(object.data()) + offset, length));
        }));
    }
    std::map<uint64_t, size_t> resultSizes;
    while (resultSizes.size() < 2 && !HasFatalFailure()) {
        awaitOutcomes();
        sink.each(W::TASK_RESULTS, [&](W::Reader m) {
            for (auto r : m.getTaskResults()) resultSizes[r.getTaskId()] = r.getPayload().size();
        });
    }
    EXPECT_EQ(resultSizes[1], object.size() + 1);
    EXPECT_EQ(resultSizes[2], object.size() + 1);
    // a later task finds it cached: no new request; the heartbeat counts one fetch
    objectTask(3);
    EXPECT_EQ(sink.each(W::OBJECT_REQUEST), 3u);
    advance(2s);
    uint64_t fetched = 0;
    sink.each(W::WORKER_HEARTBEAT,
              [&](W::Reader m) { fetched = m.getWorkerHeartbeat().getObjectsFetched(); });
    EXPECT_EQ(fetched, 1u);
}

TEST_F(WorkerSessionTest, AnObjectTheSchedulerNoLongerHasFailsItsTasksWithTheReason) {
    make();
    deliver(IncomingMessage([&](W::Builder m) {
        auto task = m.initTasks(1)[0];
        task.setTaskId(5);
        task.setFunctionName("echo");
        auto arg = task.initArgs(1)[0];
        arg.setObject(77);
        arg.setObjectSize(10);
    }));
    deliver(IncomingMessage([&](W::Builder m) {
        auto chunk = m.initObjectChunk();
        chunk.setObjectId(77);
        chunk.setError("object 77 is not in the store (deleted)");
    }));
    std::string error;
    sink.each(W::TASK_RESULTS, [&](W::Reader m) {
        for (auto r : m.getTaskResults()) {
            EXPECT_EQ(r.getTaskId(), 5u);
            EXPECT_EQ(r.getStatus(), wire::TaskResultStatus::FAILED);
            error = r.getError().cStr();
        }
    });
    EXPECT_NE(error.find("not in the store"), std::string::npos) << error;
}

TEST_F(WorkerSessionTest, ClosedHandshakesAloneDoNotEndTheWorkerButARefusedKeyDoes) {
    // through a TCP proxy, a scheduler restarting looks like connections closed before the handshake: the
    // worker keeps trying (its death timeout decides), as it would with no proxy (found by the partition
    // soak)
    make();
    session->onHandshakeFailure({"closed 3 connections in a row before the handshake completed", false}, now);
    session->onHandshakeFailure({"closed 3 connections in a row before the handshake completed", false},
                                now + 1s);
    EXPECT_FALSE(session->done());
    session->onHandshakeFailure({"refused this process's CURVE key", true}, now + 2s);
    EXPECT_TRUE(session->done());
    EXPECT_EQ(session->exitCode(), 1);
}

TEST_F(WorkerSessionTest, ResultsWaitUpToTheBatchWindowWhileWorkIsInHandAndGoAtOnceWhenNoneIs) {
    config.resultBatchMicroseconds = 1000;
    scripted.durationUs = 5000;  // one task in hand lasts longer than twice the window
    makeScripted();
    const auto resultIds = [&] {
        std::vector<uint64_t> ids;
        sink.each(W::TASK_RESULTS, [&](W::Reader m) {
            for (auto r : m.getTaskResults()) ids.push_back(r.getTaskId());
        });
        return ids;
    };
    tasks({{1, "echo"}});
    session->onTick(now, false);  // no task has finished before: nothing to judge by, sent at once
    EXPECT_EQ(resultIds(), (std::vector<uint64_t>{1}));
    EXPECT_FALSE(session->holdsResults());

    tasks({{2, "echo"}, {3, "echo"}, {4, "wait"}});  // 2 and 3 done, 4 running
    advance(100ms);  // a window after the last batch: sent at once, though work is in hand
    EXPECT_EQ(resultIds(), (std::vector<uint64_t>{1, 2, 3}));

    tasks({{5, "echo"}});    // queued behind 4
    scripted.stopRunning();  // 4 ends (cancelled), 5 runs and finishes
    tasks({{6, "wait"}});
    now += 200us;
    session->onTick(now, false);
    EXPECT_TRUE(session->holdsResults()) << "within the window, with work in hand";
    EXPECT_EQ(resultIds().size(), 3u);
    EXPECT_LE(session->waitBudget(now), 800us);
    EXPECT_GT(session->waitBudget(now), 700us);
    now += 800us;
    session->onTick(now, false);
    EXPECT_FALSE(session->holdsResults());
    EXPECT_EQ(resultIds(), (std::vector<uint64_t>{1, 2, 3, 5}));

    scripted.stopRunning();  // nothing left in hand
    tasks({{7, "echo"}});
    now += 100us;
    session->onTick(now, false);
    EXPECT_EQ(resultIds(), (std::vector<uint64_t>{1, 2, 3, 5, 7})) << "a lone result waits for nothing";
}

TEST_F(WorkerSessionTest, WithoutABatchWindowEveryResultGoesAtOnce) {
    config.resultBatchMicroseconds = 0;
    scripted.durationUs = 5000;
    makeScripted();
    tasks({{1, "echo"}});
    session->onTick(now, false);
    tasks({{2, "echo"}, {3, "wait"}});
    now += 10us;
    session->onTick(now, false);
    EXPECT_FALSE(session->holdsResults());
    EXPECT_EQ(sink.each(W::TASK_RESULTS), 2u);
}
