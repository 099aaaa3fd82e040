#include "scaler/scheduler/server/connection_watch.h"
#include "scaler/protocol/retry_interrupted.h"

#include <cstdint>
#include <cstring>

#include "scaler/common/log.h"
#include "scaler/common/printable.h"

namespace scaler::scheduler {
namespace {
constexpr const char* kEndpoint = "inproc://scheduler-router-connections";
}

ConnectionWatch::ConnectionWatch(zmq::context_t& context, zmq::socket_t& router)
    : router_(&router), events_(context, zmq::socket_type::pair) {
    if (zmq_socket_monitor(router.handle(), kEndpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        throw zmq::error_t();
    }
    events_.connect(kEndpoint);
}

void ConnectionWatch::close() {
    // As HandshakeWatch::close: a monitor left running leaks the endpoint frame of each event it cannot send
    // once the event socket is gone (libzmq 4.3.4), and the router's close makes such events.
    if (router_ != nullptr && router_->handle() != nullptr)
        (void)zmq_socket_monitor(router_->handle(), nullptr, 0);
    router_ = nullptr;
    events_.close();
}

void ConnectionWatch::noteMessage(zmq::message_t& wireFrame, std::string_view identity) {
    // ZMQ_SRCFD: the descriptor of the connection the frame arrived on
    const int fd = zmq_msg_get(wireFrame.handle(), ZMQ_SRCFD);
    if (fd < 0) return;
    if (static_cast<size_t>(fd) >= identityByFd_.size()) identityByFd_.resize(static_cast<size_t>(fd) + 1);
    std::string& known = identityByFd_[static_cast<size_t>(fd)];
    if (known == identity) return;  // the common case: one string compare per message
    known.assign(identity);
    fdByIdentity_[known] = fd;
}

void ConnectionWatch::noteHandshakeFailure(std::string_view address, uint32_t error) {
    ++handshakeFailures_;
    // the event loop's edge: it may read the clock
    const auto heldBack = handshakeLog_.admit(address, std::chrono::steady_clock::now());
    if (!heldBack) return;
    log::security().warn(
        "a connection from {} failed the handshake (ZeroMQ error {}): with CURVE, the peer may hold a wrong "
        "public "
        "key for this scheduler or use no CURVE at all ({} more from it not logged; {} failed so far)",
        printable(address, 100), error, *heldBack, handshakeFailures_);
}

std::vector<std::string> ConnectionWatch::takeClosed() {
    std::vector<std::string> closed;
    for (;;) {
        zmq::message_t event;
        if (!retryInterrupted([&] { return events_.recv(event, zmq::recv_flags::dontwait); })) break;
        zmq::message_t address;
        // the second frame: the endpoint
        (void)retryInterrupted([&] { return events_.recv(address, zmq::recv_flags::none); });
        if (event.size() < 6) continue;
        uint16_t kind;
        uint32_t value;
        std::memcpy(&kind, event.data(), sizeof kind);
        std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
        if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || kind == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            noteHandshakeFailure(std::string_view(static_cast<const char*>(address.data()), address.size()),
                                 value);
            continue;
        }
        const auto fd = static_cast<size_t>(value);
        if (fd >= identityByFd_.size() || identityByFd_[fd].empty()) continue;
        std::string identity = std::move(identityByFd_[fd]);
        identityByFd_[fd].clear();
        const auto latest = fdByIdentity_.find(identity);
        if (latest == fdByIdentity_.end() || latest->second != static_cast<int>(fd)) continue;  // reconnected
        fdByIdentity_.erase(latest);
        // an accepted descriptor starts without an identity; a disconnected one's peer is gone
        if (kind == ZMQ_EVENT_DISCONNECTED) closed.push_back(std::move(identity));
    }
    return closed;
}

}  // namespace scaler::scheduler
