#include "scaler/common/http_listener.h"

#include <stdexcept>

#include <httplib.h>

namespace scaler {

HttpListener::HttpListener() : server_(std::make_unique<httplib::Server>()) {}

HttpListener::~HttpListener() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
}

void HttpListener::start(const std::string& host, int port, const std::string& what) {
    port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
    if (port_ <= 0) {
        throw std::runtime_error("cannot serve " + what + " on " + host + ":" + std::to_string(port) +
                                 " (address in use or not local?)");
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
}

}  // namespace scaler
