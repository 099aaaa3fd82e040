#pragma once
// Notices at once when a peer's connection closes (its process died: the kernel closes its sockets; or the
// network dropped it), so a killed worker's tasks run elsewhere in milliseconds instead of after the worker
// timeout. ZeroMQ's ROUTER does not say which routing id a closed connection carried, so this keeps, from
// the messages, which identity each connection's file descriptor last spoke for, and reads the ROUTER's
// socket-monitor events (connection accepted, disconnected) to map a close to its identity.
//
// A close is reported only while that descriptor is still the identity's latest connection, so a peer that
// reconnected (a new descriptor) is not taken for gone. One race is left: a descriptor reused by a new
// connection that speaks before the old one's close event is read would blame the new peer; the scheduler
// then re-queues that peer's tasks and it registers again with its next heartbeat (work repeated, nothing
// lost or delivered twice).

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "scaler/common/log_throttle.h"

namespace scaler::scheduler {

class ConnectionWatch {
public:
    // `router` must outlive this watch.
    ConnectionWatch(zmq::context_t& context, zmq::socket_t& router);
    ~ConnectionWatch() { close(); }
    ConnectionWatch(const ConnectionWatch&) = delete;
    ConnectionWatch& operator=(const ConnectionWatch&) = delete;

    // Every received message: a frame that came off the wire (the payload, not the identity frame the ROUTER
    // makes) tells the connection it arrived on.
    void noteMessage(zmq::message_t& wireFrame, std::string_view identity);
    // The monitor socket, to wake the event loop when a connection closes.
    zmq::socket_t& events() { return events_; }
    // The identities whose latest connection closed since the last call.
    std::vector<std::string> takeClosed();
    // Stops the router's monitor, then closes the event socket; before the router closes. Idempotent.
    void close();
    // Connections whose handshake failed (a CURVE hello this scheduler cannot read: the peer holds a wrong
    // public key for it, or speaks without CURVE); each logged, a few per address in a window.
    uint64_t handshakeFailures() const { return handshakeFailures_; }

private:
    void noteHandshakeFailure(std::string_view address, uint32_t error);

    zmq::socket_t* router_;
    zmq::socket_t events_;
    uint64_t handshakeFailures_ = 0;
    LogThrottle handshakeLog_{std::chrono::seconds(60), 1};
    std::vector<std::string> identityByFd_;  // descriptors are small integers
    std::unordered_map<std::string, int> fdByIdentity_;
};

}  // namespace scaler::scheduler
