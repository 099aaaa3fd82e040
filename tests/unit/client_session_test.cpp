// ClientSession without a socket or threads: submissions and messages in, recorded messages out, futures
// completed, time injected.
#include <gtest/gtest.h>

#include "client_session.h"
#include "recording_sink.h"
#include "scaler/protocol/message_codec.h"

using namespace scaler;
using namespace scaler::detail;
using scaler::testing::IncomingMessage;
using scaler::testing::RecordingSink;
using namespace std::chrono_literals;
using W = wire::Message;

namespace {

Submission plain(std::shared_ptr<FutureState> state, std::string function, std::string payload,
                 uint32_t timeoutMs) {
    Submission s;
    s.state = std::move(state);
    s.function = std::move(function);
    s.payload = std::move(payload);
    s.timeoutMs = timeoutMs;
    return s;
}

class ClientSessionTest : public ::testing::Test {
protected:
    ClientSessionTest() {
        options.heartbeatIntervalSeconds = 2;
        options.timeoutSeconds = 60;
        session.start(now);
    }
    std::shared_ptr<FutureState> submit(uint64_t id, uint32_t timeoutMs = 0) {
        auto state = std::make_shared<FutureState>(id);
        std::vector<Submission> batch;
        batch.push_back(plain(state, "echo", "hi", timeoutMs));
        batch.back().shareBytes = submissionBytes(batch.back());  // as ClientCore::queueAdmitted does
        window.take(1, batch.back().shareBytes);
        session.submit(batch, now);
        return state;
    }
    void deliver(IncomingMessage message) { session.onMessage(message.reader(), now); }
    void echo() {
        deliver(IncomingMessage([](W::Builder m) { m.initClientHeartbeatEcho(); }));
    }
    void result(uint64_t id, wire::TaskResultStatus status, const std::string& payload) {
        deliver(IncomingMessage([&](W::Builder m) {
            auto r = m.initTaskResults(1)[0];
            r.setTaskId(id);
            r.setStatus(status);
            r.setPayload(
                capnp::Data::Reader(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
        }));
    }

    ClientOptions options;
    RecordingSink sink;
    SubmissionWindow window;
    std::atomic<uint64_t> unmatched{0};
    ClientSession::TimePoint now = ClientSession::TimePoint{} + 100s;
    ClientSession session{sink, options, "tcp://127.0.0.1:1", now, window, unmatched};
};

TEST_F(ClientSessionTest, RegistersAndIsConnectedOnTheFirstEcho) {
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 1u);
    EXPECT_FALSE(session.connected());
    echo();
    EXPECT_TRUE(session.connected());
    EXPECT_TRUE(session.registered());
}

TEST_F(ClientSessionTest, TheEchoSetsTheSharesAndEndedTasksGiveTheirRoomBack) {
    deliver(IncomingMessage([](W::Builder m) {
        auto e = m.initClientHeartbeatEcho();
        e.setClientTaskShare(7);
        e.setClientByteShare(4096);
    }));
    EXPECT_EQ(window.taskShare(), 7u);
    EXPECT_EQ(window.byteShare(), 4096u);
    submit(1);
    submit(2);
    EXPECT_EQ(window.pending(), 2u);
    EXPECT_EQ(window.pendingBytes(), 4u);  // "hi" twice
    result(1, wire::TaskResultStatus::SUCCESS, "x");
    EXPECT_EQ(window.pending(), 1u);
    EXPECT_EQ(window.pendingBytes(), 2u);
    echo();  // a scheduler that does not say: no limit
    EXPECT_EQ(window.taskShare(), 0u);
}

TEST_F(ClientSessionTest, ManySubmissionsTravelInFramesOfAtMostTheLimit) {
    std::vector<Submission> batch;
    const size_t n = ClientSession::kMaxTasksPerFrame + 10;
    for (uint64_t id = 1; id <= n; ++id)
        batch.push_back(plain(std::make_shared<FutureState>(id), "noop", "", 0));
    session.submit(batch, now);
    std::vector<size_t> sizes;
    sink.each(W::TASKS, [&](W::Reader m) { sizes.push_back(m.getTasks().size()); });
    EXPECT_EQ(sizes, (std::vector<size_t>{ClientSession::kMaxTasksPerFrame, 10}));
    EXPECT_EQ(session.pending(), n);
}

TEST_F(ClientSessionTest, AResultCompletesItsFutureAndAStrayOneIsCounted) {
    auto state = submit(5);
    result(5, wire::TaskResultStatus::SUCCESS, "out");
    EXPECT_TRUE(state->done);
    EXPECT_EQ(state->outcome, Outcome::success);
    EXPECT_EQ(state->result.copyAll(), "out");
    EXPECT_EQ(window.pending(), 0u);
    EXPECT_EQ(window.pendingBytes(), 0u);
    result(5, wire::TaskResultStatus::SUCCESS, "again");
    EXPECT_EQ(unmatched.load(), 1u);
    EXPECT_EQ(state->result.copyAll(), "out");
}

TEST_F(ClientSessionTest, ATaskPastItsDeadlineTimesOutAndIsCancelledAtTheScheduler) {
    auto state = submit(9, 500);
    now += 400ms;
    session.onTick(now);
    EXPECT_FALSE(state->done);
    now += 200ms;
    session.onTick(now);
    EXPECT_TRUE(state->done);
    EXPECT_EQ(state->outcome, Outcome::timedOut);
    uint64_t cancelled = 0;
    ASSERT_EQ(sink.each(W::TASK_CANCELS, [&](W::Reader m) { cancelled = m.getTaskCancels()[0].getTaskId(); }),
              1u);
    EXPECT_EQ(cancelled, 9u);
}

TEST_F(ClientSessionTest, SilencePastTheTimeoutFailsEveryPendingFutureOnce) {
    echo();
    auto a = submit(1);
    auto b = submit(2);
    now += 59s;
    session.onTick(now);
    EXPECT_FALSE(a->done);
    now += 2s;
    session.onTick(now);
    EXPECT_EQ(a->outcome, Outcome::unreachable);
    EXPECT_EQ(b->outcome, Outcome::unreachable);
    EXPECT_NE(a->error.find("no answer from the scheduler at tcp://127.0.0.1:1 for 60"), std::string::npos);
    EXPECT_EQ(session.pending(), 0u);
}

TEST_F(ClientSessionTest, WorkAfterTheSchedulerWasLostFailsWithinTheTimeoutOfItsOwn) {
    echo();
    auto before = submit(1);
    now += 61s;
    session.onTick(now);
    ASSERT_EQ(before->outcome, Outcome::unreachable);
    // a new task and a new object, 61 s into the silence: each gets the timeout from when it came
    auto late = submit(2);
    auto upload = std::make_shared<UploadState>();
    session.upload({7, "f", std::make_shared<const StringSource>("abc"), upload}, now);
    now += 59s;
    session.onTick(now);
    EXPECT_FALSE(late->done);
    EXPECT_FALSE(upload->done);
    now += 2s;
    session.onTick(now);
    EXPECT_EQ(late->outcome, Outcome::unreachable);
    EXPECT_NE(late->error.find("no answer from the scheduler"), std::string::npos);
    EXPECT_TRUE(upload->done);
    EXPECT_TRUE(upload->unreachable);
    EXPECT_EQ(session.pending(), 0u);
}

TEST_F(ClientSessionTest, WorkAfterTheSchedulerWasLostWaitsForOneThatComesBackInTime) {
    echo();
    now += 61s;
    session.onTick(now);
    auto late = submit(2);
    now += 30s;
    session.onTick(now);
    echo();  // heard from: a restarted scheduler's stateLost and the resend take it from here
    now += 40s;
    session.onTick(now);
    EXPECT_FALSE(late->done);
    result(2, wire::TaskResultStatus::SUCCESS, "back");
    EXPECT_EQ(late->result.copyAll(), "back");
}

IncomingMessage stateLost(uint64_t claimed, uint64_t incarnation) {
    return IncomingMessage([=](W::Builder m) {
        auto e = m.initProtocolError();
        e.setCode(wire::ProtocolErrorCode::STATE_LOST);
        e.setClaimedIncarnation(claimed);
        e.setSchedulerIncarnation(incarnation);
    });
}

IncomingMessage echoFrom(uint64_t incarnation) {
    return IncomingMessage(
        [=](W::Builder m) { m.initClientHeartbeatEcho().setSchedulerIncarnation(incarnation); });
}

IncomingMessage objectStored(uint64_t id, uint64_t bytes) {
    return IncomingMessage([=](W::Builder m) {
        auto ack = m.initObjectPutAck();
        ack.setObjectId(id);
        ack.setReceivedBytes(bytes);
    });
}

ObjectUpload objectUpload(uint64_t id, std::string bytes) {
    return {id, "data", std::make_shared<const StringSource>(std::move(bytes)),
            std::make_shared<UploadState>()};
}

Submission usingObject(uint64_t taskId, uint64_t objectId) {
    Submission s = plain(std::make_shared<FutureState>(taskId), "length", "", 0);
    s.hasArguments = true;
    s.arguments.push_back({SubmissionArgument::Kind::object, {}, objectId});
    return s;
}

std::vector<uint64_t> sentTaskIds(const RecordingSink& sink) {
    std::vector<uint64_t> ids;
    sink.each(W::TASKS, [&](W::Reader m) {
        for (auto task : m.getTasks()) ids.push_back(task.getTaskId());
    });
    return ids;
}

TEST_F(ClientSessionTest, HeartbeatsNameTheSchedulerIncarnationAndAFreshSessionUntilItsFirstEcho) {
    bool fresh = false;
    uint64_t incarnation = 1;
    sink.each(W::CLIENT_HEARTBEAT, [&](W::Reader m) {
        fresh = m.getClientHeartbeat().getFreshSession();
        incarnation = m.getClientHeartbeat().getSchedulerIncarnation();
    });
    EXPECT_TRUE(fresh);
    EXPECT_EQ(incarnation, 0u);
    deliver(echoFrom(7));
    session.onTick(now + 16s);  // idle: the next heartbeat after the idle interval
    sink.each(W::CLIENT_HEARTBEAT, [&](W::Reader m) {
        fresh = m.getClientHeartbeat().getFreshSession();
        incarnation = m.getClientHeartbeat().getSchedulerIncarnation();
    });
    EXPECT_FALSE(fresh);
    EXPECT_EQ(incarnation, 7u);
}

TEST_F(ClientSessionTest, AnIdleClientHeartbeatsAtTheIdleIntervalAndABusyOneAtTheBusyInterval) {
    options.idleHeartbeatIntervalSeconds = 15;
    echo();
    ASSERT_EQ(sink.each(W::CLIENT_HEARTBEAT), 1u);  // the first, at start
    session.onTick(now + 2500ms);
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 1u) << "idle: nothing due after the busy interval";
    session.onTick(now + 15500ms);
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 2u) << "idle: one after the idle interval";

