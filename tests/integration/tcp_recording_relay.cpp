#include "tcp_recording_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

namespace scaler::testing {

TcpRecordingRelay::TcpRecordingRelay(uint16_t targetPort) : targetPort_(targetPort) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw std::runtime_error("relay: cannot listen on loopback");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
}

TcpRecordingRelay::~TcpRecordingRelay() {
    stop_ = true;
    thread_.join();
    close(listener_);
}

std::string TcpRecordingRelay::captured() const {
    std::lock_guard lock(mutex_);
    return captured_;
}

void TcpRecordingRelay::run() {
    std::vector<std::pair<int, int>> pairs;  // (accepted peer, connection to the server)
    std::vector<pollfd> fds;
    char buffer[65536];
    while (!stop_) {
        fds.assign(1, pollfd{listener_, POLLIN, 0});
        for (const auto& [a, b] : pairs) {
            fds.push_back({a, POLLIN, 0});
            fds.push_back({b, POLLIN, 0});
        }
        if (poll(fds.data(), fds.size(), 50) <= 0) continue;
        if (fds[0].revents & POLLIN) {
            const int peer = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in target{};
            target.sin_family = AF_INET;
            target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            target.sin_port = htons(targetPort_);
            if (peer >= 0 && server >= 0 &&
                connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) {
                pairs.emplace_back(peer, server);
            } else {
                if (peer >= 0) close(peer);
                if (server >= 0) close(server);
            }
        }
        for (size_t i = 0; i < pairs.size();) {
            auto [a, b] = pairs[i];
            bool closed = false;
            for (const auto& [from, to, revents] :
                 {std::tuple{a, b, fds[1 + 2 * i].revents}, std::tuple{b, a, fds[2 + 2 * i].revents}}) {
                if (closed || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
                const ssize_t n = read(from, buffer, sizeof buffer);
                if (n <= 0) {
                    closed = true;
                    break;
                }
                {
                    std::lock_guard lock(mutex_);
                    captured_.append(buffer, static_cast<size_t>(n));
                }
                for (ssize_t sent = 0; sent < n;) {
                    const ssize_t w = write(to, buffer + sent, static_cast<size_t>(n - sent));
                    if (w <= 0) {
                        closed = true;
                        break;
                    }
                    sent += w;
                }
            }
            if (closed) {
                close(a);
                close(b);
                pairs.erase(pairs.begin() + static_cast<long>(i));
                fds.erase(fds.begin() + static_cast<long>(1 + 2 * i),
                          fds.begin() + static_cast<long>(3 + 2 * i));
            } else {
                ++i;
            }
        }
    }
    for (const auto& [a, b] : pairs) {
        close(a);
        close(b);
    }
}

}  // namespace scaler::testing
