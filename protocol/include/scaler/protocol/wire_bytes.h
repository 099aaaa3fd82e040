#pragma once
// Views between Cap'n Proto Data/Text and std::string without copies.

#include <cstring>
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
// Fills a Text field made by its init function (`error.initMessage(size)`) with `text`. A Text::Reader would
// need a NUL after the view, which a view into a larger buffer does not have.
inline void copyText(capnp::Text::Builder field, std::string_view text) {
    if (!text.empty()) std::memcpy(field.begin(), text.data(), text.size());
}

}  // namespace scaler
