#include "dashboard_server.h"

#include <httplib.h>

#include "dashboard_assets.h"

namespace scaler::dashboard {

DashboardServer::DashboardServer(const std::string& host, int port) {
    httplib::Server& server = listener_.server();
    for (const Asset& asset : dashboardAssets()) {
        const std::string path(asset.path);
        server.Get(path == "/index.html" ? "/" : path,
                   [&asset](const httplib::Request&, httplib::Response& response) {
                       const std::string type =
                           std::string(asset.contentType) + "; charset=utf-8";  // every asset is text
                       response.set_content(asset.body.data(), asset.body.size(), type.c_str());
                       response.set_header("Cache-Control", "no-cache");
                   });
    }
    server.Get("/api/state", [this](const httplib::Request&, httplib::Response& response) {
        std::string body;
        {
            std::lock_guard lock(mutex_);
            body = history_.state().dump();
        }
        response.set_content(body, "application/json");
        response.set_header("Cache-Control", "no-store");
    });
    listener_.start(host, port, "the dashboard");
}

void DashboardServer::addSnapshot(const nlohmann::json& snapshot) {
    std::lock_guard lock(mutex_);
    history_.add(snapshot);
}

}  // namespace scaler::dashboard
