#include "scaler/scheduler/scaling/scaling_schedule.h"

#include <array>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "scaler/common/key_value_items.h"

namespace scaler::scheduler {
namespace {

std::vector<std::string_view> split(std::string_view s, char separator) {
    std::vector<std::string_view> out;
    for (size_t start = 0;;) {
        const size_t end = s.find(separator, start);
        out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

struct FieldSpec {
    const char* name;
    int low, high;
    const std::array<std::string_view, 12>* names;  // names[i] is value low + i (or 0 + i for days)
};

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

int value(std::string_view token, const FieldSpec& spec, const std::string& field) {
    if (spec.names != nullptr) {
        for (size_t i = 0; i < spec.names->size() && !(*spec.names)[i].empty(); ++i) {
            std::string lower(token);
            for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (lower == (*spec.names)[i]) return static_cast<int>(i) + (spec.names == &kMonthNames ? 1 : 0);
        }
    }
    int v = 0;
    if (token.empty() || token.size() > 2) v = -1;
    for (char c : token) {
        if (c < '0' || c > '9') v = -1;
        if (v >= 0) v = v * 10 + (c - '0');
    }
    if (v < spec.low || v > spec.high) {
        throw std::invalid_argument(std::string("cron ") + spec.name + " field '" + field + "': '" +
                                    std::string(token) + "' is not in " + std::to_string(spec.low) + ".." +
                                    std::to_string(spec.high));
    }
    return v;
}

// Sets the bits a field selects; returns false for '*' (unrestricted).
template <size_t N>
bool parseField(std::string_view text, const FieldSpec& spec, std::bitset<N>& bits) {
    const std::string field(text);
    bool restricted = false;
    for (std::string_view item : split(text, ',')) {
        int step = 1;
        if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
            step = value(item.substr(slash + 1), {spec.name, 1, spec.high, nullptr}, field);
            item = item.substr(0, slash);
        }
        int from = spec.low, to = spec.high;
        if (item == "*") {
            restricted |= step != 1;
        } else {
            restricted = true;
            const size_t dash = item.find('-');
            from = value(item.substr(0, dash), spec, field);
            to = dash == std::string_view::npos ? (step != 1 ? spec.high : from)
                                                : value(item.substr(dash + 1), spec, field);
            if (to < from) {
                throw std::invalid_argument(std::string("cron ") + spec.name + " field '" + field +
                                            "': range runs backwards");
            }
        }
        for (int v = from; v <= to; v += step) bits.set(static_cast<size_t>(v));
    }
    return restricted;
}

uint32_t parseGroups(std::string_view key, std::string_view text) {
    uint32_t v = 0;
    bool ok = !text.empty() && text.size() <= 6;
    for (char c : text) {
        if (c < '0' || c > '9') ok = false;
        if (ok) v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!ok) {
        throw std::invalid_argument("scaling schedule " + std::string(key) + "='" + std::string(text) +
                                    "' is not a whole number");
    }
    return v;
}

}  // namespace

CronExpression CronExpression::parse(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    if (fields.size() != 5) {
        throw std::invalid_argument("cron expression '" + text +
                                    "' needs 5 fields: minute hour day-of-month month day-of-week");
    }
    CronExpression e;
    parseField(fields[0], {"minute", 0, 59, nullptr}, e.minutes_);
    parseField(fields[1], {"hour", 0, 23, nullptr}, e.hours_);
    e.anyDayOfMonth_ = !parseField(fields[2], {"day-of-month", 1, 31, nullptr}, e.daysOfMonth_);
    parseField(fields[3], {"month", 1, 12, &kMonthNames}, e.months_);
    std::bitset<8> days;
    e.anyDayOfWeek_ = !parseField(fields[4], {"day-of-week", 0, 7, &kDayNames}, days);
    for (size_t d = 0; d < 7; ++d) e.daysOfWeek_[d] = days[d] || (d == 0 && days[7]);
    return e;
}

bool CronExpression::matches(const std::tm& t) const {
    if (!minutes_[static_cast<size_t>(t.tm_min)] || !hours_[static_cast<size_t>(t.tm_hour)] ||
        !months_[static_cast<size_t>(t.tm_mon) + 1])
        return false;
    const bool dom = daysOfMonth_[static_cast<size_t>(t.tm_mday)];
    const bool dow = daysOfWeek_[static_cast<size_t>(t.tm_wday)];
    if (!anyDayOfMonth_ && !anyDayOfWeek_) return dom || dow;
    return dom && dow;
}

ScheduleRule parseScheduleRule(const std::string& text) {
    ScheduleRule rule{CronExpression{}, {}, {}, {}, false, text};
    bool haveCron = false;
    for (const auto& [key, val] : parseKeyValueItems(text, "scaling schedule")) {
        if (key == "cron") {
            rule.when = CronExpression::parse(val);
            haveCron = true;
        } else if (key == "adapter") {
            rule.adapter = val;
        } else if (key == "min_groups") {
            rule.minGroups = parseGroups(key, val);
        } else if (key == "max_groups") {
            rule.maxGroups = parseGroups(key, val);
        } else if (key == "timezone" && (val == "utc" || val == "local")) {
            rule.utc = val == "utc";
        } else if (key == "timezone") {
            throw std::invalid_argument("scaling schedule timezone='" + val + "' is not local or utc");
        } else {
            throw std::invalid_argument("unknown scaling schedule key '" + key + "'");
        }
    }
    if (!haveCron) throw std::invalid_argument("scaling schedule '" + text + "' has no cron=");
    if (!rule.minGroups && !rule.maxGroups) {
        throw std::invalid_argument("scaling schedule '" + text + "' sets neither min_groups nor max_groups");
    }
    if (rule.minGroups && rule.maxGroups && *rule.minGroups > *rule.maxGroups) {
        throw std::invalid_argument("scaling schedule '" + text + "' has min_groups above max_groups");
    }
    return rule;
}

ScheduledLimits scheduledLimits(const std::vector<ScheduleRule>& rules, const std::string& adapterId,
                                std::time_t now) {
    ScheduledLimits limits;
    std::tm local{}, utc{};
    localtime_r(&now, &local);
    gmtime_r(&now, &utc);
    for (const ScheduleRule& rule : rules) {
        if (!rule.adapter.empty() && rule.adapter != adapterId) continue;
        if (!rule.when.matches(rule.utc ? utc : local)) continue;
        if (rule.minGroups && *rule.minGroups > limits.minGroups) {
            limits.minGroups = *rule.minGroups;
            limits.minRule = rule.text;
        }
        if (rule.maxGroups && (!limits.maxGroups || *rule.maxGroups < *limits.maxGroups)) {
            limits.maxGroups = rule.maxGroups;
            limits.maxRule = rule.text;
        }
    }
    return limits;
}

}  // namespace scaler::scheduler
