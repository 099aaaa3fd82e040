// The scheduler's Prometheus endpoint, scraped over HTTP like Prometheus does.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

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

namespace {

int metricsPort(TestCluster& cluster) {
    std::string log;
    EXPECT_TRUE(
        waitUntil([&] { return (log = cluster.scheduler().log()).find("/metrics") != std::string::npos; }));
    const auto at = log.find("metrics at http://127.0.0.1:") + std::strlen("metrics at http://127.0.0.1:");
    return std::stoi(log.substr(at));
}

// A raw TCP connection, for requests no well-behaved client library would send.
int connectTo(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

// Everything the server sends until it closes (or 10 s of silence), up to `limit` bytes.
std::string readAll(int fd, size_t limit = 64u << 20) {
    std::string out;
    char buffer[65536];
    while (out.size() < limit) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace

TEST(Metrics, TheEndpointRefusesHugeBodiesRangesAndSlowClientsWhileServingOthers) {
    TestCluster cluster({"--metrics-address", "127.0.0.1:0"});
    const int port = metricsPort(cluster);
    httplib::Client http("127.0.0.1", port);
    ASSERT_TRUE(waitUntil([&] {
        auto r = http.Get("/metrics");
        return r && r->status == 200;
    }));

    // A 512 MiB body is refused from its header, not read.
    int fd = connectTo(port);
    ASSERT_GE(fd, 0);
    const std::string post =
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 536870912\r\n\r\n" + std::string(65536, 'b');
    (void)::send(fd, post.data(), post.size(), MSG_NOSIGNAL);
    char head[512];
    const ssize_t got = ::recv(fd, head, sizeof head, 0);  // the answer, while the body is still unsent
    const std::string refused(head, static_cast<size_t>(std::max<ssize_t>(got, 0)));
    ::close(fd);
    EXPECT_EQ(refused.rfind("HTTP/1.1 413", 0), 0u) << refused.substr(0, 200);

    // Many ranges of one page: refused, not answered with a copy each.
    std::string ranges = "bytes=0-";
    for (int i = 0; i < 2000; ++i) ranges += ",0-";
    fd = connectTo(port);
    const std::string get =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nRange: " + ranges + "\r\n\r\n";
    (void)::send(fd, get.data(), get.size(), MSG_NOSIGNAL);
    const std::string answer = readAll(fd);
    ::close(fd);
    EXPECT_EQ(answer.rfind("HTTP/1.1 416", 0), 0u) << answer.substr(0, 200);
    EXPECT_LT(answer.size(), 4096u);

    // Slow clients that never finish their request: others are still served, and the slow ones are dropped.
    std::vector<int> slow;
    for (int i = 0; i < 16; ++i) {
        const int s = connectTo(port);
        ASSERT_GE(s, 0);
        const std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        (void)::send(s, partial.data(), partial.size(), MSG_NOSIGNAL);
        slow.push_back(s);
    }
    const auto started = std::chrono::steady_clock::now();
    auto served = http.Get("/metrics");
    ASSERT_TRUE(served);
    EXPECT_EQ(served->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << "a scrape waited";
    // after its read timeout the server answers the unfinished request with an error (or nothing) and closes
    const std::string ended = readAll(slow.front());
    EXPECT_TRUE(ended.empty() || ended.rfind("HTTP/1.1 4", 0) == 0) << ended.substr(0, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(9))
        << "a request that never ended kept its connection";
    for (int s : slow) ::close(s);
}

namespace {

uint64_t residentBytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    uint64_t kb = 0;
    while (status >> key) {
        if (key == "VmRSS:") {
            status >> kb;
            return kb * 1024;
        }
        status.ignore(1 << 10, '\n');
    }
    return 0;
}

}  // namespace

// Clients that make up capability sets at the wire's limits (64 names of 124 bytes each): one client gets at
// most 256 of them, a normal client's new set and its round trips are unaffected, and neither the scrape nor
// the scheduler's memory grows with the names (before: every set a series, 2,000 of them about 100 MB).
TEST(Metrics, ClientsInventingCapabilitySetsNeitherKeepOthersOutNorSwellTheScrape) {
    TestCluster cluster({"--metrics-address", "127.0.0.1:0"});
    cluster.addWorker({"--per-worker-capabilities", "gpu,spare"});
    ASSERT_TRUE(cluster.waitForWorkers(1));
    Client victim(cluster.address());
    SubmitOptions gpu;
    gpu.capabilities = "gpu";
    ASSERT_EQ(victim.submit("echo", "before", gpu).get(), "before");
    std::vector<std::unique_ptr<Client>> hostile;
    size_t refused = 0;
    for (int c = 0; c < 6; ++c) {
        hostile.push_back(std::make_unique<Client>(cluster.address()));
        std::vector<Future> futures;
        for (int s = 0; s <= 256; ++s) {
            std::string caps;
            for (int n = 0; n < 64; ++n) {
                caps += (n ? "," : "") + std::string(116, static_cast<char>('a' + n % 26)) + "-" +
                        std::to_string(n) + "-" + std::to_string(c) + "-" + std::to_string(s);
            }
            SubmitOptions made_up;
            made_up.capabilities = caps;
            futures.push_back(hostile.back()->submit("echo", "x", made_up));
        }
        // the 257th set of each client is refused; the others wait for a worker that never comes
        try {
            futures.back().get();
        } catch (const TaskRejectedError& e) {
            ++refused;
            EXPECT_NE(std::string(e.what()).find("distinct capability sets already"), std::string::npos)
                << e.what();
        }
        // meanwhile a normal client's new set is accepted and its round trip stays short
        SubmitOptions fresh;
        fresh.capabilities = "spare";
        const auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(victim.submit("echo", "during", fresh).get(), "during");
        EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    }
    EXPECT_EQ(refused, 6u);
    std::string log;
    ASSERT_TRUE(
        waitUntil([&] { return (log = cluster.scheduler().log()).find("/metrics") != std::string::npos; }));
    const auto at = log.find("metrics at http://127.0.0.1:") + std::strlen("metrics at http://127.0.0.1:");
    httplib::Client http("127.0.0.1", std::stoi(log.substr(at)));
    std::string body;
    ASSERT_TRUE(waitUntil(
        [&] {  // published every second: wait for one that has every set
            auto response = http.Get("/metrics");
            if (!response || response->status != 200) return false;
            body = response->body;
            return body.find("scaler_capability_sets 1539\n") !=
                   std::string::npos;  // 6 x 256, {}, gpu, spare
        },
        10s))
        << body.substr(0, 2000);
    std::printf("scrape with 1,539 capability sets: %zu bytes; scheduler resident: %.0f MB\n", body.size(),
                residentBytes(cluster.scheduler().pid()) / 1e6);
    EXPECT_LT(body.size(), 1u << 20);
    EXPECT_LT(residentBytes(cluster.scheduler().pid()), 400u << 20);
}
