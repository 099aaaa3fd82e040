// scaler_top's layout without a terminal.
#include <gtest/gtest.h>

#include "top_view.h"

using namespace scaler::top;
using nlohmann::json;

namespace {

json snapshot(uint64_t timestampMs, uint64_t succeeded, int workers) {
    json s{{"timestamp_ms", timestampMs},
           {"scheduler_address", "tcp://127.0.0.1:8516"},
           {"uptime_ms", 3723000},
           {"scheduler", {{"cpu_permille", 15}, {"rss_bytes", 26214400}}},
           {"clients", 2},
           {"allocate_policy", "capability"},
           {"scaling_policy", "capability"},
           {"tasks",
            {{"queued", 5},
             {"running", 3},
             {"cancelling", 0},
             {"succeeded", succeeded},
             {"failed", 1},
             {"cancelled", 0},
             {"worker_died", 0},
             {"timed_out", 0},
             {"rejected", 0}}},
           {"adapters", json::array()},
           {"worker_groups", json::array()},
           {"scaling_events", json::array()},
           {"unschedulable", json::array()}};
    for (int i = 0; i < workers; ++i) {
        s["workers"].push_back({{"id", "W" + std::to_string(i)},
                                {"worker_group_id", ""},
                                {"capabilities", ""},
                                {"queued", i},
                                {"running", 1},
                                {"done", 100 - i},
                                {"cpu_permille", 10 * i},
                                {"rss_bytes", 1048576},
                                {"last_heartbeat_age_ms", 500}});
    }
    return s;
}

std::string text(const std::vector<Line>& lines) {
    std::string out;
    for (const auto& l : lines) out += l.text + "\n";
    return out;
}

}  // namespace

TEST(TopView, WaitingLineBeforeTheFirstSnapshot) {
    TopState state;
    state.monitorAddress = "tcp://127.0.0.1:8518";
    EXPECT_NE(text(renderTop(state, 40, 120)).find("waiting for scheduler at tcp://127.0.0.1:8518"),
              std::string::npos);
}

TEST(TopView, HeaderHasUptimeAndRates) {
    TopState state;
    state.previous = snapshot(1000, 100, 1);
    state.snapshot = snapshot(3000, 300, 1);
    const std::string screen = text(renderTop(state, 40, 160));
    EXPECT_NE(screen.find("up 1h02m"), std::string::npos) << screen;
    EXPECT_NE(screen.find("succeeded 300 (+100/s)"), std::string::npos) << screen;
    EXPECT_NE(screen.find("rss 25.0 MiB"), std::string::npos);
}

TEST(TopView, SortsAndScrollsWorkers) {
    TopState state;
    state.snapshot = snapshot(1000, 0, 30);
    EXPECT_EQ(sortedWorkers(state).front()["id"], "W0");  // most done first
    state.sortColumn = WorkerColumn::cpu;
    EXPECT_EQ(sortedWorkers(state).front()["id"], "W29");
    state.sortDescending = false;
    EXPECT_EQ(sortedWorkers(state).front()["id"], "W0");

    state.scroll = 1000;  // clamped to the last page
    const auto lines = renderTop(state, 20, 160);
    EXPECT_LE(lines.size(), 20u);
    const std::string screen = text(lines);
    EXPECT_NE(screen.find("W29 "), std::string::npos) << screen;
    EXPECT_EQ(screen.find("W0 "), std::string::npos);
    EXPECT_NE(screen.find("rows "), std::string::npos);
    EXPECT_LT(state.scroll, 30);
}

TEST(TopView, SmallTerminalShowsHeaderAndASizeLine) {
    TopState state;
    state.snapshot = snapshot(1000, 0, 3);
    const auto lines = renderTop(state, 8, 50);
    const std::string screen = text(lines);
    EXPECT_NE(screen.find("terminal too small"), std::string::npos);
    for (const auto& l : lines) EXPECT_LE(l.text.size(), 50u);
}

TEST(TopView, StaleSnapshotSaysTheSchedulerIsNotAnswering) {
    TopState state;
    state.monitorAddress = "tcp://x:1";
    state.snapshot = snapshot(1000, 0, 1);
    state.secondsSinceSnapshot = 12;
    EXPECT_NE(text(renderTop(state, 40, 160)).find("scheduler not answering for 12 s"), std::string::npos);
}

