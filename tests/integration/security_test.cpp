// CURVE: only keys on a role's allow-list get in, each only in its role, and nothing crosses the wire in
// plain text.
#include <gtest/gtest.h>
#include <httplib.h>

#include <capnp/message.h>

#include <chrono>
#include <iostream>
#include <zmq.hpp>

#include "scaler/client/client.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/wire/message.capnp.h"
#include "tcp_recording_relay.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

namespace {

// Key pairs made by scaler_keygen: scheduler, client, worker, adapter, and an intruder on no list.
class Keys {
public:
    Keys() : dir_(tempDir()) {
        for (const char* name : {"scheduler", "client", "worker", "adapter", "intruder"}) {
            ChildProcess keygen({binary("scaler_keygen"), name, "--out-dir", dir_}, dir_ + "/keygen.log");
            EXPECT_EQ(keygen.waitExit(10s), 0) << keygen.log();
        }
    }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    std::string publicKey(const std::string& name) const {
        return readCurvePublicKeyFile(file(name + ".pub"));
    }
    std::vector<std::string> schedulerArgs() const {
        return {"--curve-secret-key-file", file("scheduler.key"), "--curve-client-keys",
                file("client.pub"),        "--curve-worker-keys", file("worker.pub"),
                "--curve-adapter-keys",    file("adapter.pub")};
    }
    std::vector<std::string> peerArgs(const std::string& name) const {
        return {"--curve-server-key-file", file("scheduler.pub"), "--curve-secret-key-file",
                file(name + ".key")};
    }
    ClientOptions clientOptions(const std::string& name) const {
        ClientOptions options;
        options.curve = loadCurveClientKeys(file("scheduler.pub"), file(name + ".key"));
        options.connectTimeoutSeconds = 2;
        return options;
    }

private:
    std::string dir_;
};

std::vector<std::string> withExtra(std::vector<std::string> args, const std::vector<std::string>& extra) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// A CURVE scheduler with one authenticated worker, its monitor read with the client key.
struct SecureCluster {
    Keys keys;
    TestCluster cluster;
    explicit SecureCluster(std::vector<std::string> extraSchedulerArgs = {})
        : cluster(withExtra(keys.schedulerArgs(), extraSchedulerArgs)) {
        cluster.useMonitorKeys(keys.clientOptions("client").curve);
        cluster.addWorker(keys.peerArgs("worker"));
    }
};

uint16_t portOf(const std::string& address) {
    return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

std::string echoThroughRelay(TestCluster& cluster, const ClientOptions& options, const std::string& payload,
                             std::string& captured) {
    TcpRecordingRelay relay(portOf(cluster.address()));
    std::string result;
    {
        Client client("tcp://127.0.0.1:" + std::to_string(relay.port()), options);
        result = client.submit("echo", payload).get();
    }
    captured = relay.captured();
    return result;
}

}  // namespace

TEST(Security, AllowedKeysWorkAndTheWireCarriesNoPlainText) {
    SecureCluster secure;
    auto& [keys, cluster] = secure;
    ASSERT_TRUE(cluster.waitForWorkers(1));
    const std::string marker = "PLAINTEXT-MARKER-c0ffee";
    std::string captured;
    EXPECT_EQ(echoThroughRelay(cluster, keys.clientOptions("client"), marker, captured), marker);
    EXPECT_GT(captured.size(), 500u);  // the whole conversation went through the relay
    EXPECT_EQ(captured.find(marker), std::string::npos);
    EXPECT_EQ(captured.find("echo"), std::string::npos);  // not even the function name
}

TEST(Security, WithoutCurveTheSameCaptureShowsThePayload) {  // the control: the capture does see plain text
    TestCluster cluster;
    cluster.addWorker();
    ASSERT_TRUE(cluster.waitForWorkers(1));
    const std::string marker = "PLAINTEXT-MARKER-c0ffee";
    std::string captured;
    ClientOptions options;
    EXPECT_EQ(echoThroughRelay(cluster, options, marker, captured), marker);
    EXPECT_NE(captured.find(marker), std::string::npos);
}

TEST(Security, UnknownKeysAndWrongRolesAreKeptOut) {
    const uint16_t metricsPort = pickFreePortPair();
    SecureCluster secure({"--metrics-address", "127.0.0.1:" + std::to_string(metricsPort)});
    auto& [keys, cluster] = secure;
    ASSERT_TRUE(cluster.waitForWorkers(1));

    // no keys, or a key on no list: the handshake fails and the client says so, nothing is submitted
    const auto refusal = [&](const ClientOptions& options) {
        try {
            Client refused(cluster.address(), options);
        } catch (const SchedulerUnreachableError& e) {
            return std::string(e.what());
        }
        return std::string("(let in)");
    };
    ClientOptions plain;
    plain.connectTimeoutSeconds = 20;  // the refusal must come from the handshake, well before this
    EXPECT_NE(refusal(plain).find("handshake with the scheduler"), std::string::npos) << refusal(plain);
    auto intruderOptions = keys.clientOptions("intruder");
    intruderOptions.connectTimeoutSeconds = 20;
    EXPECT_NE(refusal(intruderOptions).find("refused this process's CURVE key"), std::string::npos);
    // a worker key may not act as a client
    try {
        Client wrongRole(cluster.address(), keys.clientOptions("worker"));
        ADD_FAILURE() << "a worker key was let in as a client";
    } catch (const SchedulerUnreachableError& e) {
        EXPECT_NE(std::string(e.what()).find("not allowed to act as a client"), std::string::npos)
            << e.what();
    }
    // a client key may not register as a worker, nor as an adapter: both are told and exit
    auto& clientAsWorker = cluster.addWorker(keys.peerArgs("client"));
    EXPECT_EQ(WEXITSTATUS(clientAsWorker.waitExit(20s)), 1);
    EXPECT_NE(clientAsWorker.log().find("not allowed to act as a worker"), std::string::npos);
    auto clientAsAdapterArgs = keys.peerArgs("client");
    clientAsAdapterArgs.insert(clientAsAdapterArgs.end(),
                               {"--worker-curve-secret-key-file", keys.file("worker.key")});
    auto& clientAsAdapter = cluster.addNativeAdapter("intruding-adapter", clientAsAdapterArgs);
    EXPECT_EQ(WEXITSTATUS(clientAsAdapter.waitExit(20s)), 1);
    // an intruder's worker never registers: it is told and exits; the scheduler logs the refused key
    auto& intruderWorker = cluster.addWorker(keys.peerArgs("intruder"));
    EXPECT_EQ(WEXITSTATUS(intruderWorker.waitExit(20s)), 1);
    EXPECT_NE(intruderWorker.log().find("refused this process's CURVE key"), std::string::npos);
    EXPECT_NE(cluster.scheduler().log().find(keys.publicKey("intruder")), std::string::npos);

    // the legitimate client gets every task, run by the one legitimate worker
    Client client(cluster.address(), keys.clientOptions("client"));
    std::vector<Future> futures;
    for (int i = 0; i < 50; ++i) futures.push_back(client.submit("echo", std::to_string(i)));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(futures[i].get(), std::to_string(i));
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["succeeded"] == 50; }));
    EXPECT_EQ(cluster.snapshot()["workers"].size(), 1u);

    // the refused handshakes reach the metrics
    httplib::Client http("127.0.0.1", metricsPort);
    std::string refusals;
    EXPECT_TRUE(waitUntil(
        [&] {
            auto response = http.Get("/metrics");
            if (!response) return false;
            const auto at = response->body.find("\nscaler_curve_refusals_total ");
            if (at == std::string::npos) return false;
            refusals = response->body.substr(at + 1, response->body.find('\n', at + 1) - at - 1);
            return refusals != "scaler_curve_refusals_total 0";
        },
        10s))
        << refusals;
}

