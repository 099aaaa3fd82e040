#pragma once
// Notices a refused handshake on a connecting socket. ZeroMQ only retries such a connection silently, so
// without this a peer with a wrong CURVE key (or none, against a CURVE scheduler) would just see silence.

#include <optional>
#include <string>

#include <zmq.hpp>

namespace scaler {

struct HandshakeFailure {
    std::string message;  // a sentence saying why, naming the address
    // True when the scheduler said so (our key is on no list, the mechanisms differ). False for connections
    // closed before the handshake completed, which is how a scheduler that cannot read our hello (we hold a
    // wrong public key for it) answers, but also how a TCP proxy answers while the scheduler behind it
    // restarts: a long-lived peer that was connected must not give up on that alone.
    bool certain = true;
};

class HandshakeWatch {
public:
    // Call before socket.connect(), so the first attempt is watched. `socket` must outlive this watch.
    HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket, std::string peerAddress);
    ~HandshakeWatch() { close(); }
    HandshakeWatch(const HandshakeWatch&) = delete;
    HandshakeWatch& operator=(const HandshakeWatch&) = delete;

    // Why the scheduler refused us, once a handshake failed; nullopt otherwise. Never blocks.
    std::optional<HandshakeFailure> takeFailure();
    // Stops the socket's monitor, then closes the event socket. Call before closing the watched socket
    // (and the context: an open socket would make that wait forever). Idempotent.
    void close();

private:
    // A scheduler that cannot decrypt our CURVE hello (we hold a wrong public key for it) says nothing: it
    // just closes. So many connections closed before any handshake completed say it instead.
    static constexpr int kClosedHandshakesBeforeFailure = 3;

    zmq::socket_t* watched_;
    zmq::socket_t events_;
    std::string peerAddress_;
    bool handshaking_ = false;  // connected, handshake not yet done
    int closedHandshakes_ = 0;  // in a row
};

}  // namespace scaler