    now += 16s;
    submit(1);  // work pulls the next heartbeat in to the busy interval
    session.onTick(now + 2500ms);
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 3u);
    session.onTick(now + 5000ms);
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 4u) << "busy: every 2 s while the task is unfinished";
}

TEST_F(ClientSessionTest, ASchedulerThatLostOurStateGetsObjectsThenEveryUnfinishedTaskAfterAFreshHeartbeat) {
    deliver(echoFrom(7));
    session.upload(objectUpload(5, "abc"), now);
    deliver(objectStored(5, 3));
    std::vector<Submission> batch;
    batch.push_back(usingObject(1, 5));
    batch.push_back(plain(std::make_shared<FutureState>(2), "echo", "two", 0));
    batch.push_back(plain(std::make_shared<FutureState>(3), "echo", "three", 0));
    auto first = batch[0].state;
    for (Submission& s : batch) window.take(1, s.shareBytes = submissionBytes(s));
    session.submit(batch, now);
    result(2, wire::TaskResultStatus::SUCCESS, "two");
    sink.clear();

    // a scheduler that never heard of us (a restart): nothing failed, everything goes again
    deliver(stateLost(7, 9));
    EXPECT_FALSE(first->done);
    EXPECT_EQ(session.pending(), 2u);
    std::vector<std::pair<uint64_t, bool>> heartbeats;
    sink.each(W::CLIENT_HEARTBEAT, [&](W::Reader m) {
        heartbeats.emplace_back(m.getClientHeartbeat().getSchedulerIncarnation(),
                                m.getClientHeartbeat().getFreshSession());
    });
    EXPECT_EQ(heartbeats, (std::vector<std::pair<uint64_t, bool>>{{9, true}}));
    EXPECT_EQ(sink.each(W::OBJECT_PUT), 1u);
    EXPECT_TRUE(sentTaskIds(sink).empty()) << "tasks wait until the objects they use are stored again";

    deliver(objectStored(5, 3));
    EXPECT_EQ(sentTaskIds(sink), (std::vector<uint64_t>{1, 3}));  // in submission order, the finished one not

    // more answers to heartbeats from before the fresh start change nothing
    deliver(stateLost(7, 9));
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 1u);
    EXPECT_EQ(session.resends(), 1u);

    result(1, wire::TaskResultStatus::SUCCESS, "3");
    EXPECT_EQ(first->result.copyAll(), "3");
    EXPECT_EQ(unmatched.load(), 0u);
}

