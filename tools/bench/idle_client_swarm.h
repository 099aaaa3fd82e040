#pragma once
// Many idle clients in one process, for the idle_clients benchmark: each is a DEALER with a client identity
// that sends the client library's heartbeat at its interval and reads the echoes, nothing else. Real
// scaler::Client objects would need a thread each; what the scheduler sees is the same.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace scaler::bench {

class IdleClientSwarm {
public:
    IdleClientSwarm(std::string address, size_t clients, std::chrono::milliseconds heartbeatInterval);
    ~IdleClientSwarm();
    IdleClientSwarm(const IdleClientSwarm&) = delete;
    IdleClientSwarm& operator=(const IdleClientSwarm&) = delete;

private:
    void run();

    std::string address_;
    size_t clients_;
    std::chrono::milliseconds interval_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace scaler::bench
