#pragma once
// A TCP link that can be cut without closing anything, for partition soaks on one host without privileges:
// peers connect to port() instead of the server; while cut, the relay moves no byte either way and takes no
// new connection (they wait in the backlog), as a pulled cable or a dead NAT entry leaves both ends waiting.
// What each side notices is what its keepalives and timeouts tell it. Healing lets everything flow again. The
// partition test (tests/partition/) does the same with network namespaces and iptables, as root.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>
#include <thread>

namespace scaler::tools {

class LinkCutRelay {
public:
    // Forwards connections on a free loopback port to 127.0.0.1:targetPort; `tap` (on the relay's thread)
    // sees every chunk forwarded, either way. Throws std::runtime_error.
    using Tap = std::function<void(std::string_view)>;
    explicit LinkCutRelay(uint16_t targetPort, Tap tap = {});
    ~LinkCutRelay();
    LinkCutRelay(const LinkCutRelay&) = delete;
    LinkCutRelay& operator=(const LinkCutRelay&) = delete;

    uint16_t port() const { return port_; }
    void cut() { cut_ = true; }
    void heal() { cut_ = false; }
    bool isCut() const { return cut_; }

private:
    void run();

    uint16_t targetPort_;
    Tap tap_;
    uint16_t port_ = 0;
    int listener_ = -1;
    std::atomic<bool> cut_{false};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace scaler::tools
