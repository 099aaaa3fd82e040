// The scheduler's Prometheus endpoint, scraped over HTTP like Prometheus does.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstring>

#include "scaler/client/client.h"
#include "test_cluster.h"

using namespace scaler;
using namespace scaler::testing;

TEST(Metrics, PrometheusEndpointIsScrapedWithTaskAndWorkerFigures) {
    TestCluster cluster({"--metrics-address", "127.0.0.1:0"});
    cluster.addWorker();
    ASSERT_TRUE(cluster.waitForWorkers(1));
    {
        Client client(cluster.address());
        std::vector<std::string> payloads(25, "x");
        EXPECT_EQ(Client::gather(client.map("echo", payloads)), payloads);
        EXPECT_THROW(client.submit("fail", "boom").get(), TaskFailedError);
    }
    // the bound port is in the log: "metrics at http://127.0.0.1:PORT/metrics"
    std::string log;
    ASSERT_TRUE(
        waitUntil([&] { return (log = cluster.scheduler().log()).find("/metrics") != std::string::npos; }));
    const auto at = log.find("metrics at http://127.0.0.1:") + std::strlen("metrics at http://127.0.0.1:");
    const int port = std::stoi(log.substr(at));
    httplib::Client http("127.0.0.1", port);
    std::string body;
    ASSERT_TRUE(waitUntil([&] {  // published every second
        auto response = http.Get("/metrics");
        if (!response || response->status != 200) return false;
        body = response->body;
        return body.find("scaler_tasks_finished_total{state=\"succeeded\"} 25\n") != std::string::npos;
    })) << body;
    EXPECT_NE(body.find("scaler_tasks_finished_total{state=\"failed\"} 1\n"), std::string::npos);
    EXPECT_NE(body.find("scaler_task_latency_seconds_count 26\n"), std::string::npos);
    EXPECT_NE(body.find("scaler_workers{adapter=\"\"} 1\n"), std::string::npos);
    EXPECT_NE(body.find("# TYPE scaler_task_latency_seconds histogram\n"), std::string::npos);
    auto missing = http.Get("/nothing");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
}