TEST_F(ClientSessionTest, ASchedulerThatTimedUsOutGetsOurTasksAgainToo) {
    deliver(echoFrom(7));
    auto state = submit(1);
    sink.clear();
    deliver(stateLost(7, 7));
    EXPECT_EQ(sentTaskIds(sink), (std::vector<uint64_t>{1}));
    EXPECT_FALSE(state->done);
    // the answers to the other heartbeats buffered during the cut claim the same incarnation: sent once only
    deliver(stateLost(7, 7));
    deliver(stateLost(7, 7));
    EXPECT_EQ(sentTaskIds(sink), (std::vector<uint64_t>{1}));
    EXPECT_EQ(session.resends(), 1u);
}

TEST_F(ClientSessionTest, NotRegisteredAnswersOnlyBringAHeartbeatAtMostEveryHundredMilliseconds) {
    deliver(echoFrom(7));
    auto state = submit(1);
    sink.clear();
    const auto notRegistered = [&] {
        deliver(IncomingMessage(
            [](W::Builder m) { m.initProtocolError().setCode(wire::ProtocolErrorCode::NOT_REGISTERED); }));
    };
    notRegistered();
    notRegistered();
    EXPECT_FALSE(state->done);
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 1u);
    now += 200ms;
    notRegistered();
    EXPECT_EQ(sink.each(W::CLIENT_HEARTBEAT), 2u);
}

