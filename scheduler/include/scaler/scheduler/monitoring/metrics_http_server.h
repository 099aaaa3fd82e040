#pragma once
// Serves the scheduler's Prometheus metrics at http://HOST:PORT/metrics from its own thread. The event loop
// publishes a fresh rendering every second, so a scrape never touches the scheduler's state.

#include <mutex>
#include <string>

#include "scaler/common/http_listener.h"

namespace scaler::scheduler {

class MetricsHttpServer {
public:
    // Binds at once; throws std::runtime_error naming the address when it cannot.
    MetricsHttpServer(const std::string& host, int port);
    MetricsHttpServer(const MetricsHttpServer&) = delete;
    MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

    void publish(std::string text);
    int port() const { return listener_.port(); }

private:
    std::mutex mutex_;
    std::string text_;
    HttpListener listener_;  // last: its thread stops before the text it serves goes
};

}  // namespace scaler::scheduler