// Peers on the scheduler's host may use ipc:// (a Unix socket: no TCP stack, lower latency); CURVE and the
// allow-lists hold there too, for every kind of peer and for the monitor.
TEST(Security, OverIpcEveryPeerAuthenticatesAndUnknownKeysAreKeptOut) {
    Keys keys;
    auto args = keys.schedulerArgs();
    args.insert(args.end(), {"--policy-content", "allocate=even_load; scaling=vanilla"});
    TestCluster cluster(args, TestCluster::Transport::ipc);
    ASSERT_EQ(cluster.address().rfind("ipc://", 0), 0u);
    cluster.useMonitorKeys(keys.clientOptions("client").curve);
    auto adapterArgs = keys.peerArgs("adapter");
    adapterArgs.insert(adapterArgs.end(), {"--worker-curve-secret-key-file", keys.file("worker.key")});
    cluster.addNativeAdapter("local", adapterArgs);
    {
        Client client(cluster.address(), keys.clientOptions("client"));
        EXPECT_EQ(client.submit("echo", "over a unix socket").get(), "over a unix socket");
    }
    EXPECT_TRUE(waitUntil([&] { return hasScalingEvent(cluster.snapshot(), "local", "start"); }));
    EXPECT_GE(cluster.snapshot()["workers"].size(), 1u);

    ChildProcess submit({binary("scaler_submit"), cluster.address(), "-f", "echo", "--payload", "cli", "-n",
                         "3", "-q", "--curve-server-key-file", keys.file("scheduler.pub"),
                         "--curve-secret-key-file", keys.file("client.key")},
                        tempDir() + "/submit.log");
    EXPECT_EQ(submit.waitExit(30s), 0);

    // a key on no allow-list is refused over ipc too
    auto intruder = keys.clientOptions("intruder");
    intruder.connectTimeoutSeconds = 20;
    try {
        Client refused(cluster.address(), intruder);
        ADD_FAILURE() << "a key on no allow-list was let in over ipc";
    } catch (const SchedulerUnreachableError& e) {
        EXPECT_NE(std::string(e.what()).find("refused this process's CURVE key"), std::string::npos)
            << e.what();
    }
}

