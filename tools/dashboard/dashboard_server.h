#pragma once
// Serves the dashboard over HTTP (cpp-httplib, on a thread of its own): the page and its assets, and
// /api/state, the DashboardHistory as JSON, which the page polls every second.

#include <mutex>
#include <string>

#include "dashboard_history.h"
#include "scaler/common/http_listener.h"

namespace scaler::dashboard {

class DashboardServer {
public:
    // Port 0 takes a free port. Throws std::runtime_error when the address cannot be bound.
    DashboardServer(const std::string& host, int port);
    DashboardServer(const DashboardServer&) = delete;
    DashboardServer& operator=(const DashboardServer&) = delete;

    int port() const { return listener_.port(); }
    void addSnapshot(const nlohmann::json& snapshot);

private:
    std::mutex mutex_;
    DashboardHistory history_;
    HttpListener listener_;  // last: its thread stops before the history it serves goes
};

}  // namespace scaler::dashboard
