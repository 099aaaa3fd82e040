#pragma once
// One spdlog logger per component, so an operator can turn up one part of a process
// (`--logging-level scaling=debug,tasks=info`). Every logger shares the process's sink and pattern; the
// component's name is in each line.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace scaler::log {

enum class Component { process, tasks, scaling, security, transport, adapter, worker, client };

// The logger of one component. Usable before configure(): it then writes at INFO to stderr.
spdlog::logger& get(Component component);

inline spdlog::logger& process() {
    return get(Component::process);
}
inline spdlog::logger& tasks() {
    return get(Component::tasks);
}
inline spdlog::logger& scaling() {
    return get(Component::scaling);
}
inline spdlog::logger& security() {
    return get(Component::security);
}
inline spdlog::logger& transport() {
    return get(Component::transport);
}
inline spdlog::logger& adapter() {
    return get(Component::adapter);
}
inline spdlog::logger& worker() {
    return get(Component::worker);
}
inline spdlog::logger& client() {
    return get(Component::client);
}

// Parses a level specification: a level for every component ("info"), per-component levels
// ("scaling=debug,tasks=info"), or both ("warning,scaling=debug"). Levels: trace, debug, info, warning,
// error, critical (any case). Throws std::invalid_argument naming the bad item.
struct LevelSpec {
    spdlog::level::level_enum all = spdlog::level::info;
    std::vector<std::pair<Component, spdlog::level::level_enum>> perComponent;
};
LevelSpec parseLevelSpec(std::string_view text);

// Names the process in the pattern ("[scheduler/scaling]") and applies `spec` to every component.
void configure(const std::string& processName, const LevelSpec& spec);

// Every component at `level`; a non-empty `pattern` replaces the line format (the simulator's trace).
void setAll(spdlog::level::level_enum level, const std::string& pattern = {});

// The formatter every logger uses: `pattern` with its message (%v) escaped, control characters as \xNN, and
// cut at kMaxMessageBytes, so text a peer supplied can neither forge a line nor fill the log.
inline constexpr size_t kMaxMessageBytes = 4096;
std::unique_ptr<spdlog::formatter> makeFormatter(const std::string& pattern);

}  // namespace scaler::log
