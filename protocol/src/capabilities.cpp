#include "scaler/protocol/capabilities.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace scaler {
namespace {

std::string_view trim(std::string_view s) {
    const auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
    return s;
}

bool validName(std::string_view name) {
    return !name.empty() && name.size() <= kMaxCapabilityNameBytes &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                      c == '/';
           });
}

void sortAndDeduplicate(CapabilityList& list) {
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    // keep the last of equal names
    CapabilityList unique;
    unique.reserve(list.size());
    for (auto& c : list) {
        if (!unique.empty() && unique.back().name == c.name) {
            unique.back() = std::move(c);
        } else {
            unique.push_back(std::move(c));
        }
    }
    list = std::move(unique);
}

}  // namespace

CapabilityList parseCapabilities(std::string_view text) {
    CapabilityList result;
    text = trim(text);
    if (text.empty()) return result;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view item = trim(text.substr(start, end - start));
        start = end + 1;
        if (item.empty()) {
            throw std::invalid_argument("empty capability in \"" + std::string(text) + "\"");
        }
        Capability capability;
        const size_t eq = item.find('=');
        const std::string_view name = trim(item.substr(0, eq));
        if (!validName(name)) {
            throw std::invalid_argument("invalid capability name in \"" + std::string(item) +
                                        "\" (letters, digits, _-./, at most " +
                                        std::to_string(kMaxCapabilityNameBytes) + " bytes)");
        }
        if (result.size() == kMaxCapabilitiesPerSet) {
            throw std::invalid_argument("more than " + std::to_string(kMaxCapabilitiesPerSet) +
                                        " capabilities in \"" + std::string(text.substr(0, 200)) + "\"");
        }
        capability.name = std::string(name);
        if (eq != std::string_view::npos) {
            const std::string_view value = trim(item.substr(eq + 1));
            int64_t parsed = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
            if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || parsed < 0) {
                throw std::invalid_argument("invalid capability value for '" + capability.name +
                                            "': expected a non-negative integer, got '" + std::string(value) +
                                            "'");
            }
            capability.value = parsed;
        }
        if (std::any_of(result.begin(), result.end(),
                        [&](const auto& c) { return c.name == capability.name; })) {
            throw std::invalid_argument("capability '" + capability.name + "' given twice");
        }
        result.push_back(std::move(capability));
        if (end == text.size()) break;
    }
    sortAndDeduplicate(result);
    return result;
}

std::string formatCapabilities(const CapabilityList& capabilities) {
    std::string out;
    for (const auto& c : capabilities) {
        if (!out.empty()) out += ',';
        out += c.name;
        if (c.value != kCapabilityPresent) out += "=" + std::to_string(c.value);
    }
    return out;
}

bool capabilityNamesSubset(const CapabilityList& required, const CapabilityList& offered) {
    auto it = offered.begin();
    for (const auto& need : required) {
        while (it != offered.end() && it->name < need.name) ++it;
        if (it == offered.end() || it->name != need.name) return false;
    }
    return true;
}

bool capabilitiesSatisfy(const CapabilityList& required, const CapabilityList& offered) {
    auto it = offered.begin();
    for (const auto& need : required) {
        while (it != offered.end() && it->name < need.name) ++it;
        if (it == offered.end() || it->name != need.name) return false;
        if (need.value != kCapabilityPresent && it->value != kCapabilityPresent && it->value < need.value)
            return false;
    }
    return true;
}

Status checkWireCapabilities(capnp::List<wire::Capability>::Reader list) {
    if (list.size() > kMaxCapabilitiesPerSet) {
        return refuse(std::to_string(list.size()) + " capabilities; at most " +
                      std::to_string(kMaxCapabilitiesPerSet));
    }
    for (auto c : list) {
        const std::string_view name(c.getName().cStr(), c.getName().size());
        if (!validName(name)) {
            return refuse("invalid capability name (letters, digits, _-./, 1 to " +
                          std::to_string(kMaxCapabilityNameBytes) + " bytes)");
        }
        if (c.getValue() < kCapabilityPresent)
            return refuse("capability value " + std::to_string(c.getValue()) + " < -1");
    }
    return {};
}

CapabilityList capabilitiesFromWire(capnp::List<wire::Capability>::Reader list) {
    CapabilityList result;
    result.reserve(list.size());
    for (auto c : list) result.push_back({std::string(c.getName().cStr(), c.getName().size()), c.getValue()});
    sortAndDeduplicate(result);
    return result;
}

void capabilitiesToWire(const CapabilityList& capabilities, capnp::List<wire::Capability>::Builder list) {
    for (unsigned i = 0; i < capabilities.size(); ++i) {
        list[i].setName(capabilities[i].name);
        list[i].setValue(capabilities[i].value);
    }
}

}  // namespace scaler
