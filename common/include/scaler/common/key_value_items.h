#pragma once
// The "key=value; key=value" grammar the scheduler's policy content and scaling schedules share.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scaler {

// The items in order, keys and values trimmed, empty items skipped. Throws std::invalid_argument "<what> item
// '...' is not key=value" (or "has no key", or "repeats key 'k'").
std::vector<std::pair<std::string, std::string>> parseKeyValueItems(std::string_view text,
                                                                    std::string_view what);

}  // namespace scaler
