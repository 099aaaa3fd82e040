// Graph tasks end to end: real scheduler and workers, the real client.
#include <gtest/gtest.h>

#include "scaler/client/client.h"
#include "scaler/client/task_graph.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

TEST(Graphs, TenThousandNodesReduceToTheRightSum) {
    TestCluster cluster;
    cluster.addWorker();
    cluster.addWorker();
    ASSERT_TRUE(cluster.waitForWorkers(2));
    Client client(cluster.address());
    // 5,000 leaves, then pairwise sums down to one root: 9,999 nodes
    TaskGraph graph;
    std::vector<std::string> level;
    const int leaves = 5000;
    for (int i = 0; i < leaves; ++i) {
        level.push_back("leaf-" + std::to_string(i));
        graph.add(level.back(), "echo", {std::to_string(i)});
    }
    int next = 0;
    while (level.size() > 1) {
        std::vector<std::string> up;
        for (size_t i = 0; i + 1 < level.size(); i += 2) {
            up.push_back("sum-" + std::to_string(next++));
            graph.add(up.back(), "sum", {GraphKey{level[i]}, GraphKey{level[i + 1]}});
        }
        if (level.size() % 2 == 1) up.push_back(level.back());
        level = std::move(up);
    }
    ASSERT_EQ(graph.size(), 2u * leaves - 1);
    auto futures = client.submitGraph(graph, {level.front(), "leaf-7"});
    ASSERT_EQ(futures.size(), 2u);
    EXPECT_EQ(futures.at(level.front()).get(), std::to_string(int64_t{leaves} * (leaves - 1) / 2));
    EXPECT_EQ(futures.at("leaf-7").get(), "7");
    nlohmann::json snapshot;
    EXPECT_TRUE(waitUntil(
        [&] {
            snapshot = cluster.snapshot();
            return snapshot["tasks"]["succeeded"] == 2 * leaves - 1;
        },
        10s))
        << snapshot["tasks"].dump();
    EXPECT_EQ(snapshot["graphs"]["live"], 0);
    EXPECT_EQ(snapshot["objects"]["count"], 0);  // intermediate results went with the graph
}

TEST(Graphs, OnlyWhatTheRequestedKeysNeedRuns) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    TaskGraph graph;
    graph.add("a", "echo", {std::string("A")});
    graph.add("b", "concat", {GraphKey{"a"}, std::string("B")});
    graph.add("unused", "sleep_ms", {std::string("60000")});
    graph.add("also-unused", "concat", {GraphKey{"unused"}});
    auto futures = client.submitGraph(graph, {"b"});
    EXPECT_EQ(futures.at("b").get(), "AB");
    nlohmann::json tasks;
    EXPECT_TRUE(waitUntil(
        [&] {
            tasks = cluster.snapshot()["tasks"];
            return tasks["succeeded"] == 2;
        },
        10s));
    // the unneeded sleeper never started
    EXPECT_EQ(tasks["running"], 0) << tasks.dump();
    EXPECT_EQ(tasks["queued"], 0) << tasks.dump();
}

TEST(Graphs, LargeIntermediateResultsStayInTheClusterAndReachDependents) {
    TestCluster cluster;
    cluster.addWorker();
    cluster.addWorker();
    Client client(cluster.address());
    const std::string half(3u << 20, 'h');  // beyond what travels inline: a store object between nodes
    TaskGraph graph;
    graph.add("big", "concat", {half, half});
    graph.add("size", "length", {GraphKey{"big"}});
    graph.add("twice", "length", {GraphKey{"big"}, GraphKey{"big"}});
    auto futures = client.submitGraph(graph, {"size", "twice"});
    EXPECT_EQ(futures.at("size").get(), std::to_string(2 * half.size()));
    EXPECT_EQ(futures.at("twice").get(), std::to_string(4 * half.size()));
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["objects"]["count"] == 0; }, 10s));
}

TEST(Graphs, AFailedNodeFailsItsDependentsWithTheOriginalError) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    TaskGraph graph;
    graph.add("ok", "echo", {std::string("fine")});
    graph.add("broken", "fail", {std::string("disk full on node 7")});
    graph.add("child", "concat", {GraphKey{"broken"}, GraphKey{"ok"}});
    graph.add("grandchild", "concat", {GraphKey{"child"}});
    auto futures = client.submitGraph(graph, {"ok", "broken", "grandchild"});
    EXPECT_EQ(futures.at("ok").get(), "fine");
    for (const char* key : {"broken", "grandchild"}) {
        try {
            futures.at(key).get();
            ADD_FAILURE() << key << " succeeded";
        } catch (const TaskFailedError& e) {
            EXPECT_NE(std::string(e.what()).find("disk full on node 7"), std::string::npos)
                << key << ": " << e.what();
        }
    }
}

TEST(Graphs, CyclesUnknownKeysAndDuplicatesAreRefusedBeforeAnythingRuns) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    TaskGraph cyclic;
    cyclic.add("x", "concat", {GraphKey{"z"}});
    cyclic.add("y", "concat", {GraphKey{"x"}});
    cyclic.add("z", "concat", {GraphKey{"y"}});
    try {
        client.submitGraph(cyclic, {"z"});
        ADD_FAILURE() << "a cycle was accepted";
    } catch (const GraphError& e) {
        EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
    }
    TaskGraph unknown;
    unknown.add("a", "concat", {GraphKey{"nowhere"}});
    try {
        client.submitGraph(unknown, {"a"});
        ADD_FAILURE() << "an unknown key was accepted";
    } catch (const GraphError& e) {
        EXPECT_NE(std::string(e.what()).find("'nowhere'"), std::string::npos) << e.what();
    }
    TaskGraph fine;
    fine.add("a", "echo", {std::string("1")});
    EXPECT_THROW(fine.add("a", "echo", {std::string("2")}), GraphError);
    EXPECT_THROW(client.submitGraph(fine, {"missing"}), GraphError);
    EXPECT_EQ(cluster.snapshot()["tasks"]["succeeded"], 0);
}

TEST(Graphs, CancellingAnOutputStopsWhatHasNotFinished) {
    TestCluster cluster;
    cluster.addWorker();
    Client client(cluster.address());
    TaskGraph graph;
    graph.add("slow", "sleep_ms", {std::string("60000")});
    graph.add("after", "concat", {GraphKey{"slow"}});
    auto futures = client.submitGraph(graph, {"slow", "after"});
    ASSERT_TRUE(waitUntil([&] { return cluster.snapshot()["tasks"]["running"] == 1; }, 10s));
    EXPECT_TRUE(futures.at("after").cancel());
    EXPECT_THROW(futures.at("slow").get(), TaskCancelledError);
    EXPECT_THROW(futures.at("after").get(), TaskCancelledError);
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["graphs"]["live"] == 0; }, 10s));
}
