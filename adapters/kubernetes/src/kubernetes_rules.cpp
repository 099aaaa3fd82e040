#include "scaler/adapters/kubernetes_rules.h"

#include <cctype>
#include <cmath>
#include <utility>

namespace scaler::adapters::kubernetes {
namespace {

bool lowerAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

Status checkLabelPart(const std::string& text, const char* what) {
    for (char c : text) {
        if (!lowerAlnum(c) && c != '-') {
            return refuse(std::string(what) + " may hold only lowercase letters, digits and '-'");
        }
    }
    if (text.empty() || text.front() == '-' || text.back() == '-') {
        return refuse(std::string(what) + " must start and end with a lowercase letter or digit");
    }
    return {};
}

}  // namespace

Status checkDns1123Subdomain(const std::string& name) {
    if (name.empty()) return refuse("it must not be empty");
    if (name.size() > 253)
        return refuse("it is " + std::to_string(name.size()) + " characters, at most 253 are allowed");
    size_t start = 0;
    while (start <= name.size()) {
        const size_t dot = std::min(name.find('.', start), name.size());
        if (auto part = checkLabelPart(name.substr(start, dot - start), "each dot-separated part"); !part)
            return part;
        start = dot + 1;
    }
    return {};
}

Status checkDns1123Label(const std::string& name) {
    if (name.size() > 63)
        return refuse("it is " + std::to_string(name.size()) + " characters, at most 63 are allowed");
    return checkLabelPart(name, "it");
}

Status checkLabelValue(const std::string& value) {
    if (value.empty()) return {};
    if (value.size() > 63)
        return refuse("it is " + std::to_string(value.size()) + " characters, at most 63 are allowed");
    for (char c : value) {
        if (!alnum(c) && c != '-' && c != '_' && c != '.') {
            return refuse("it may hold only letters, digits, '-', '_' and '.'");
        }
    }
    if (!alnum(value.front()) || !alnum(value.back()))
        return refuse("it must start and end with a letter or digit");
    return {};
}

Status checkLabelKey(const std::string& key) {
    const size_t slash = key.find('/');
    std::string name = key;
    if (slash != std::string::npos) {
        const std::string prefix = key.substr(0, slash);
        if (auto dns = checkDns1123Subdomain(prefix); !dns)
            return refuse("its prefix '" + prefix + "' is not a DNS name: " + dns.why());
        name = key.substr(slash + 1);
    }
    if (name.empty()) return refuse("its name part must not be empty");
    if (auto valid = checkLabelValue(name); !valid)
        return refuse("its name part '" + name + "' is not valid: " + valid.why());
    return {};
}

std::optional<long double> parseQuantity(const std::string& text) {
    // <sign><digits>[.<digits>]<suffix>, suffix one of Ki Mi Gi Ti Pi Ei, n u m "" k M G T P E, or e<int>
    size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    const size_t numberStart = i;
    bool digits = false, dot = false;
    for (; i < text.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(text[i]))) {
            digits = true;
        } else if (text[i] == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (!digits) return std::nullopt;
    long double value = std::stold(text.substr(numberStart, i - numberStart));
    const std::string suffix = text.substr(i);
    static const std::pair<const char*, long double> kSuffixes[] = {{"", 1},
                                                                    {"n", 1e-9L},
                                                                    {"u", 1e-6L},
                                                                    {"m", 1e-3L},
                                                                    {"k", 1e3L},
                                                                    {"M", 1e6L},
                                                                    {"G", 1e9L},
                                                                    {"T", 1e12L},
                                                                    {"P", 1e15L},
                                                                    {"E", 1e18L},
                                                                    {"Ki", 1024.0L},
                                                                    {"Mi", 1048576.0L},
                                                                    {"Gi", 1073741824.0L},
                                                                    {"Ti", 1099511627776.0L},
                                                                    {"Pi", 1125899906842624.0L},
                                                                    {"Ei", 1152921504606846976.0L}};
    bool known = false;
    for (const auto& [name, factor] : kSuffixes) {
        if (suffix == name) {
            value *= factor;
            known = true;
            break;
        }
    }
    if (!known) {
        if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return std::nullopt;
        size_t j = 1;
        if (suffix[j] == '+' || suffix[j] == '-') ++j;
        if (j == suffix.size()) return std::nullopt;
        for (size_t k = j; k < suffix.size(); ++k) {
            if (!std::isdigit(static_cast<unsigned char>(suffix[k]))) return std::nullopt;
        }
        value *= std::pow(10.0L, std::stold(suffix.substr(1)));
    }
    return negative ? -value : value;
}

}  // namespace scaler::adapters::kubernetes
