#pragma once
// What scaler_top shows, as a pure function of its state and the screen size: lines of text with a style.
// The ncurses layer only draws them, so layout, sorting and scrolling are tested without a terminal.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace scaler::top {

enum class WorkerColumn { id, group, capabilities, queued, running, done, cpu, rss, heartbeat };
inline constexpr int kWorkerColumnCount = 9;

struct TopState {
    std::string monitorAddress;
    nlohmann::json snapshot;          // the latest snapshot (snapshotToJson); null until one arrives
    nlohmann::json previous;          // the one before, for per-second rates
    double secondsSinceSnapshot = 0;  // how stale `snapshot` is
    double staleAfterSeconds = 5;     // then the scheduler is reported as not answering
    std::string connectionProblem;    // why no snapshot can come (a refused handshake: the keys), if known
    WorkerColumn sortColumn = WorkerColumn::done;
    bool sortDescending = true;
    int scroll = 0;  // first worker row shown
    bool showHelp = false;
    // For `--once`: every row of every section, no padding to the screen, no key hints.
    bool fitContent = false;
};

enum class LineStyle { normal, title, header, warning };

struct Line {
    std::string text;
    LineStyle style = LineStyle::normal;
};

inline constexpr int kMinColumns = 60;
inline constexpr int kMinRows = 12;

std::vector<Line> renderTop(TopState& state, int rows, int columns);

// Workers in display order for the current sort.
std::vector<nlohmann::json> sortedWorkers(const TopState& state);
const char* columnName(WorkerColumn column);

}  // namespace scaler::top
