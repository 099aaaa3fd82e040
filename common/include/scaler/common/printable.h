#pragma once
// Bytes from the network as one safe log line: routing identities and such are chosen by peers, and a
// hostile one could otherwise break lines or forge log entries.

#include <string>
#include <string_view>

namespace scaler {

// Printable ASCII as it is; anything else (and backslash) as \xNN; at most `maxBytes` of the input, then
// "...(N bytes)".
std::string printable(std::string_view bytes, size_t maxBytes = 64);

// At most `maxBytes` of `text`, cut before a UTF-8 character that would not fit, with "..." when cut: a
// peer's name shown on a screen (monitor snapshot, dashboard) keeps its characters but not its length.
std::string shortened(std::string_view text, size_t maxBytes);

}  // namespace scaler
