#pragma once
// Serves the scheduler's Prometheus metrics at http://HOST:PORT/metrics from its own thread. The event loop
// publishes a fresh rendering every second, so a scrape never touches the scheduler's state.

#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace scaler::scheduler {

class MetricsHttpServer {
public:
    // Binds at once; throws std::runtime_error naming the address when it cannot.
    MetricsHttpServer(const std::string& host, int port);
    ~MetricsHttpServer();
    MetricsHttpServer(const MetricsHttpServer&) = delete;
    MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

    void publish(std::string text);
    int port() const { return port_; }

private:
    std::unique_ptr<httplib::Server> server_;
    int port_ = 0;
    std::mutex mutex_;
    std::string text_;
    std::thread thread_;
};

}  // namespace scaler::scheduler
