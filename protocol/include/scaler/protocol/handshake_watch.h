#pragma once
// Notices a refused handshake on a connecting socket. ZeroMQ only retries such a connection silently, so
// without this a peer with a wrong CURVE key (or none, against a CURVE scheduler) would just see silence.

#include <optional>
#include <string>

#include <zmq.hpp>

namespace scaler {

class HandshakeWatch {
public:
    // Call before socket.connect(), so the first attempt is watched.
    HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket, std::string peerAddress);

    // A sentence saying why the scheduler refused us, once a handshake failed; nullopt otherwise. Never
    // blocks.
    std::optional<std::string> takeFailure();
    // Before closing the context explicitly: an open socket would make that wait forever.
    void close() { events_.close(); }

private:
    // A scheduler that cannot decrypt our CURVE hello (we hold a wrong public key for it) says nothing: it
    // just closes. So many connections closed before any handshake completed say it instead.
    static constexpr int kClosedHandshakesBeforeFailure = 3;

    zmq::socket_t events_;
    std::string peerAddress_;
    bool handshaking_ = false;  // connected, handshake not yet done
    int closedHandshakes_ = 0;  // in a row
};

}  // namespace scaler
