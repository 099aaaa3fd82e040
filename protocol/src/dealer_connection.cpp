#include "scaler/protocol/dealer_connection.h"

#include <poll.h>

#include <algorithm>

#include "scaler/protocol/connection_keepalive.h"
#include "scaler/protocol/curve_socket.h"

namespace scaler {
namespace {

constexpr int kMaxReconnectMs = 1000;

zmq::socket_t makeDealer(zmq::context_t& context, const DealerOptions& options) {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::routing_id, options.identity);
    // Unbounded queues: a peer never blocks or drops a message because the scheduler is slow to read.
    socket.set(zmq::sockopt::sndhwm, 0);
    socket.set(zmq::sockopt::rcvhwm, 0);
    socket.set(zmq::sockopt::linger, options.lingerMs);
    // Keepalives (connection_keepalive.h): a dead link is noticed within kDeadConnectionMs, the connection
    // dropped and made again; reconnect attempts back off to at most kMaxReconnectMs and each waits at most
    // kConnectAttemptMs for an answer, so a healed link is used again within about two seconds.
    socket.set(zmq::sockopt::heartbeat_ivl, kConnectionPingIntervalMs);
    socket.set(zmq::sockopt::heartbeat_timeout, kDeadConnectionMs);
    socket.set(zmq::sockopt::heartbeat_ttl, kDeadConnectionMs);
    socket.set(zmq::sockopt::tcp_maxrt, kDeadConnectionMs);
    socket.set(zmq::sockopt::reconnect_ivl, 100);
    socket.set(zmq::sockopt::reconnect_ivl_max, kMaxReconnectMs);
    socket.set(zmq::sockopt::connect_timeout, kConnectAttemptMs);
    socket.set(zmq::sockopt::tcp_keepalive, 1);
    socket.set(zmq::sockopt::tcp_keepalive_idle, 10);
    socket.set(zmq::sockopt::tcp_keepalive_intvl, 2);
    socket.set(zmq::sockopt::tcp_keepalive_cnt, 5);
    applyCurveClient(socket, options.curve);
    return socket;
}

}  // namespace

DealerConnection::DealerConnection(const DealerOptions& options)
    : context_(1), socket_(makeDealer(context_, options)), handshake_(context_, socket_, options.address) {
    socket_.connect(options.address);  // after the watch exists, so the first attempt is watched
}

void DealerConnection::wait(std::chrono::microseconds timeout, int extraFd) {
    // zmq::poll counts in milliseconds, and a worker holds results for less
    // (WorkerConfig::resultBatchMicroseconds). The socket's descriptor only says its state changed: the
    // events are read first (which re-arms it), then the descriptor is waited on.
    if (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) return;
    if (zmqFd_ < 0) zmqFd_ = socket_.get(zmq::sockopt::fd);
    pollfd fds[2] = {{zmqFd_, POLLIN, 0}, {extraFd, POLLIN, 0}};
    const auto clamped = std::max(timeout, std::chrono::microseconds(0));
    const timespec limit{static_cast<time_t>(clamped.count() / 1000000),
                         static_cast<long>(clamped.count() % 1000000) * 1000};
    (void)ppoll(fds, extraFd >= 0 ? 2 : 1, &limit, nullptr);  // EINTR: nothing arrived, the caller looks
}

void DealerConnection::close() {
    if (closed_) return;
    closed_ = true;
    handshake_.close();  // first: it stops the socket's monitor
    socket_.close();
    context_.close();
}

}  // namespace scaler
