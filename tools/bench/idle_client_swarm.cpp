#include "idle_client_swarm.h"

#include <vector>

#include <capnp/message.h>
#include <zmq.hpp>

#include "scaler/protocol/identity.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::bench {

IdleClientSwarm::IdleClientSwarm(std::string address, size_t clients,
                                 std::chrono::milliseconds heartbeatInterval)
    : address_(std::move(address)), clients_(clients), interval_(heartbeatInterval) {
    thread_ = std::thread([this] { run(); });
}

IdleClientSwarm::~IdleClientSwarm() {
    stop_ = true;
    thread_.join();
}

void IdleClientSwarm::run() {
    zmq::context_t context(1);
    context.set(zmq::ctxopt::max_sockets, static_cast<int>(clients_ + 16));
    std::vector<zmq::socket_t> sockets;
    sockets.reserve(clients_);
    uint64_t incarnation = 0;
    std::vector<bool> fresh(clients_, true);
    for (size_t i = 0; i < clients_; ++i) {
        sockets.emplace_back(context, zmq::socket_type::dealer);
        sockets.back().set(zmq::sockopt::routing_id, makeIdentity("Client", "idle"));
        sockets.back().set(zmq::sockopt::linger, 0);
        sockets.back().connect(address_);
    }
    // heartbeats spread evenly over the interval, as independent clients' would be; echoes read every 100 ms
    const auto start = std::chrono::steady_clock::now();
    const auto step = interval_ / static_cast<int64_t>(std::max<size_t>(clients_, 1));
    size_t next = 0;
    uint64_t round = 0;
    auto nextRead = start;
    FrameReader reader(1 << 20);
    while (!stop_) {
        const auto now = std::chrono::steady_clock::now();
        while (start + interval_ * static_cast<int64_t>(round) + step * static_cast<int64_t>(next) <= now) {
            capnp::MallocMessageBuilder builder;
            auto heartbeat = builder.initRoot<wire::Message>().initClientHeartbeat();
            heartbeat.setProtocolVersion(wire::PROTOCOL_VERSION);
            heartbeat.initResource();
            heartbeat.setSchedulerIncarnation(fresh[next] ? 0 : incarnation);
            heartbeat.setFreshSession(fresh[next]);
            fresh[next] = false;
            zmq::message_t frame = encodeFrame(builder);
            (void)sockets[next].send(frame, zmq::send_flags::dontwait);
            if (++next == clients_) {
                next = 0;
                ++round;
            }
        }
        if (now >= nextRead) {
            for (auto& socket : sockets) {
                zmq::message_t reply;
                while (socket.recv(reply, zmq::recv_flags::dontwait)) {
                    if (reader.load(reply) && reader.root().which() == wire::Message::CLIENT_HEARTBEAT_ECHO) {
                        incarnation = reader.root().getClientHeartbeatEcho().getSchedulerIncarnation();
                    }
                }
            }
            nextRead = now + std::chrono::milliseconds(100);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace scaler::bench