TEST(Security, AnAdapterAndTheWorkersItStartsAuthenticate) {
    Keys keys;
    auto args = keys.schedulerArgs();
    args.insert(args.end(), {"--policy-content", "allocate=even_load; scaling=vanilla"});
    TestCluster cluster(args);
    cluster.useMonitorKeys(keys.clientOptions("client").curve);
    auto adapterArgs = keys.peerArgs("adapter");
    adapterArgs.insert(adapterArgs.end(), {"--worker-curve-secret-key-file", keys.file("worker.key")});
    cluster.addNativeAdapter("secure", adapterArgs);
    Client client(cluster.address(), keys.clientOptions("client"));
    std::vector<Future> futures;
    for (int i = 0; i < 20; ++i) futures.push_back(client.submit("sleep_ms", "20"));
    for (auto& f : futures) EXPECT_NO_THROW(f.get());
    // snapshots come every second: wait for one taken after the start
    EXPECT_TRUE(waitUntil([&] { return hasScalingEvent(cluster.snapshot(), "secure", "start"); }));
}

// A connection of its own that claims a live client's identity (learnt, say, from a log): without CURVE too,
// an identity belongs to the connection that holds it, so the claimant neither receives the client's answers
// nor acts for it.
TEST(Security, AConnectionClaimingALiveClientsIdentityGetsNothingAndChangesNothing) {
    TestCluster cluster;
    cluster.addWorker();
    Client victim(cluster.address());
    const ObjectRef table = victim.sendObject(std::string(1000, 't'), "table");
    EXPECT_EQ(victim.submit("length", Arguments{table}).get(), "1000");

    zmq::context_t context;
    zmq::socket_t impostor(context, zmq::socket_type::dealer);
    impostor.set(zmq::sockopt::routing_id, victim.identity());
    impostor.set(zmq::sockopt::linger, 0);
    impostor.connect(cluster.address());
    const auto send = [&](auto fill) {
        capnp::MallocMessageBuilder builder;
        fill(builder.initRoot<wire::Message>());
        zmq::message_t frame = encodeFrame(builder);
        (void)impostor.send(frame, zmq::send_flags::dontwait);
    };
    send(
        [](wire::Message::Builder m) { m.initClientHeartbeat().setProtocolVersion(wire::PROTOCOL_VERSION); });
    send([](wire::Message::Builder m) { m.initObjectDelete().setAll(true); });
    send([](wire::Message::Builder m) {
        m.initClientDisconnect().setKind(wire::ClientDisconnectKind::DISCONNECT);
    });

    // for two seconds the victim's object stays and its tasks run; the claimant hears nothing
    const auto until = std::chrono::steady_clock::now() + 2s;
    int rounds = 0;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_EQ(victim.submit("length", Arguments{table}).get(), "1000") << "after " << rounds << " rounds";
        ++rounds;
    }
    zmq::message_t heard;
    EXPECT_FALSE(impostor.recv(heard, zmq::recv_flags::dontwait)) << "the claimant received a message";
    const auto snapshot = cluster.snapshot();
    EXPECT_EQ(snapshot["clients"], 1);
    // watchers see only the start of a client's identity's random part
    const std::string shown = snapshot["client_list"][0]["id"];
    EXPECT_NE(shown, victim.identity());
    EXPECT_EQ(victim.identity().rfind(shown.substr(0, shown.size() - 3), 0), 0u) << shown;
    EXPECT_LT(shown.size(), victim.identity().size());
}

