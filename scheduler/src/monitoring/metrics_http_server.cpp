#include "scaler/scheduler/monitoring/metrics_http_server.h"

#include <stdexcept>

#include <httplib.h>

namespace scaler::scheduler {

MetricsHttpServer::MetricsHttpServer(const std::string& host, int port)
    : server_(std::make_unique<httplib::Server>()) {
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
        std::string text;
        {
            std::lock_guard lock(mutex_);
            text = text_;
        }
        response.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
    });
    port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
    if (port_ <= 0) {
        throw std::runtime_error("cannot serve metrics on " + host + ":" + std::to_string(port) +
                                 " (address in use or not local?)");
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
}

MetricsHttpServer::~MetricsHttpServer() {
    server_->stop();
    thread_.join();
}

void MetricsHttpServer::publish(std::string text) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
}

}  // namespace scaler::scheduler
