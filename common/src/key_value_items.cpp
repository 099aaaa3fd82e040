#include "scaler/common/key_value_items.h"

#include <stdexcept>

namespace scaler {
namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parseKeyValueItems(std::string_view text,
                                                                    std::string_view what) {
    std::vector<std::pair<std::string, std::string>> items;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(';', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view item = trim(text.substr(start, end - start));
        start = end + 1;
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            throw std::invalid_argument(std::string(what) + " item '" + std::string(item) +
                                        "' is not key=value");
        }
        std::string key(trim(item.substr(0, eq)));
        if (key.empty()) {
            throw std::invalid_argument(std::string(what) + " item '" + std::string(item) + "' has no key");
        }
        for (const auto& [seen, value] : items) {
            if (seen == key) {
                // last-one-wins would hide a typo in a long line
                throw std::invalid_argument(std::string(what) + " item '" + std::string(item) +
                                            "' repeats key '" + key + "'");
            }
        }
        items.emplace_back(std::move(key), std::string(trim(item.substr(eq + 1))));
    }
    return items;
}

}  // namespace scaler
