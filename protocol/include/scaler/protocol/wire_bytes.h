#pragma once
// Views between Cap'n Proto Data/Text and std::string without copies.

#include <string>
#include <string_view>

#include <capnp/blob.h>

namespace scaler {

inline std::string_view asStringView(capnp::Data::Reader data) {
    return {reinterpret_cast<const char*>(data.begin()), data.size()};
}
inline std::string_view asStringView(capnp::Text::Reader text) {
    return {text.cStr(), text.size()};
}
inline capnp::Data::Reader asData(std::string_view bytes) {
    return {reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()};
}
inline capnp::Text::Reader asText(std::string_view text) {
    return {text.data(), text.size()};
}

}  // namespace scaler
