// scaler_dashboard against a real cluster (scheduler, a static worker, a native adapter), read by a real
// headless Chromium: what the page shows is checked from its DOM after its scripts ran.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include <httplib.h>

#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

namespace {

struct ProgramOutput {
    int exitCode = -1;
    std::string output;
};

ProgramOutput runChromium(const std::vector<std::string>& extra, const std::string& url) {
    std::string command =
        "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
        "--user-data-dir=" +
        tempDir() + "/chromium-profile";
    for (const std::string& arg : extra) command += " " + arg;
    command += " '" + url + "' 2>/dev/null";
    ProgramOutput result;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[65536];
    for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.output.append(buffer, n);
    result.exitCode = WEXITSTATUS(pclose(pipe));
    return result;
}

// The page's DOM after `budgetMs` of (virtual) time: several polls of /api/state.
std::string renderedDom(const std::string& url, int budgetMs = 4000) {
    return runChromium({"--virtual-time-budget=" + std::to_string(budgetMs), "--dump-dom"}, url).output;
}

std::string firstMatch(const std::string& text, const std::string& pattern) {
    std::smatch match;
    return std::regex_search(text, match, std::regex(pattern)) ? match[1].str() : "";
}

// The page's address, from the line scaler_dashboard prints once it serves (empty if it never does).
std::string pageAddress(ChildProcess& dashboard) {
    std::string url;
    waitUntil([&] {
        url = firstMatch(dashboard.log(), "dashboard at (http://127\\.0\\.0\\.1:[0-9]+/)");
        return !url.empty();
    });
    return url;
}

}  // namespace

