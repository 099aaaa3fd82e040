#pragma once
// ZeroMQ endpoint addresses as users type them: tcp://HOST:PORT or ipc://PATH.

#include <cstdint>
#include <string>
#include <string_view>

namespace scaler {

struct Address {
    enum class Scheme { tcp, ipc };
    Scheme scheme = Scheme::tcp;
    std::string host;   // tcp only
    uint16_t port = 0;  // tcp only
    std::string path;   // ipc only

    std::string toString() const;
};

// Throws std::invalid_argument naming the bad address.
Address parseAddress(std::string_view text);

// The reference's default monitor address: the scheduler's port + 2 (ipc: PATH.monitor); port 0 (any free
// port) for a scheduler on port 0.
Address defaultMonitorAddress(const Address& scheduler);

// An address to bind: tcp hosts must be `*`, an IP address, `localhost` (taken as 127.0.0.1) or a network
// interface of this host. Throws std::invalid_argument naming the address and why.
Address bindableAddress(const Address& address);

// An HTTP listening address, HOST:PORT (port 0: any free one). Throws std::invalid_argument naming `flag` and
// the text.
struct HostPort {
    std::string host;
    int port = 0;
};
HostPort parseHostPort(const std::string& text, const std::string& flag);

// Whether only this host can reach a socket bound to `host`.
bool isLoopbackHost(const std::string& host);

}  // namespace scaler
