#pragma once
// Answers ZeroMQ's authentication requests (ZAP, RFC 27) for the CURVE server sockets of one context: a
// peer is let in when the allow-list of the socket's ZAP domain holds its public key, and the role that
// list grants becomes the connection's User-Id, which every message the peer sends then carries.

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include <zmq.hpp>

namespace scaler::scheduler {

class CurveAuthenticator {
public:
    // ZAP domain -> (public key, Z85 -> user id granted)
    using AllowLists = std::map<std::string, std::map<std::string, std::string>>;

    // Binds the ZAP endpoint before returning, so sockets bound afterwards are covered from their first peer.
    CurveAuthenticator(zmq::context_t& context, AllowLists allowLists);
    ~CurveAuthenticator();
    CurveAuthenticator(const CurveAuthenticator&) = delete;
    CurveAuthenticator& operator=(const CurveAuthenticator&) = delete;

    uint64_t refusals() const { return refusals_.load(); }

private:
    void serve();
    // Status code and user id for one request's domain, mechanism and key.
    std::pair<std::string, std::string> decide(const std::string& domain, const std::string& mechanism,
                                               const std::string& keyZ85, const std::string& address);

    AllowLists allowLists_;
    zmq::socket_t socket_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> refusals_{0};
    std::map<std::string, uint64_t>
        refusalsByKey_;  // for logging only the first of a retrying peer's attempts
    std::thread thread_;
};

}  // namespace scaler::scheduler