TEST(Dashboard, AHeadlessBrowserSeesWorkersScalingDecisionsTheTaskStreamAndLiveCharts) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    auto& staticWorker = cluster.addWorker();
    cluster.addNativeAdapter("cpu",
                             {"--max-worker-groups", "2", "--billing", "per-second:minimum=60:price=36"});
    ASSERT_TRUE(cluster.waitForWorkers(1));
    ChildProcess dashboard(
        {binary("scaler_dashboard"), cluster.monitorAddress(), "--http-address", "127.0.0.1:0"},
        tempDir() + "/dashboard.log");
    const std::string url = pageAddress(dashboard);
    ASSERT_FALSE(url.empty()) << dashboard.log();

    Client client(cluster.address());
    std::vector<Future> futures = client.map("sleep_ms", std::vector<std::string>(300, "20"));
    Client::gather(futures);
    // the scheduler's snapshots reach the dashboard once a second
    const int port = std::stoi(firstMatch(url, ":([0-9]+)/"));
    httplib::Client http("127.0.0.1", port);
    ASSERT_TRUE(waitUntil([&] {
        auto response = http.Get("/api/state");
        if (!response || response->status != 200) return false;
        const auto state = nlohmann::json::parse(response->body);
        return state.contains("task_stream") && state["task_stream"].size() >= 300 &&
               state["series"]["t"].size() >= 2;
    })) << dashboard.log();

    const std::string first = renderedDom(url);
    ASSERT_NE(first.find("data-updates=\""), std::string::npos) << first.substr(0, 2000);
    EXPECT_NE(firstMatch(first, "data-updates=\"([0-9]+)\""), "0") << "the page never drew a state";
    // the static worker's row, found by its pid's process in the table
    const auto workers = cluster.snapshot()["workers"];
    bool staticRow = false;
    for (const auto& w : workers) {
        if (w["pid"] == staticWorker.pid())
            staticRow =
                first.find("data-worker-id=\"" + w["id"].get<std::string>() + "\"") != std::string::npos;
    }
    EXPECT_TRUE(staticRow) << "no row for the static worker";
    // a scaling decision with its reason
    EXPECT_TRUE(
        std::regex_search(first, std::regex("data-action=\"start\">[^<]*<span class=\"action\">start</span> "
                                            "cpu [^<]*: [0-9]+ tasks")))
        << "no start decision with its reason in the page";
    // the adapter that started a group, with the start-up the scheduler measured
    EXPECT_TRUE(std::regex_search(
        first, std::regex("<tr><td>cpu</td><td>native</td>(<td[^>]*>[^<]*</td>){3}<td>[0-9]+\\.[0-9]{2}</td>"
                          "<td>per-second:minimum=60:price=36</td><td>([0-9.]+)</td><td>[0-9.]+</td></tr>")))
        << "no adapter row with its measured start-up and its bill";
    // a group's run is billed at least its minimum, 60 s at 36 an hour: 0.6 so far at the least
    EXPECT_GE(std::stod(firstMatch(first, "<td>per-second:minimum=60:price=36</td><td>([0-9.]+)</td>")), 0.6);
    // and the decision to start it said so
    EXPECT_NE(first.find("a start is billed at least 60 s, 0.6"), std::string::npos)
        << "no start cost in the decision's reason";
    // how full the scheduler is against its limit (nothing unfinished now), and each client's share
    const auto admission = cluster.snapshot()["admission"];
    EXPECT_NE(first.find("unfinished tasks<b>0 of " +
                         std::to_string(admission["max_queued_tasks"].get<uint64_t>()) + "</b>"),
              std::string::npos)
        << "no unfinished-tasks card against the limit";
    EXPECT_NE(first.find("client share<b>" + std::to_string(admission["client_task_share"].get<uint64_t>()) +
                         " tasks</b>"),
              std::string::npos)
        << "no client share card";
    // the task stream: every task of the burst was sampled
    EXPECT_GE(std::stoi(firstMatch(first, "id=\"task-stream-count\">([0-9]+)<")), 300);

    // a chart that moves: the throughput chart has more points, or a later one, a moment later
    const std::string firstLast = firstMatch(first, "data-last-t=\"([0-9]+)\"");
    ASSERT_FALSE(firstLast.empty()) << "the throughput chart has no points";
    ASSERT_TRUE(waitUntil(
        [&] {
            const std::string later = renderedDom(url, 2000);
            const std::string laterLast = firstMatch(later, "data-last-t=\"([0-9]+)\"");
            return !laterLast.empty() && std::stoull(laterLast) > std::stoull(firstLast);
        },
        60s))
        << "the throughput chart did not update";

    const std::string screenshot = tempDir() + "/dashboard.png";
    const auto shot = runChromium(
        {"--virtual-time-budget=3000", "--window-size=1500,2200", "--screenshot=" + screenshot}, url);
    EXPECT_EQ(shot.exitCode, 0) << shot.output;
    std::printf("dashboard screenshot: %s\n", screenshot.c_str());
}

TEST(Dashboard, ServesEveryAssetItselfAndRefusesAnOpenAddressWithoutBeingTold) {
    TestCluster cluster;
    ChildProcess dashboard(
        {binary("scaler_dashboard"), cluster.monitorAddress(), "--http-address", "127.0.0.1:0"},
        tempDir() + "/dashboard.log");
    const std::string url = pageAddress(dashboard);
    ASSERT_FALSE(url.empty()) << dashboard.log();
    httplib::Client http("127.0.0.1", std::stoi(firstMatch(url, ":([0-9]+)/")));
    for (const std::string path : {"/", "/dashboard.js", "/dashboard.css", "/chart.min.js"}) {
        auto response = http.Get(path);
        ASSERT_TRUE(response) << path;
        EXPECT_EQ(response->status, 200) << path;
        EXPECT_GT(response->body.size(), 100u) << path;
    }
    EXPECT_NE(http.Get("/chart.min.js")->body.find("Chart.js"), std::string::npos);
    // the page loads nothing from elsewhere
    const std::string page = http.Get("/")->body;
    EXPECT_EQ(page.find("http://"), std::string::npos);
    EXPECT_EQ(page.find("https://"), std::string::npos);

    ChildProcess open({binary("scaler_dashboard"), cluster.monitorAddress(), "--http-address", "0.0.0.0:0"},
                      tempDir() + "/open.log");
    EXPECT_EQ(WEXITSTATUS(open.waitExit(10s)), 2);
    EXPECT_NE(open.log().find("--allow-remote"), std::string::npos) << open.log();
}
