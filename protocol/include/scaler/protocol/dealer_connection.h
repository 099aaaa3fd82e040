#pragma once
// The connection every DEALER peer (worker, adapter, client) has to the scheduler: socket options,
// CURVE, the handshake watch, non-blocking sends and the receive loop, written once.

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/frame_sink.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/message_codec.h"

namespace scaler {

struct DealerOptions {
    std::string identity;  // the routing id the scheduler knows this peer by
    std::string address;
    CurveClientKeys curve;
    int lingerMs = 0;  // how long close() waits for queued messages to leave
};

class DealerConnection final : public FrameSink {
public:
    // Connects at once (ZeroMQ retries in the background); throws zmq::error_t for a bad address.
    explicit DealerConnection(const DealerOptions& options);
    ~DealerConnection() noexcept override { close(); }  // noexcept: capnp readers are noexcept(false)
    DealerConnection(const DealerConnection&) = delete;
    DealerConnection& operator=(const DealerConnection&) = delete;

    bool send(capnp::MessageBuilder& message) override { return sendFrame(socket_, message); }

    // Waits up to `timeout` (to the microsecond) for the socket or `extraFd` (-1: none) to become readable; a
    // signal ends the wait early.
    void wait(std::chrono::microseconds timeout, int extraFd = -1);
    // Hands every valid waiting message to handle(wire::Message::Reader) (stopping early when it returns
    // false), every invalid one's reason to onDropped(std::string).
    template <typename Handle, typename OnDropped>
    void receive(Handle&& handle, OnDropped&& onDropped) {
        receiveWaiting(socket_, reader_, handle, onDropped);
    }
    // The frame of the message being handled, kept alive past the next receive (FrameReader::keepFrame).
    std::shared_ptr<const zmq::message_t> keepFrame() { return reader_.keepFrame(); }
    // Why the scheduler refused the handshake, once; nullopt otherwise.
    std::optional<HandshakeFailure> takeHandshakeFailure() { return handshake_.takeFailure(); }
    void setLinger(int ms) { socket_.set(zmq::sockopt::linger, ms); }
    // Closes the socket (after the linger) and the context. Idempotent.
    void close();

private:
    zmq::context_t context_;
    zmq::socket_t socket_;
    HandshakeWatch handshake_;
    FrameReader reader_;
    int zmqFd_ = -1;  // the socket's state-change descriptor, fetched at the first wait
    bool closed_ = false;
};

}  // namespace scaler
