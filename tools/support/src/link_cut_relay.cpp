#include "scaler/tools/link_cut_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace scaler::tools {

namespace {

// Writes all of `data`, waiting for room (the peers always read, so this does not stall for long).
bool writeAll(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                pollfd p{fd, POLLOUT, 0};
                ::poll(&p, 1, 100);
                continue;
            }
            return false;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

LinkCutRelay::LinkCutRelay(uint16_t targetPort, Tap tap) : targetPort_(targetPort), tap_(std::move(tap)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 128) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        ::close(listener_);
        throw std::runtime_error("LinkCutRelay: cannot listen on loopback");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
}

LinkCutRelay::~LinkCutRelay() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
}

void LinkCutRelay::run() {
    struct Link {
        int down;  // the peer that connected to us
        int up;    // our connection to the target
    };
    std::vector<Link> links;
    std::vector<char> buffer(256 * 1024);
    const auto closeLink = [&](size_t i) {
        ::close(links[i].down);
        ::close(links[i].up);
        links.erase(links.begin() + static_cast<std::ptrdiff_t>(i));
    };
    while (!stop_) {
        std::vector<pollfd> fds;
        const bool flowing = !cut_;
        if (flowing) {
            fds.push_back({listener_, POLLIN, 0});
            for (const Link& link : links) {
                fds.push_back({link.down, POLLIN, 0});
                fds.push_back({link.up, POLLIN, 0});
            }
        }
        // while cut: nothing is read, so bytes wait in the kernels' buffers and then in the senders'
        ::poll(fds.data(), fds.size(), 50);
        if (!flowing || cut_) continue;
        if (fds[0].revents & POLLIN) {
            const int down = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (down >= 0) {
                const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                sockaddr_in target{};
                target.sin_family = AF_INET;
                target.sin_port = htons(targetPort_);
                target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (::connect(up, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) {
                    int one = 1;
                    ::setsockopt(down, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    ::setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    links.push_back({down, up});
                } else {  // the target is down (a scheduler restarting): the peer reconnects
                    ::close(up);
                    ::close(down);
                }
            }
        }
        for (size_t i = links.size(); i-- > 0;) {
            const pollfd& downEvents = fds[1 + 2 * i];
            const pollfd& upEvents = fds[2 + 2 * i];
            bool ok = true;
            for (const auto& [events, from, to] :
                 {std::tuple{downEvents.revents, links[i].down, links[i].up},
                  std::tuple{upEvents.revents, links[i].up, links[i].down}}) {
                if (!ok || !(events & (POLLIN | POLLHUP | POLLERR))) continue;
                const ssize_t n = ::recv(from, buffer.data(), buffer.size(), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    ok = false;
                } else if (n > 0) {
                    if (tap_) tap_(std::string_view(buffer.data(), static_cast<size_t>(n)));
                    ok = writeAll(to, buffer.data(), static_cast<size_t>(n));
                }
            }
            if (!ok) closeLink(i);
        }
    }
    for (size_t i = links.size(); i-- > 0;) closeLink(i);
}

}  // namespace scaler::tools