// A peer that holds a wrong public key for the scheduler: the scheduler cannot read its hello and just
// closes, so each side says what is wrong instead of waiting in silence (it used to be 30 s of "no answer").
TEST(Security, AWrongSchedulerPublicKeyIsReportedAtOnceOnBothSides) {
    SecureCluster secure;
    auto& [keys, cluster] = secure;
    ClientOptions options = keys.clientOptions("client");
    options.curve.serverPublicKey = keys.publicKey("intruder");  // not the scheduler's
    options.connectTimeoutSeconds = 30;
    const auto started = std::chrono::steady_clock::now();
    try {
        Client client(cluster.address(), options);
        ADD_FAILURE() << "a client with a wrong scheduler key connected";
    } catch (const SchedulerUnreachableError& e) {
        EXPECT_NE(std::string(e.what()).find("--curve-server-key-file"), std::string::npos) << e.what();
    }
    const auto took = std::chrono::steady_clock::now() - started;
    std::cout << "wrong scheduler key reported after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
    EXPECT_LT(took, 10s);
    EXPECT_TRUE(waitUntil([&] {
        return cluster.scheduler().log().find("failed the handshake") != std::string::npos;
    })) << cluster.scheduler().log();
}

// scaler_top and the dashboard against a CURVE monitor: without keys, or with a key on no list, each says the
// handshake failed at once instead of "no snapshot within 5 s" or an empty page and no log line.
TEST(Security, WatchersWithoutTheRightKeysSayTheHandshakeFailed) {
    SecureCluster secure;
    const std::string dir = tempDir();
    const auto start = std::chrono::steady_clock::now();
    ChildProcess keyless({binary("scaler_top"), secure.cluster.monitorAddress(), "--once", "--timeout", "30"},
                         dir + "/top-keyless.log");
    EXPECT_EQ(keyless.waitExit(20s), 1 << 8) << keyless.log();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(keyless.log().find("handshake"), std::string::npos) << keyless.log();
    EXPECT_LT(seconds, 10) << "well before its 30 s timeout";
    std::printf("scaler_top without keys said why in %.2f s\n", seconds);

    std::vector<std::string> intruderArgs{binary("scaler_top"), secure.cluster.monitorAddress(), "--once"};
    for (const auto& a : secure.keys.peerArgs("intruder")) intruderArgs.push_back(a);
    ChildProcess intruder(intruderArgs, dir + "/top-intruder.log");
    EXPECT_EQ(intruder.waitExit(20s), 1 << 8) << intruder.log();
    EXPECT_NE(intruder.log().find("CURVE key"), std::string::npos) << intruder.log();

    ChildProcess dashboard(
        {binary("scaler_dashboard"), secure.cluster.monitorAddress(), "--http-address", "127.0.0.1:0"},
        dir + "/dashboard.log");
    EXPECT_TRUE(waitUntil([&] { return dashboard.log().find("no snapshots: ") != std::string::npos; }, 10s))
        << dashboard.log();
    EXPECT_NE(dashboard.log().find("handshake"), std::string::npos) << dashboard.log();
}
