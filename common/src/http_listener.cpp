#include "scaler/common/http_listener.h"

#include <stdexcept>

#include <httplib.h>

namespace scaler {

namespace {
// Our endpoints answer GETs: a request body is never needed, and a client that dribbles its request, holds a
// connection or asks for many ranges of one page must not cost the process its memory or its other readers.
constexpr size_t kMaxRequestBodyBytes = 64u << 10;
constexpr time_t kReadTimeoutSeconds = 2;
constexpr time_t kWriteTimeoutSeconds = 5;
constexpr size_t kKeepAliveRequests = 100;
constexpr time_t kKeepAliveSeconds = 5;
constexpr size_t kThreads = 32;
}  // namespace

HttpListener::HttpListener() : server_(std::make_unique<httplib::Server>()) {
    server_->set_payload_max_length(kMaxRequestBodyBytes);  // larger: 413, and the body is not read
    server_->set_read_timeout(kReadTimeoutSeconds, 0);
    server_->set_write_timeout(kWriteTimeoutSeconds, 0);
    server_->set_keep_alive_max_count(kKeepAliveRequests);
    server_->set_keep_alive_timeout(kKeepAliveSeconds);
    server_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
    // Ranges are refused: a request of many overlapping ranges would be answered with a copy of the page
    // each.
    server_->set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
        if (!request.has_header("Range")) return httplib::Server::HandlerResponse::Unhandled;
        response.status = 416;
        response.set_header("Accept-Ranges", "none");
        return httplib::Server::HandlerResponse::Handled;
    });
}

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
