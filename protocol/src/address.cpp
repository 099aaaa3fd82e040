#include "scaler/protocol/address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <stdexcept>

namespace scaler {

std::string Address::toString() const {
    if (scheme == Scheme::ipc) return "ipc://" + path;
    const bool ipv6 = host.find(':') != std::string::npos;
    return "tcp://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Address parseAddress(std::string_view text) {
    const auto bad = [&](const std::string& why) {
        return std::invalid_argument("invalid address '" + std::string(text) + "': " + why);
    };
    Address address;
    if (text.starts_with("ipc://")) {
        address.scheme = Address::Scheme::ipc;
        address.path = std::string(text.substr(6));
        if (address.path.empty()) throw bad("ipc address needs a path");
        return address;
    }
    if (!text.starts_with("tcp://")) throw bad("expected tcp://HOST:PORT or ipc://PATH");
    const std::string_view rest = text.substr(6);
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) throw bad("expected tcp://HOST:PORT");
    address.host = std::string(rest.substr(0, colon));
    if (address.host.front() == '[' && address.host.back() == ']') {
        address.host = address.host.substr(1, address.host.size() - 2);
    }
    const std::string_view portText = rest.substr(colon + 1);
    unsigned port = 0;
    const auto [ptr, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (portText.empty() || ec != std::errc() || ptr != portText.data() + portText.size() || port > 65535) {
        throw bad("port must be a number from 0 to 65535");
    }
    address.port = static_cast<uint16_t>(port);
    return address;
}

Address defaultMonitorAddress(const Address& scheduler) {
    Address monitor = scheduler;
    if (scheduler.scheme == Address::Scheme::ipc) {
        monitor.path += ".monitor";
    } else if (scheduler.port != 0) {
        if (scheduler.port > 65533)
            throw std::invalid_argument("no default monitor port above 65533; pass --monitor-address");
        monitor.port = static_cast<uint16_t>(scheduler.port + 2);
    }
    return monitor;
}

Address bindableAddress(const Address& address) {
    if (address.scheme != Address::Scheme::tcp) return address;
    Address bindable = address;
    if (bindable.host == "localhost") bindable.host = "127.0.0.1";
    const std::string& host = bindable.host;
    unsigned char ip[16];
    if (host == "*" || inet_pton(AF_INET, host.c_str(), ip) == 1 ||
        inet_pton(AF_INET6, host.c_str(), ip) == 1 || if_nametoindex(host.c_str()) != 0) {
        return bindable;
    }
    throw std::invalid_argument("invalid address '" + address.toString() + "': '" + host +
                                "' is not an IP address, localhost or a network interface of this host");
}

HostPort parseHostPort(const std::string& text, const std::string& flag) {
    const auto colon = text.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0 && colon + 1 < text.size() && text.size() - colon <= 6 &&
        text.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
        port = std::stoi(text.substr(colon + 1));
    }
    if (port < 0 || port > 65535) throw std::invalid_argument(flag + " '" + text + "' is not HOST:PORT");
    return {text.substr(0, colon), port};
}

bool isLoopbackHost(const std::string& host) {
    return host.starts_with("127.") || host == "::1" || host == "lo" || host == "localhost";
}

}  // namespace scaler
