#pragma once
// A loopback capture without privileges: a TCP relay between peers and a server that keeps a copy of every
// byte it forwards, both ways. Point a peer at port() instead of the server to see what crosses the wire.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace scaler::testing {

class TcpRecordingRelay {
public:
    explicit TcpRecordingRelay(uint16_t targetPort);
    ~TcpRecordingRelay();
    TcpRecordingRelay(const TcpRecordingRelay&) = delete;
    TcpRecordingRelay& operator=(const TcpRecordingRelay&) = delete;

    uint16_t port() const { return port_; }
    std::string captured() const;

private:
    void run();

    uint16_t targetPort_;
    uint16_t port_ = 0;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::string captured_;
    std::thread thread_;
};

}  // namespace scaler::testing
