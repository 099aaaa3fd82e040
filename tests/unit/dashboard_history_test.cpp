// DashboardHistory fed hand-made snapshots: rates from counters, restarts, bounded histories, dedup of the
// task stream and scaling decisions across snapshots.
#include <gtest/gtest.h>

#include "dashboard_history.h"

using nlohmann::json;
using scaler::dashboard::DashboardHistory;

namespace {

json snapshot(uint64_t unixMs, uint64_t succeeded, uint64_t incarnation = 1) {
    return json{{"timestamp_ms", unixMs},
                {"incarnation", incarnation},
                {"scheduler", {{"cpu_permille", 250}, {"rss_bytes", 8u << 20}}},
                {"tasks", {{"queued", 5}, {"running", 2}, {"succeeded", succeeded}, {"failed", 1}}},
                {"workers", json::array({{{"id", "W1"}, {"cpu_permille", 500}, {"rss_bytes", 4u << 20}}})},
                {"task_stream", json::array()},
                {"scaling_events", json::array()}};
}

TEST(DashboardHistory, RatesComeFromCounterDifferencesAndARestartedSchedulerStartsAfresh) {
    DashboardHistory history;
    history.add(snapshot(10'000, 100));
    history.add(snapshot(11'000, 400));    // 300 in a second
    history.add(snapshot(13'000, 500));    // 100 in two
    history.add(snapshot(14'000, 20, 2));  // a new scheduler counts from zero: no rate, not negative
    const json state = history.state();
    EXPECT_EQ(state["series"]["succeeded_per_s"], json::array({0.0, 300.0, 50.0, 0.0}));
    EXPECT_EQ(state["series"]["queued"], json::array({5, 5, 5, 5}));
    EXPECT_EQ(state["series"]["scheduler_cpu"][0], 25.0);
    EXPECT_EQ(state["workers"][0]["cpu_history"].size(), 4u);
    EXPECT_EQ(state["workers"][0]["rss_mib_history"][0], 4.0);
}

TEST(DashboardHistory, SeriesAndWorkerHistoriesAreBoundedAndGoneWorkersForgotten) {
    DashboardHistory history;
    for (uint64_t i = 0; i < DashboardHistory::kSeriesPoints + 50; ++i)
        history.add(snapshot(1000 * (i + 1), i));
    json state = history.state();
    EXPECT_EQ(state["series"]["t"].size(), DashboardHistory::kSeriesPoints);
    EXPECT_EQ(state["workers"][0]["cpu_history"].size(), DashboardHistory::kWorkerPoints);
    json empty = snapshot(1'000'000, 0);
    empty["workers"] = json::array();
    history.add(empty);
    EXPECT_TRUE(history.state()["workers"].empty());
}

TEST(DashboardHistory, TheTaskStreamAndDecisionsAccumulateOnceAcrossSnapshotsAndRestarts) {
    DashboardHistory history;
    const auto entry = [](uint64_t sequence) {
        return json{{"sequence", sequence}, {"worker_id", "W1"}, {"function", "echo"},
                    {"start_ms", 1},        {"end_ms", 2},       {"status", "succeeded"}};
    };
    const json decision{{"timestamp_ms", 5},
                        {"adapter_id", "cpu"},
                        {"action", "start"},
                        {"worker_group_id", ""},
                        {"reason", "3 tasks need {}"}};
    json a = snapshot(1000, 0);
    a["task_stream"] = json::array({entry(1), entry(2)});
    a["scaling_events"] = json::array({decision});
    json b = snapshot(2000, 0);
    b["task_stream"] = json::array({entry(2), entry(3)});  // the scheduler sends its latest each time
    b["scaling_events"] = json::array({decision});
    json c = snapshot(3000, 0, 2);
    c["task_stream"] = json::array({entry(1)});  // a restarted scheduler numbers from 1 again
    history.add(a);
    history.add(b);
    history.add(c);
    const json state = history.state();
    EXPECT_EQ(state["task_stream"].size(), 4u);
    EXPECT_EQ(state["scaling_events"].size(), 1u);
}

}  // namespace
