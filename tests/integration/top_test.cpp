// scaler_top's screen, driven in a real terminal through tmux (send-keys, capture-pane).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <regex>

#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

namespace {

std::string run(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    char buffer[4096];
    while (pipe && fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
    return out;
}

// One tmux server per test on its own socket, so tests never touch each other's terminals.
class Tmux {
public:
    Tmux() : socket_(tempDir() + "/tmux.sock") {}
    ~Tmux() { run(tmux() + " kill-server 2>/dev/null"); }

    void start(const std::string& session, const std::string& command, int columns = 160, int rows = 45) {
        run(tmux() + " new-session -d -s " + session + " -x " + std::to_string(columns) + " -y " +
            std::to_string(rows) + " '" + command + "'");
    }
    std::string screen(const std::string& session) { return run(tmux() + " capture-pane -p -t " + session); }
    void keys(const std::string& session, const std::string& keys) {
        run(tmux() + " send-keys -t " + session + " " + keys);
    }
    void resize(const std::string& session, int columns, int rows) {
        run(tmux() + " resize-window -t " + session + " -x " + std::to_string(columns) + " -y " +
            std::to_string(rows));
    }
    bool alive(const std::string& session) {
        return run(tmux() + " has-session -t " + session + " 2>&1 && echo yes").find("yes") !=
               std::string::npos;
    }
    bool waitForText(const std::string& session, const std::string& text,
                     std::chrono::milliseconds timeout = 20s) {
        return waitUntil([&] { return screen(session).find(text) != std::string::npos; }, timeout);
    }

private:
    std::string tmux() const { return "tmux -S " + socket_; }
    std::string socket_;
};

}  // namespace

TEST(Top, ShowsHeaderWorkersGroupsAndScalingEventsSortsAndQuits) {
    TestCluster cluster({"--policy-content", "allocate=capability; scaling=capability"});
    cluster.addNativeAdapter("plain", {"--max-worker-groups", "2", "--billing", "per-hour:price=3"});
    Client client(cluster.address());
    const auto futures = client.map("sleep_ms", std::vector<std::string>(60, "200"));
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["worker_groups"].size() == 2; }));

    Tmux tmux;
    tmux.start("top", binary("scaler_top") + " " + cluster.monitorAddress());
    ASSERT_TRUE(tmux.waitForText("top", "scheduler " + cluster.address())) << tmux.screen("top");
    ASSERT_TRUE(tmux.waitForText("top", "Worker|NAT|native-")) << tmux.screen("top");
    std::string screen = tmux.screen("top");
    EXPECT_NE(screen.find("tasks  queued"), std::string::npos) << screen;
    // the scheduler's fill against its derived --max-queued-tasks
    const uint64_t limit = cluster.snapshot()["admission"]["max_queued_tasks"].get<uint64_t>();
    EXPECT_NE(screen.find("of " + std::to_string(limit) + " tasks"), std::string::npos) << screen;
    EXPECT_NE(screen.find("succeeded"), std::string::npos);
    EXPECT_NE(screen.find("policy capability/capability"), std::string::npos);
    EXPECT_NE(screen.find("plain                    native"), std::string::npos) << screen;  // adapter row
    // its bill: each group started is billed a whole hour at 3, and each running costs 3 an hour
    EXPECT_TRUE(std::regex_search(screen, std::regex("plain +native .* (6|9|12) +(0|3|6)\n"))) << screen;
    EXPECT_NE(screen.find("running"), std::string::npos);  // a group row's state
    const std::string group = cluster.snapshot()["worker_groups"][0]["id"];
    EXPECT_NE(screen.find(group), std::string::npos) << screen;
    EXPECT_NE(screen.find("start"), std::string::npos);                      // a scaling event
    EXPECT_NE(screen.find("capable workers"), std::string::npos) << screen;  // with its reason

    EXPECT_NE(screen.find("sorted by DONE desc"), std::string::npos);
    tmux.keys("top", "s");
    EXPECT_TRUE(tmux.waitForText("top", "sorted by CPU% desc", 5s)) << tmux.screen("top");
    tmux.keys("top", "r");
    EXPECT_TRUE(tmux.waitForText("top", "sorted by CPU% asc", 5s));
    tmux.keys("top", "'?'");
    EXPECT_TRUE(tmux.waitForText("top", "reverse the sort order", 5s));
    tmux.keys("top", "x");  // any key closes the help
    EXPECT_TRUE(tmux.waitForText("top", "WORKERS", 5s));
    tmux.keys("top", "q");
    EXPECT_TRUE(waitUntil([&] { return !tmux.alive("top"); }, 5s));
    EXPECT_EQ(Client::gather(futures).size(), 60u);
}

TEST(Top, WaitsForAMissingSchedulerAndFitsSmallTerminals) {
    const std::string address = "tcp://127.0.0.1:" + std::to_string(pickFreePortPair() + 2);
    Tmux tmux;
    tmux.start("waiting", binary("scaler_top") + " " + address);
    EXPECT_TRUE(tmux.waitForText("waiting", "waiting for scheduler at " + address)) << tmux.screen("waiting");
    EXPECT_TRUE(tmux.alive("waiting"));  // keeps trying

    TestCluster cluster;
    tmux.start("small", binary("scaler_top") + " " + cluster.monitorAddress(), 120, 30);
    EXPECT_TRUE(tmux.waitForText("small", "WORKERS 0")) << tmux.screen("small");
    tmux.resize("small", 50, 8);  // shrinks: header and a size line, nothing garbled
    EXPECT_TRUE(tmux.waitForText("small", "terminal too small")) << tmux.screen("small");
    EXPECT_TRUE(tmux.waitForText("small", "scaler_top  scheduler"));
    tmux.resize("small", 120, 30);  // and back
    EXPECT_TRUE(tmux.waitForText("small", "WORKERS 0")) << tmux.screen("small");
    tmux.keys("waiting", "C-c");  // SIGINT ends it cleanly as well
    EXPECT_TRUE(waitUntil([&] { return !tmux.alive("waiting"); }, 5s));
}
