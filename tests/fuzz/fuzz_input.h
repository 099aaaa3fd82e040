#pragma once
// The message fuzzer's input: a conversation of frames, each [sender byte][length, 4 bytes LE][frame].
// The sender byte picks one of four identities (low bits) and what authentication granted it (high bits),
// so one input can register peers and then send them messages, as real traffic does.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace scaler::fuzz {

struct FuzzFrame {
    uint8_t sender = 0;
    std::string_view bytes;
};

// Reads the next frame from `input` (advancing it); false at the end or on a truncated record.
inline bool nextFrame(std::string_view& input, FuzzFrame& frame) {
    if (input.size() < 5) return false;
    uint32_t length = 0;
    std::memcpy(&length, input.data() + 1, 4);
    if (length > input.size() - 5) length = static_cast<uint32_t>(input.size() - 5);  // take what there is
    frame.sender = static_cast<uint8_t>(input[0]);
    frame.bytes = input.substr(5, length);
    input.remove_prefix(5 + length);
    return true;
}

inline void appendFrame(std::string& out, uint8_t sender, std::string_view bytes) {
    const auto length = static_cast<uint32_t>(bytes.size());
    out.push_back(static_cast<char>(sender));
    out.append(reinterpret_cast<const char*>(&length), 4);
    out.append(bytes);
}

}  // namespace scaler::fuzz
