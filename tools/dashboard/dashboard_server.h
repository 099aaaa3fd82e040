#pragma once
// Serves the dashboard over HTTP (cpp-httplib, on a thread of its own): the page and its assets, and
// /api/state, the DashboardHistory as JSON, which the page polls every second.

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dashboard_history.h"

namespace httplib {
class Server;
}

namespace scaler::dashboard {

class DashboardServer {
public:
    // Port 0 takes a free port. Throws std::runtime_error when the address cannot be bound.
    DashboardServer(const std::string& host, int port);
    ~DashboardServer();
    DashboardServer(const DashboardServer&) = delete;
    DashboardServer& operator=(const DashboardServer&) = delete;

    int port() const { return port_; }
    void addSnapshot(const nlohmann::json& snapshot);

private:
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    std::mutex mutex_;
    DashboardHistory history_;
    int port_ = -1;
};

}  // namespace scaler::dashboard
