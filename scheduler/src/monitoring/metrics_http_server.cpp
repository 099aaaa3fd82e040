#include "scaler/scheduler/monitoring/metrics_http_server.h"

#include <httplib.h>

namespace scaler::scheduler {

MetricsHttpServer::MetricsHttpServer(const std::string& host, int port) {
    listener_.server().Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
        std::string text;
        {
            std::lock_guard lock(mutex_);
            text = text_;
        }
        response.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
    });
    listener_.start(host, port, "metrics");
}

void MetricsHttpServer::publish(std::string text) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
}

}  // namespace scaler::scheduler
