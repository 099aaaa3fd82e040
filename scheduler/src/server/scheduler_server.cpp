#include "scaler/scheduler/server/scheduler_server.h"
#include "scaler/protocol/retry_interrupted.h"

#include <malloc.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include <capnp/message.h>
#include <zmq.hpp>
#include "scaler/common/log.h"
#include "scaler/protocol/connection_keepalive.h"

#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/curve_socket.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/scheduler/monitoring/metrics_exposition.h"
#include "scaler/scheduler/monitoring/metrics_http_server.h"
#include "scaler/scheduler/monitoring/monitor_snapshot_writer.h"
#include "scaler/scheduler/routing/scheduler_core.h"
#include "scaler/scheduler/server/batching_outbox.h"
#include "scaler/scheduler/server/connection_watch.h"
#include "scaler/scheduler/server/curve_authenticator.h"

namespace scaler::scheduler {
namespace {
constexpr auto kTickInterval = std::chrono::milliseconds(250);
constexpr uint64_t kQuietFramesPerTick = 100;
constexpr auto kSnapshotInterval = std::chrono::seconds(1);
// Bound one drain so timers and flushes still run under a flood of messages: by count, and by time, since a
// message may be costly (an object chunk is a copy of megabytes) and workers fetching objects keep the queue
// full; without the time bound, tasks staged for other peers waited for whole transfers (seconds).
constexpr int kMaxMessagesPerDrain = 20000;
constexpr auto kMaxDrainTime = std::chrono::milliseconds(5);
// Large frames (a burst of tasks) are allocated by ZeroMQ's I/O thread and freed by ours; glibc keeps what a
// burst freed in the arenas, about 60 bytes per task of a million-task burst. Handing it back once the
// scheduler is quiet keeps its memory to what it holds. Not while busy: the next frames would fault the pages
// in again (a fifth of the task path's time in a profile), as a fixed mmap threshold would per frame.
void returnFreedMemory() {
    constexpr size_t kWorthReturning = 4u << 20;
    if (mallinfo2().fordblks >= kWorthReturning) malloc_trim(0);
}

// The role the ZAP handler granted this message's connection and its CURVE key, from its User-Id ("role
// key"); no role when it has none.
RoleSet rolesOf(zmq::message_t& message, std::string_view& key) {
    const char* user = zmq_msg_gets(message.handle(), "User-Id");
    if (user == nullptr) return 0;
    const std::string_view text(user);
    const size_t space = text.find(' ');
    const std::string_view role = text.substr(0, space);
    key = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    for (PeerRole candidate : {PeerRole::client, PeerRole::worker, PeerRole::adapter}) {
        if (role == roleName(candidate)) return roleBit(candidate);
    }
    return 0;
}
zmq::socket_t bindRouter(zmq::context_t& context, const SchedulerConfig& config) {
    zmq::socket_t router(context, zmq::socket_type::router);
    if (config.curveEnabled()) applyCurveServer(router, config.curveSecretKey, kSchedulerZapDomain);
    router.set(zmq::sockopt::router_mandatory, 1);
    // An identity belongs to the connection that holds it: a second connection claiming it is refused (with
    // handover it would take the first one's answers, results included). A connection that died silently is
    // noticed by ZMTP heartbeats and let go within kDeadConnectionMs, so its peer's reconnect is accepted
    // then.
    router.set(zmq::sockopt::router_handover, 0);
    router.set(zmq::sockopt::heartbeat_ivl, kConnectionPingIntervalMs);
    router.set(zmq::sockopt::heartbeat_timeout, kDeadConnectionMs);
    router.set(zmq::sockopt::tcp_maxrt, kDeadConnectionMs);
    router.set(zmq::sockopt::sndhwm, 0);
    router.set(zmq::sockopt::rcvhwm, 0);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(config.maxMessageBytes));
    try {
        router.bind(config.address);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error("cannot bind the scheduler address " + config.address + ": " + e.what());
    }
    return router;
}

zmq::socket_t bindMonitor(zmq::context_t& context, const SchedulerConfig& config) {
    zmq::socket_t monitor(context, zmq::socket_type::pub);
    monitor.set(zmq::sockopt::linger, 0);
    if (config.curveEnabled()) applyCurveServer(monitor, config.curveSecretKey, kMonitorZapDomain);
    monitor.set(zmq::sockopt::sndhwm, 16);  // a slow monitor loses snapshots, never slows the scheduler
    try {
        monitor.bind(config.monitorAddress);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error("cannot bind the monitor address " + config.monitorAddress + ": " +
                                 e.what() + " (--monitor-address chooses another)");
    }
    return monitor;
}

// Hands the core what is waiting on the router, within kMaxMessagesPerDrain messages and kMaxDrainTime;
// returns how many messages it took.
uint64_t drainMessages(zmq::socket_t& router, FrameReader& reader, SchedulerCore& core,
                       ConnectionWatch& connections, bool curve) {
    std::string keyScratch;
    const auto deadline = std::chrono::steady_clock::now() + kMaxDrainTime;
    int n = 0;
    for (; n < kMaxMessagesPerDrain; ++n) {
        if (n > 0 && std::chrono::steady_clock::now() >= deadline) break;
        zmq::message_t identity;
        if (!retryInterrupted([&] { return router.recv(identity, zmq::recv_flags::dontwait); })) break;
        zmq::message_t payload;
        bool haveFrame = identity.more() && retryInterrupted([&] {
                                                return router.recv(payload, zmq::recv_flags::none);
                                            }).has_value();
        bool extraFrames = false;
        while (payload.more()) {  // only [identity, payload] is valid
            extraFrames = true;
            (void)retryInterrupted([&] { return router.recv(payload, zmq::recv_flags::none); });
        }
        const std::string_view id(static_cast<const char*>(identity.data()), identity.size());
        connections.noteMessage(haveFrame ? payload : identity, id);
        if (!haveFrame || extraFrames) {
            core.onUndecodableFrame(id, "expected exactly one frame");
            continue;
        }
        std::string_view key;  // points into the frame's metadata: copied before the frame is reused
        const RoleSet roles = curve ? rolesOf(payload, key) : kEveryRole;  // before load takes it
        keyScratch.assign(key);
        if (const Status loaded = reader.load(payload); !loaded) {
            core.onUndecodableFrame(id, loaded.why());
            continue;
        }
        core.onMessage(id, reader.root(), roles, keyScratch);
    }
    return static_cast<uint64_t>(n);
}

void publishMonitorSnapshot(zmq::socket_t& monitor, const SchedulerCore& core,
                            ProcessResourceSampler& sampler, uint64_t framesReceived, uint64_t framesSent) {
    capnp::MallocMessageBuilder builder;
    auto snapshot = builder.initRoot<wire::Message>().initMonitorSnapshot();
    MonitorSnapshotWriter(core).write(snapshot);
    resourceToWire(sampler.sample(), snapshot.initResource());
    snapshot.setFramesReceived(framesReceived);
    snapshot.setFramesSent(framesSent);
    zmq::message_t frame = encodeFrame(builder);
    (void)retryInterrupted([&] { return monitor.send(frame, zmq::send_flags::dontwait); });
}

std::unique_ptr<MetricsHttpServer> startMetrics(const SchedulerConfig& config) {
    if (config.metricsAddress.empty()) return nullptr;
    auto metrics = std::make_unique<MetricsHttpServer>(config.metricsHost, config.metricsPort);
    log::process().info("metrics at http://{}:{}/metrics", config.metricsHost, metrics->port());
    return metrics;
}

void announce(const SchedulerConfig& config) {
    log::process().info(
        "scheduler listening on {}, monitor on {}, policy \"{}\", worker timeout {} s, client timeout {} "
        "s{}{}",
        config.address, config.monitorAddress, config.policy.toString(), config.workerTimeoutSeconds,
        config.clientTimeoutSeconds, config.protectedMode ? ", protected" : "",
        config.curveEnabled() ? ", CURVE with allow-lists" : "");

    if (config.allowUnauthenticated && !config.curveEnabled()) {
        log::security().warn(
            "listening without CURVE (--allow-unauthenticated): anyone who can reach {} can submit tasks, "
            "register "
            "workers and run commands on them",
            config.address);
    }
}

void reportStop(const SchedulerCore& core, const BatchingOutbox& outbox, uint64_t queued, uint64_t onWorkers,
                uint64_t framesReceived) {
    log::process().info(
        "scheduler stopping: {} tasks succeeded, {} failed, {} cancelled, {} still queued, {} abandoned on "
        "workers; "
        "{} frames received, {} sent, {} sends to departed peers failed, {} malformed or misdirected "
        "messages "
        "dropped",
        core.counts()[TaskState::succeeded], core.counts()[TaskState::failed],
        core.counts()[TaskState::cancelled], queued, onWorkers, framesReceived, outbox.framesSent(),
        outbox.sendFailures(), core.droppedMessages());
}

}  // namespace

