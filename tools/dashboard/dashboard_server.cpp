#include "dashboard_server.h"

#include <stdexcept>

#include <httplib.h>

#include "dashboard_assets.h"

namespace scaler::dashboard {

DashboardServer::DashboardServer(const std::string& host, int port)
    : server_(std::make_unique<httplib::Server>()) {
    for (const Asset& asset : dashboardAssets()) {
        const std::string path(asset.path);
        server_->Get(path == "/index.html" ? "/" : path,
                     [&asset](const httplib::Request&, httplib::Response& response) {
                         const std::string type =
                             std::string(asset.contentType) + "; charset=utf-8";  // every asset is text
                         response.set_content(asset.body.data(), asset.body.size(), type.c_str());
                         response.set_header("Cache-Control", "no-cache");
                     });
    }
    server_->Get("/api/state", [this](const httplib::Request&, httplib::Response& response) {
        std::string body;
        {
            std::lock_guard lock(mutex_);
            body = history_.state().dump();
        }
        response.set_content(body, "application/json");
        response.set_header("Cache-Control", "no-store");
    });
    port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
    if (port_ <= 0) {
        throw std::runtime_error("cannot serve the dashboard on " + host + ":" + std::to_string(port) +
                                 " (address in use or not local?)");
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
}

DashboardServer::~DashboardServer() {
    server_->stop();
    thread_.join();
}

void DashboardServer::addSnapshot(const nlohmann::json& snapshot) {
    std::lock_guard lock(mutex_);
    history_.add(snapshot);
}

}  // namespace scaler::dashboard
