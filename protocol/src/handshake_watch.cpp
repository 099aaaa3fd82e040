#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/retry_interrupted.h"

#include <atomic>
#include <cstring>

namespace scaler {

HandshakeWatch::HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket, std::string peerAddress)
    : watched_(&socket), events_(context, zmq::socket_type::pair), peerAddress_(std::move(peerAddress)) {
    static std::atomic<unsigned> counter{0};
    const std::string endpoint = "inproc://scaler-handshake-watch-" + std::to_string(counter++);
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0) {
        throw zmq::error_t();
    }
    events_.set(zmq::sockopt::linger, 0);
    events_.connect(endpoint);
}

void HandshakeWatch::close() {
    // libzmq 4.3.4 leaks an event's endpoint frame when the monitor cannot send it, which is what happens to
    // the disconnect events of a socket closed while its monitor still runs: stopping the monitor first means
    // no event is made after this.
    if (watched_ != nullptr && watched_->handle() != nullptr)
        (void)zmq_socket_monitor(watched_->handle(), nullptr, 0);
    watched_ = nullptr;
    events_.close();
}

std::optional<HandshakeFailure> HandshakeWatch::takeFailure() {
    std::optional<HandshakeFailure> failure;
    for (;;) {
        zmq::message_t event;
        if (!retryInterrupted([&] { return events_.recv(event, zmq::recv_flags::dontwait); })) return failure;
        zmq::message_t endpoint;
        while (event.more() &&
               retryInterrupted([&] { return events_.recv(endpoint, zmq::recv_flags::none); }) &&
               endpoint.more()) {
        }
        if (event.size() < 6) continue;
        uint16_t kind = 0;
        uint32_t value = 0;
        std::memcpy(&kind, event.data(), 2);
        std::memcpy(&value, static_cast<const char*>(event.data()) + 2, 4);
        if (kind == ZMQ_EVENT_CONNECTED) {
            handshaking_ = true;
            continue;
        }
        if (kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            handshaking_ = false;
            closedHandshakes_ = 0;
            continue;
        }
        if (kind == ZMQ_EVENT_DISCONNECTED) {
            if (!handshaking_) continue;  // a working connection lost: ZeroMQ reconnects
            handshaking_ = false;
            if (++closedHandshakes_ == kClosedHandshakesBeforeFailure && !failure) {
                failure = HandshakeFailure{
                    "the handshake with the scheduler at " + peerAddress_ + " failed: it closed " +
                        std::to_string(kClosedHandshakesBeforeFailure) +
                        " connections in a row before the handshake completed: if it uses CURVE, check that "
                        "this side has its public key (--curve-server-key-file); if this side uses CURVE, "
                        "that it does (or a proxy in between has no scheduler behind it)",
                    false};
            }
            continue;
        }
        handshaking_ = false;  // a failure ZeroMQ names: its close that follows is not counted as well
        if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            failure = HandshakeFailure{"the scheduler at " + peerAddress_ +
                                           " refused this process's CURVE key (status " +
                                           std::to_string(value) + "): the key is on none of its allow-lists",
                                       true};
        } else {
            failure =
                HandshakeFailure{"the handshake with the scheduler at " + peerAddress_ +
                                     " failed (ZeroMQ protocol error " + std::to_string(value) +
                                     "): check that both sides use CURVE, and this side the scheduler's "
                                     "public key",
                                 true};
        }
    }
}

}  // namespace scaler
