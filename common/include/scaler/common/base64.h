#pragma once
// Standard base64 (RFC 4648 alphabet) decoding: kubeconfig's certificate data, and in tests the Python
// processor's encoded exceptions.

#include <string>
#include <string_view>

namespace scaler {

// Padding and whitespace are skipped; throws std::invalid_argument at any other character outside the
// alphabet.
std::string base64Decode(std::string_view text);

}  // namespace scaler