TEST_F(ClientSessionTest, ADeletedObjectAnUnfinishedTaskUsesIsResentUntilTheTaskEnds) {
    deliver(echoFrom(7));
    session.upload(objectUpload(5, "abc"), now);
    session.upload(objectUpload(6, "unused"), now);
    deliver(objectStored(5, 3));
    deliver(objectStored(6, 6));
    std::vector<Submission> batch;
    batch.push_back(usingObject(1, 5));
    window.take(1, batch.back().shareBytes = submissionBytes(batch.back()));
    session.submit(batch, now);
    session.deleteObjects({5, 6}, false);
    sink.clear();
    deliver(stateLost(7, 9));
    std::vector<uint64_t> resent;
    sink.each(W::OBJECT_PUT, [&](W::Reader m) { resent.push_back(m.getObjectPut().getObjectId()); });
    EXPECT_EQ(resent, (std::vector<uint64_t>{5}));
    deliver(objectStored(5, 3));
    deliver(echoFrom(9));
    result(1, wire::TaskResultStatus::SUCCESS, "3");
    sink.clear();
    deliver(stateLost(9, 11));
    EXPECT_EQ(sink.each(W::OBJECT_PUT), 0u) << "deleted and no longer used";
}

TEST_F(ClientSessionTest, AGraphIsResentWithTheOutputsStillAwaited) {
    deliver(echoFrom(7));
    GraphSubmission graph;
    for (uint64_t id : {10, 11, 12})
        graph.nodes.push_back(plain(std::make_shared<FutureState>(id), "echo", "x", 0));
    graph.outputs = {11, 12};
    window.take(2, 0);  // a graph counts its outputs
    session.submitGraph(graph, now);
    result(11, wire::TaskResultStatus::SUCCESS, "x");
    sink.clear();
    deliver(stateLost(7, 9));
    std::vector<uint64_t> outputs;
    size_t nodes = 0;
    ASSERT_EQ(sink.each(W::TASK_GRAPH,
                        [&](W::Reader m) {
                            nodes = m.getTaskGraph().getNodes().size();
                            for (uint64_t id : m.getTaskGraph().getOutputs()) outputs.push_back(id);
                        }),
              1u);
    EXPECT_EQ(nodes, 3u);
    EXPECT_EQ(outputs, (std::vector<uint64_t>{12}));
    result(12, wire::TaskResultStatus::SUCCESS, "x");
    sink.clear();
    deliver(stateLost(7, 11));
    EXPECT_EQ(sink.each(W::TASK_GRAPH), 0u) << "a finished graph is not kept";
}

TEST_F(ClientSessionTest, ARefusalKeepsTheFirstReason) {
    auto state = submit(1);
    deliver(IncomingMessage([](W::Builder m) {
        auto e = m.initProtocolError();
        e.setCode(wire::ProtocolErrorCode::NOT_AUTHORIZED);
        e.setMessage("not a client key");
    }));
    session.refuse("second reason");
    EXPECT_EQ(session.refusal(), "scheduler refused this client: not a client key");
    EXPECT_EQ(state->outcome, Outcome::unreachable);
}

