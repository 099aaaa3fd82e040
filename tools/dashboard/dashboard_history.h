#pragma once
// What the dashboard page shows, built from the scheduler's monitor snapshots (one a second): the latest
// state, plus what a snapshot alone does not hold: rates and gauges over the last minutes, each worker's
// CPU and memory history, the task stream and the scaling decisions accumulated across snapshots (and
// across scheduler restarts). Fed snapshots and their arrival time; no socket, no thread.

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace scaler::dashboard {

class DashboardHistory {
public:
    static constexpr size_t kSeriesPoints = 300;  // five minutes at one snapshot a second
    static constexpr size_t kWorkerPoints = 60;
    static constexpr size_t kTaskStreamEntries = 2000;
    static constexpr size_t kScalingEvents = 500;

    // `snapshot`: scaler::snapshotToJson's form.
    void add(const nlohmann::json& snapshot);
    // Everything the page draws, as JSON (the page sorts and filters).
    nlohmann::json state() const;
    size_t snapshots() const { return snapshots_; }

private:
    struct Point {
        uint64_t unixMs = 0;
        double succeededPerSecond = 0, failedPerSecond = 0;
        uint64_t queued = 0, running = 0, workers = 0;
        double schedulerCpu = 0, schedulerRssMiB = 0, latencyP50 = 0, latencyP99 = 0;
    };
    struct DemandPoint {
        uint64_t unixMs = 0;
        double tasks = 0, supply = 0, desired = 0;
    };
    struct WorkerPoint {
        double cpu = 0, rssMiB = 0;
    };

    nlohmann::json latest_;
    uint64_t snapshots_ = 0;
    std::deque<Point> series_;
    std::map<std::string, std::deque<DemandPoint>> demand_;  // by capability set
    std::map<std::string, std::deque<WorkerPoint>> workers_;
    std::deque<nlohmann::json> taskStream_;
    std::set<std::pair<uint64_t, uint64_t>> seenTasks_;  // (incarnation, sequence)
    std::deque<nlohmann::json> scalingEvents_;
    std::set<std::string> seenEvents_;
    uint64_t lastSucceeded_ = 0, lastFailed_ = 0, lastUnixMs_ = 0, lastIncarnation_ = 0;
};

}  // namespace scaler::dashboard
