#include "scaler/common/log.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace scaler::log {
namespace {

constexpr const char* kPattern = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] [%n] %v";

// %v with every byte below 0x20 (newline, escape...) and DEL written as \xNN, and the message cut.
class EscapedMessage final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& out) override {
        static constexpr char kHex[] = "0123456789abcdef";
        const std::string_view text(message.payload.data(), message.payload.size());
        const size_t shown = std::min(text.size(), kMaxMessageBytes);
        for (size_t i = 0; i < shown; ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            if (c >= 0x20 && c != 0x7f) {
                out.push_back(static_cast<char>(c));
            } else {
                const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
                out.append(escaped, escaped + 4);
            }
        }
        if (shown < text.size()) {
            const std::string more = "...(" + std::to_string(text.size()) + " bytes)";
            out.append(more.data(), more.data() + more.size());
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<EscapedMessage>();
    }
};

// spdlog's own %v is replaced by ours: the pattern says %v, the formatter writes %*
std::string withEscapedMessage(std::string pattern) {
    for (size_t at = pattern.find("%v"); at != std::string::npos; at = pattern.find("%v", at + 2))
        pattern[at + 1] = '*';
    return pattern;
}

constexpr std::array<std::string_view, 8> kNames{"process",   "tasks",   "scaling", "security",
                                                 "transport", "adapter", "worker",  "client"};

struct Loggers {
    std::shared_ptr<spdlog::sinks::sink> sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    std::array<std::shared_ptr<spdlog::logger>, kNames.size()> byComponent;
    std::string processName = "scaler";

    Loggers() { build(); }
    void build() {
        for (size_t i = 0; i < kNames.size(); ++i) {
            auto logger = std::make_shared<spdlog::logger>(processName + "/" + std::string(kNames[i]), sink);
            if (byComponent[i]) logger->set_level(byComponent[i]->level());
            logger->set_formatter(makeFormatter(kPattern));
            logger->flush_on(spdlog::level::info);
            byComponent[i] = std::move(logger);
        }
    }
};

Loggers& loggers() {
    static Loggers instance;
    return instance;
}

spdlog::level::level_enum parseLevel(std::string_view text, std::string_view item) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    static const std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
        {"warning", spdlog::level::warn},      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},
        {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
    for (const auto& [name, level] : kLevels) {
        if (lower == name) return level;
    }
    throw std::invalid_argument("logging level '" + std::string(item) +
                                "': level must be trace, debug, info, warning, error, critical or off");
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

}  // namespace

spdlog::logger& get(Component component) {
    return *loggers().byComponent[static_cast<size_t>(component)];
}

LevelSpec parseLevelSpec(std::string_view text) {
    LevelSpec spec;
    bool sawAll = false;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view item = trim(text.substr(start, comma - start));
        start = comma + 1;
        if (item.empty()) {
            if (comma == text.size()) break;
            throw std::invalid_argument("logging level '" + std::string(text) + "' has an empty item");
        }
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            if (sawAll)
                throw std::invalid_argument("logging level '" + std::string(text) +
                                            "' names two levels for every component");
            sawAll = true;
            spec.all = parseLevel(item, item);
            continue;
        }
        const std::string_view key = trim(item.substr(0, eq));
        const auto it = std::find(kNames.begin(), kNames.end(), key);
        if (it == kNames.end()) {
            std::string known;
            for (auto n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
            throw std::invalid_argument("logging level '" + std::string(item) + "': unknown component '" +
                                        std::string(key) + "' (known: " + known + ")");
        }
        const auto component = static_cast<Component>(it - kNames.begin());
        for (const auto& [seen, level] : spec.perComponent) {
            if (seen == component) {
                throw std::invalid_argument("logging level '" + std::string(text) + "' names component '" +
                                            std::string(key) + "' twice");
            }
        }
        spec.perComponent.emplace_back(component, parseLevel(trim(item.substr(eq + 1)), item));
    }
    return spec;
}

void configure(const std::string& processName, const LevelSpec& spec) {
    Loggers& all = loggers();
    all.processName = processName;
    all.build();
    for (auto& logger : all.byComponent) logger->set_level(spec.all);
    for (const auto& [component, level] : spec.perComponent) {
        all.byComponent[static_cast<size_t>(component)]->set_level(level);
    }
    // Code that logs through spdlog's free functions (third-party callbacks) lands in the process logger.
    spdlog::set_default_logger(all.byComponent[static_cast<size_t>(Component::process)]);
}

void setAll(spdlog::level::level_enum level, const std::string& pattern) {
    for (auto& logger : loggers().byComponent) {
        logger->set_level(level);
        if (!pattern.empty()) logger->set_formatter(makeFormatter(pattern));
    }
}

std::unique_ptr<spdlog::formatter> makeFormatter(const std::string& pattern) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<EscapedMessage>('*').set_pattern(withEscapedMessage(pattern));
    return formatter;
}

}  // namespace scaler::log