TEST_F(ClientSessionTest, ARefusedShutdownIsAnsweredAndTheSessionGoesOn) {
    echo();
    session.requestShutdown();
    wire::ClientDisconnectKind kind{};
    ASSERT_EQ(sink.each(W::CLIENT_DISCONNECT, [&](W::Reader m) { kind = m.getClientDisconnect().getKind(); }),
              1u);
    EXPECT_EQ(kind, wire::ClientDisconnectKind::SHUTDOWN);
    EXPECT_EQ(session.shutdownAnswers(), 0u);
    deliver(IncomingMessage([](W::Builder m) { m.initClientShutdownResponse().setAccepted(false); }));
    EXPECT_EQ(session.shutdownAnswers(), 1u);
    EXPECT_EQ(session.shutdownAnswer(), std::optional<bool>(false));
    EXPECT_FALSE(session.closeFinished());
    auto state = submit(4);
    result(4, wire::TaskResultStatus::SUCCESS, "ok");
    EXPECT_EQ(state->result.copyAll(), "ok");
}

TEST_F(ClientSessionTest, ADisconnectIsFinishedAtOnce) {
    EXPECT_FALSE(session.closeFinished());
    session.beginClose(CloseRequest::disconnect);
    EXPECT_TRUE(session.closeFinished());
    session.beginClose(CloseRequest::disconnect);
    EXPECT_EQ(sink.each(W::CLIENT_DISCONNECT), 1u);  // said once
}

}  // namespace

namespace {

TEST_F(ClientSessionTest, FramesStayWellUnderTheSchedulersMessageLimit) {
    deliver(IncomingMessage([](W::Builder m) { m.initClientHeartbeatEcho().setMaxMessageBytes(1u << 20); }));
    EXPECT_EQ(session.schedulerMessageLimit(), 1u << 20);
    std::vector<Submission> batch;
    for (uint64_t id = 1; id <= 5; ++id) {
        batch.push_back(plain(std::make_shared<FutureState>(id), "echo", std::string(200u << 10, 'x'), 0));
    }
    session.submit(batch, now);
    std::vector<size_t> sizes;
    sink.each(W::TASKS, [&](W::Reader m) { sizes.push_back(m.getTasks().size()); });
    EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));  // at most half the limit of payload per frame
}

}  // namespace

namespace {

TEST_F(ClientSessionTest, AStoppingSchedulerFailsEveryPendingFutureAtOnceSayingWhy) {
    echo();
    auto state = submit(1);
    deliver(IncomingMessage(
        [](W::Builder m) { m.setSchedulerStopping("the scheduler at tcp://x:1 is stopping"); }));
    EXPECT_TRUE(state->done);
    EXPECT_EQ(state->outcome, Outcome::unreachable);
    EXPECT_EQ(state->error, "the scheduler at tcp://x:1 is stopping; this task was not finished");
    EXPECT_FALSE(session.registered());  // the next scheduler to answer gets a fresh registration
}

}  // namespace

namespace {

TEST_F(ClientSessionTest, AResultInPartsStaysInTheFramesItCameInUntilRead) {
    // the frames as the I/O thread receives them: each part is kept in its frame, not copied, and the next
    // frame loaded into the same reader does not disturb it
    FrameReader reader;
    std::vector<std::weak_ptr<const zmq::message_t>> kept;
    session.keepFramesWith([&] {
        kept.push_back(reader.keepFrame());
        return kept.back().lock();
    });
    auto state = submit(4);
    const std::string whole = "0123456789abcdefghij";
    for (size_t offset = 0; offset < whole.size(); offset += 8) {
        capnp::MallocMessageBuilder builder;
        auto r = builder.initRoot<W>().initTaskResults(1)[0];
        r.setTaskId(4);
        r.setStatus(wire::TaskResultStatus::SUCCESS);
        const std::string piece = whole.substr(offset, 8);
        r.setPayload(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(piece.data()), piece.size()));
        r.setTotalSize(whole.size());
        r.setOffset(offset);
        zmq::message_t frame = encodeFrame(builder);
        const Status loaded = reader.load(frame);
        ASSERT_TRUE(loaded) << loaded.why();
        session.onMessage(reader.root(), now);
    }
    ASSERT_TRUE(state->done);
    EXPECT_EQ(state->result.partCount(), 3u);
    ASSERT_EQ(kept.size(), 3u);
    for (const auto& frame : kept) EXPECT_FALSE(frame.expired());  // the result holds each frame
    capnp::MallocMessageBuilder next;
    next.initRoot<W>().initClientHeartbeatEcho();
    zmq::message_t echo = encodeFrame(next);
    const Status loaded = reader.load(echo);
    ASSERT_TRUE(loaded) << loaded.why();
    EXPECT_EQ(state->result.takeAll(), whole);
    for (const auto& frame : kept) EXPECT_TRUE(frame.expired());  // and lets go once read
}

}  // namespace
