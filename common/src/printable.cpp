#include "scaler/common/printable.h"

namespace scaler {

std::string printable(std::string_view bytes, size_t maxBytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    const size_t shown = std::min(bytes.size(), maxBytes);
    out.reserve(shown);
    for (size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        }
    }
    if (shown < bytes.size()) out += "...(" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

std::string shortened(std::string_view text, size_t maxBytes) {
    if (text.size() <= maxBytes) return std::string(text);
    size_t end = maxBytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;  // not mid-character
    return std::string(text.substr(0, end)) + "...";
}

}  // namespace scaler