TEST(TopView, AdmissionShowsTheLimitsAndTheClientShareAndWarnsNearTheLimit) {
    TopState state;
    state.snapshot = snapshot(1000, 0, 1);
    state.snapshot["admission"] = {{"unfinished_tasks", 850},  {"unfinished_task_bytes", 1048576},
                                   {"max_queued_tasks", 1000}, {"max_queued_bytes", 4194304},
                                   {"client_task_share", 333}, {"client_byte_share", 1398101}};
    const auto admissionOf = [&] {
        for (const Line& l : renderTop(state, 40, 200)) {
            if (l.text.rfind("admission", 0) == 0) return l;
        }
        return Line{};
    };
    Line line = admissionOf();
    EXPECT_EQ(
        line.text,
        "admission  unfinished 850 of 1000 tasks, 1.0 of 4.0 MiB  each client up to 333 tasks, 1.3 MiB");
    EXPECT_EQ(line.style, LineStyle::normal);
    state.snapshot["admission"]["unfinished_tasks"] = 900;  // 90 %: submits are about to wait
    EXPECT_EQ(admissionOf().style, LineStyle::warning);
    state.snapshot["admission"] = {{"unfinished_tasks", 7}, {"unfinished_task_bytes", 0}};  // no limits
    EXPECT_EQ(admissionOf().text, "admission  unfinished 7 tasks (no limit), 0.0 MiB (no limit)");
}

TEST(TopView, FitContentShowsEveryRowWithoutPaddingOrKeyHints) {
    TopState state;
    state.snapshot = snapshot(1000, 0, 40);
    for (int i = 0; i < 12; ++i) {
        state.snapshot["scaling_events"].push_back({{"timestamp_ms", 900},
                                                    {"adapter_id", "a"},
                                                    {"action", "start"},
                                                    {"worker_group_id", ""},
                                                    {"reason", "reason " + std::to_string(i)}});
    }
    state.fitContent = true;
    const std::string screen = text(renderTop(state, 0, 200));  // no screen size at all
    EXPECT_NE(screen.find("W39 "), std::string::npos);
    EXPECT_NE(screen.find("reason 0"), std::string::npos);
    EXPECT_NE(screen.find("reason 11"), std::string::npos);
    EXPECT_EQ(screen.find("q quit"), std::string::npos);
    EXPECT_EQ(screen.find("too small"), std::string::npos);
    EXPECT_EQ(screen.find("\n\n\n"), std::string::npos);  // no blank padding
}

TEST(TopView, ShowsTheScalingInputsAndHeldCommandsWithinTheScreen) {
    TopState state;
    state.snapshot = snapshot(1000, 0, 60);  // more workers than fit
    state.snapshot["demand"] = json::array({{{"capabilities", "gpu"},
                                             {"tasks", 40},
                                             {"queued", 30},
                                             {"arrival_rate", 2.5},
                                             {"rate_trend", 0.1},
                                             {"mean_duration_seconds", 1.25},
                                             {"supply_workers", 4.0},
                                             {"desired_workers", 8.0},
                                             {"basis", "30 queued x 1.25 s"}}});
    state.snapshot["held_scaling"] = json::array({{{"adapter_id", "cpu"},
                                                   {"action", "shutdown"},
                                                   {"held_because", "scale_down_stabilization_seconds 30"},
                                                   {"wanted_because", "group idle"}}});
    const std::string screen = text(renderTop(state, 40, 200));
    EXPECT_NE(
        screen.find(
            "gpu                       40      30     2.50    1.250     4.0     8.0  30 queued x 1.25 s"),
        std::string::npos)
        << screen;
    EXPECT_NE(screen.find("held shutdown on cpu: scale_down_stabilization_seconds 30 (wanted: group idle)"),
              std::string::npos)
        << screen;
}

TEST(TopView, AdaptersShowTheirMeasuredStartUpAndTheirBill) {
    TopState state;
    state.snapshot = snapshot(3000, 300, 1);
    const auto adapter = [](const std::string& id, unsigned startupMs) {
        return json{{"id", id},
                    {"kind", "native"},
                    {"groups_in_use", 1},
                    {"max_worker_groups", 8},
                    {"workers_per_group", 4},
                    {"capabilities", ""},
                    {"last_heartbeat_age_ms", 200},
                    {"startup_ms", startupMs},
                    {"cost_so_far", startupMs > 0 ? 1.25 : 0.0},
                    {"cost_per_hour", startupMs > 0 ? 36.0 : 0.0}};
    };
    state.snapshot["adapters"] = json::array({adapter("measured", 1500), adapter("fresh", 0)});
    const std::string screen = text(renderTop(state, 40, 160));
    EXPECT_NE(screen.find("START-UP"), std::string::npos) << screen;
    const auto line = [&](const std::string& id) { return screen.substr(screen.find(id), 130); };
    EXPECT_NE(line("measured").find("1.50s"), std::string::npos) << screen;
    EXPECT_NE(line("fresh").find(" -"), std::string::npos) << screen;
    EXPECT_NE(screen.find("COST/H"), std::string::npos) << screen;
    EXPECT_NE(line("measured").find("1.25       36"), std::string::npos) << screen;
}