SchedulerServer::SchedulerServer(SchedulerConfig config) : config_(std::move(config)) {}

void SchedulerServer::run() {
    zmq::context_t context(1);
    std::optional<CurveAuthenticator> authenticator;
    if (config_.curveEnabled()) authenticator.emplace(context, config_.curveAllowLists);
    zmq::socket_t router = bindRouter(context, config_);
    zmq::socket_t monitor = bindMonitor(context, config_);
    // port 0 binds any free port: from here on the addresses are the ones bound
    config_.address = router.get(zmq::sockopt::last_endpoint);
    config_.monitorAddress = monitor.get(zmq::sockopt::last_endpoint);
    announce(config_);
    std::unique_ptr<MetricsHttpServer> metrics = startMetrics(config_);
    if (config_.incarnation == 0) config_.incarnation = drawIncarnation();
    log::process().info("scheduler incarnation {:016x}", config_.incarnation);
    BatchingOutbox outbox(router, config_.maxMessageBytes, config_.incarnation);
    SchedulerCore core(config_, outbox, std::chrono::steady_clock::now(), std::chrono::system_clock::now());
    outbox.attachTaskTable(core.tasks());
    FrameReader reader(config_.maxMessageBytes);
    ProcessResourceSampler sampler;

    auto nextTick = std::chrono::steady_clock::now() + kTickInterval;
    auto nextSnapshot = std::chrono::steady_clock::now();
    ConnectionWatch connections(context, router);
    uint64_t framesReceived = 0;
    uint64_t framesAtLastTick = 0;
    zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0},
                               {connections.events().handle(), 0, ZMQ_POLLIN, 0}};
    const auto publishSnapshot = [&] {
        publishMonitorSnapshot(monitor, core, sampler, framesReceived, outbox.framesSent());
    };

    while (!shutdownRequested() && !core.shutdownRequested()) {
        const auto now = std::chrono::steady_clock::now();
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::min(nextTick, nextSnapshot) - now);
        try {
            zmq::poll(items, 2, std::max<std::chrono::milliseconds>(wait, std::chrono::milliseconds(0)));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
            continue;
        }
        core.setNow(std::chrono::steady_clock::now(), std::chrono::system_clock::now());
        // closes first: their events were queued before anything a reconnected peer sends
        for (const std::string& identity : connections.takeClosed()) core.onConnectionClosed(identity);
        framesReceived += drainMessages(router, reader, core, connections, config_.curveEnabled());
        core.dispatch();
        outbox.flush();

        const auto after = std::chrono::steady_clock::now();
        if (after >= nextTick) {
            core.setNow(after, std::chrono::system_clock::now());
            core.onTick();
            core.dispatch();
            outbox.flush();
            if (framesReceived - framesAtLastTick < kQuietFramesPerTick) returnFreedMemory();
            framesAtLastTick = framesReceived;
            nextTick = after + kTickInterval;
        }
        if (after >= nextSnapshot) {
            publishSnapshot();
            if (metrics) {
                const uint64_t refused =
                    (authenticator ? authenticator->refusals() : 0) + connections.handshakeFailures();
                metrics->publish(
                    MetricsExposition(core, {refused, framesReceived, outbox.framesSent()}).render());
            }
            nextSnapshot = after + kSnapshotInterval;
        }
    }
    uint64_t onWorkers = 0;
    const uint64_t queued = core.queuedTasks();
    if (!core.shutdownRequested()) {
        // a signal, not a client's cluster shutdown: tell everyone at once rather than let them time out
        onWorkers = core.stopServing("the scheduler at " + config_.address + " is stopping (signal)");
        router.set(zmq::sockopt::linger, 1000);  // let the notices leave before the socket closes
    }
    outbox.flush();
    publishSnapshot();
    reportStop(core, outbox, queued, onWorkers, framesReceived);
}

}  // namespace scaler::scheduler
