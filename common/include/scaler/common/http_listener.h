#pragma once
// An HTTP server (cpp-httplib) on a thread of its own, shared by the scheduler's metrics endpoint and the
// dashboard: add routes, then start; the destructor stops it and joins the thread. Hardened for the open
// network: request bodies over 64 KiB are refused (413), reads time out after 2 s, a connection serves at
// most 100 requests and idles at most 5 s, 32 threads serve, Range requests are refused (416).

#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace scaler {

class HttpListener {
public:
    HttpListener();
    ~HttpListener();
    HttpListener(const HttpListener&) = delete;
    HttpListener& operator=(const HttpListener&) = delete;

    // Where routes go, before start().
    httplib::Server& server() { return *server_; }
    // Binds HOST:PORT (port 0: any free port) and serves. Throws std::runtime_error "cannot serve `what` on
    // HOST:PORT ..." when the address cannot be bound.
    void start(const std::string& host, int port, const std::string& what);
    int port() const { return port_; }

private:
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = -1;
};

}  // namespace scaler
