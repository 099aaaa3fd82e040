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

// The reference's default monitor address: the scheduler's port + 2 (ipc: PATH.monitor).
Address defaultMonitorAddress(const Address& scheduler);

}  // namespace scaler
