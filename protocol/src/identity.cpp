#include "scaler/protocol/identity.h"

#include <random>

namespace scaler {

std::string randomHex(size_t bytes) {
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    uint64_t bits = 0;
    for (size_t i = 0; i < bytes; ++i) {
        if (i % 8 == 0) bits = generator();
        const auto byte = static_cast<unsigned>(bits & 0xff);
        bits >>= 8;
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0xf];
    }
    return out;
}

std::string makeIdentity(std::string_view kind, std::string_view name) {
    std::string id(kind);
    id += '|';
    if (!name.empty()) {
        id += name;
        id += '|';
    }
    id += randomHex(16);
    return id;
}

}  // namespace scaler
