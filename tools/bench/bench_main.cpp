// scaler_bench: starts a scheduler, workers and clients on loopback (or attaches to a running scheduler)
// and runs named scenarios, printing one JSON line per scenario. docs/performance.md has the figures.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "idle_client_swarm.h"
#include "monitor_subscriber.h"
#include "scaler/client/client.h"
#include "scaler/client/task_graph.h"
#include "scaler/common/command_line.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/tools/child_process.h"
#include "snapshot_json.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using scaler::tools::ChildProcess;
using scaler::tools::waitUntil;

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU seconds (user + system) a process has used, from /proc.
double processCpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = content.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(content.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uint64_t processRssBytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
    unsigned long long size = 0, resident = 0;
    in >> size >> resident;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())))];
}

struct Options {
    std::string binDir;
    std::string attach;
    uint32_t workers = 2;
    uint64_t tasks = 0;  // 0: each scenario's default
    std::vector<uint32_t> workerCounts{2, 32, 256};
    std::string logDir;
    std::string transport = "tcp";  // tcp (loopback) or ipc (Unix sockets, same host only)
};

// A scheduler and workers on free loopback ports, with a monitor subscription.
class BenchCluster {
public:
    BenchCluster(const Options& options, std::vector<std::string> schedulerArgs, uint32_t workers,
                 std::vector<std::string> workerArgs = {})
        : options_(options) {
        if (!options.attach.empty()) {
            address_ = options.attach;
        } else {
            if (options.transport == "ipc") {
                static int clusters = 0;
                address_ = "ipc://" + options.logDir + "/scheduler-" + std::to_string(++clusters) + ".sock";
            } else {
                address_ = "tcp://127.0.0.1:" + std::to_string(scaler::tools::pickFreePortPair());
            }
            std::vector<std::string> args{options.binDir + "/scaler_scheduler", address_, "--logging-level",
                                          "WARNING"};
            args.insert(args.end(), schedulerArgs.begin(), schedulerArgs.end());
            scheduler_ = std::make_unique<ChildProcess>(args, options.logDir + "/scheduler.log");
        }
        monitor_ = scaler::defaultMonitorAddress(scaler::parseAddress(address_)).toString();
        monitorSubscriber_ = std::make_unique<scaler::MonitorSubscriber>(monitor_);
        for (uint32_t i = 0; i < workers; ++i) addProcess("scaler_worker", workerArgs, "worker.log");
        if (workers > 0 &&
            !waitUntil([&] { return snapshot()["workers"].size() >= workers; }, std::chrono::seconds(120))) {
            throw std::runtime_error("workers did not connect");
        }
    }

    void addProcess(const std::string& binary, std::vector<std::string> extra, const std::string& log) {
        std::vector<std::string> args{options_.binDir + "/" + binary, address_, "--logging-level", "WARNING"};
        args.insert(args.end(), extra.begin(), extra.end());
        processes_.push_back(std::make_unique<ChildProcess>(args, options_.logDir + "/" + log));
    }

    json snapshot() { return monitorSubscriber_->latest(); }
    // A snapshot published after this call (the scheduler publishes one a second).
    json freshSnapshot() {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        json latest;
        waitUntil(
            [&] {
                latest = snapshot();
                return latest.value("timestamp_ms", int64_t{0}) > now;
            },
            std::chrono::seconds(5));
        return latest;
    }

    const std::string& address() const { return address_; }
    pid_t schedulerPid() const { return scheduler_ ? scheduler_->pid() : 0; }

private:
    const Options& options_;
    std::string address_;
    std::string monitor_;
    std::unique_ptr<ChildProcess> scheduler_;
    std::vector<std::unique_ptr<ChildProcess>> processes_;
    std::unique_ptr<scaler::MonitorSubscriber> monitorSubscriber_;
};

void emit(const json& line) {
    std::cout << line.dump() << std::endl;
}

json runNoop(const Options& o, uint32_t workers, uint64_t tasks) {
    BenchCluster cluster(o, {}, workers);
    scaler::Client client(cluster.address());
    scaler::Client::gather(client.map("noop", std::vector<std::string>(1000)));  // warm up connections
    const std::vector<std::string> payloads(tasks);
    const json framesBefore = cluster.freshSnapshot();
    const double cpuBefore = cluster.schedulerPid() ? processCpuSeconds(cluster.schedulerPid()) : 0;
    const auto start = Clock::now();
    scaler::Client::gather(client.map("noop", payloads));
    const double seconds = since(start);
    const double cpuAfter = cluster.schedulerPid() ? processCpuSeconds(cluster.schedulerPid()) : 0;
    const json framesAfter = cluster.freshSnapshot();
    json result{{"scenario", "noop"},
                {"workers", workers},
                {"tasks", tasks},
                {"seconds", seconds},
                {"tasks_per_second", tasks / seconds}};
    if (cluster.schedulerPid()) {
        result["scheduler_cpu_seconds_per_1000_tasks"] =
            (cpuAfter - cpuBefore) / (static_cast<double>(tasks) / 1000.0);
    }
    // heartbeats in the seconds around the run are counted too: a few per worker
    for (const std::string key : {"frames_received", "frames_sent"}) {
        result[key + "_per_1000_tasks"] = (framesAfter.value(key, 0.0) - framesBefore.value(key, 0.0)) /
                                          (static_cast<double>(tasks) / 1000.0);
    }
    return result;
}

json runLatency(const Options& o, uint64_t tasks) {
    BenchCluster cluster(o, {}, o.workers);
    scaler::Client client(cluster.address());
    scaler::Client::gather(client.map("noop", std::vector<std::string>(1000)));

    // 1,000 in flight: each completion submits the next
    constexpr size_t kWindow = 1000;
    std::vector<double> windowLatency(tasks);
    std::mutex mutex;
    std::condition_variable changed;
    size_t submitted = 0, done = 0;
    const auto submitOne = [&](size_t index) {
        const auto t0 = Clock::now();
        client.submit("noop", "").then([&, index, t0](const scaler::Future&) {
            windowLatency[index] = since(t0) * 1e6;
            std::lock_guard lock(mutex);
            ++done;
            changed.notify_one();
        });
    };
    {
        std::unique_lock lock(mutex);
        while (done < tasks) {
            while (submitted < tasks && submitted - done < kWindow) {
                const size_t index = submitted++;
                lock.unlock();
                submitOne(index);
                lock.lock();
            }
            changed.wait(lock,
                         [&] { return done == tasks || (submitted < tasks && submitted - done < kWindow); });
        }
    }
    // one in flight
    const uint64_t single = std::min<uint64_t>(tasks, 5000);
    std::vector<double> singleLatency;
    for (uint64_t i = 0; i < single; ++i) {
        const auto t0 = Clock::now();
        client.submit("noop", "").get();
        singleLatency.push_back(since(t0) * 1e6);
    }
    return {{"scenario", "latency"},
            {"workers", o.workers},
            {"in_flight_1000",
             {{"tasks", tasks},
              {"p50_us", percentile(windowLatency, 0.5)},
              {"p99_us", percentile(windowLatency, 0.99)}}},
            {"in_flight_1",
             {{"tasks", single},
              {"p50_us", percentile(singleLatency, 0.5)},
              {"p99_us", percentile(singleLatency, 0.99)}}}};
}

json runSleep1ms(const Options& o, uint64_t tasks) {
    BenchCluster cluster(o, {}, o.workers);
    scaler::Client client(cluster.address());
    scaler::Client::gather(client.map("noop", std::vector<std::string>(100)));
    const auto start = Clock::now();
    const auto futures = client.map("sleep_ms", std::vector<std::string>(tasks, "1"));
    scaler::Client::gather(futures);
    const double seconds = since(start);
    const double ideal = static_cast<double>(tasks) * 0.001 / o.workers;
    // What the workers report they spent running tasks: separates scheduling overhead from how long the
    // machine's 1 ms sleep really takes.
    double busy = 0;
    for (const auto& f : futures) busy += static_cast<double>(f.duration().count()) / 1e6;
    return {{"scenario", "sleep1ms"},
            {"workers", o.workers},
            {"tasks", tasks},
            {"seconds", seconds},
            {"ideal_seconds", ideal},
            {"efficiency", ideal / seconds},
            {"mean_task_ms", busy / static_cast<double>(tasks) * 1000},
            {"worker_busy_fraction", busy / (seconds * o.workers)}};
}

json runManyClients(const Options& o, uint64_t tasks) {
    BenchCluster cluster(o, {}, o.workers);
    constexpr int kClients = 8;
    std::vector<std::unique_ptr<scaler::Client>> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<scaler::Client>(cluster.address()));
    const uint64_t each = tasks / kClients;
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            const std::vector<std::string> payloads(each);
            ++ready;
            while (!go) std::this_thread::yield();
            scaler::Client::gather(clients[i]->map("noop", payloads));
        });
    }
    while (ready < kClients) std::this_thread::yield();
    const auto start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    const double seconds = since(start);
    return {{"scenario", "many_clients"}, {"clients", kClients},
            {"workers", o.workers},       {"tasks", each * kClients},
            {"seconds", seconds},         {"tasks_per_second", each * kClients / seconds}};
}

// The wire's own round trip, for comparison with `latency`: a DEALER here, a ROUTER echoing in another
// process (this program with --wire-echo), one message in flight, small frames like a task's.
int runWireEcho(const std::string& address) {
    zmq::context_t context(1);
    zmq::socket_t router(context, zmq::socket_type::router);
    router.bind(address);
    for (;;) {
        zmq::message_t identity, payload;
        if (!router.recv(identity) || !router.recv(payload)) continue;
        router.send(identity, zmq::send_flags::sndmore);
        router.send(payload, zmq::send_flags::none);
    }
}

json runWireLatency(const Options& o, const std::string& self, uint64_t roundTrips) {
    const std::string address = o.transport == "ipc"
                                    ? "ipc://" + o.logDir + "/wire.sock"
                                    : "tcp://127.0.0.1:" + std::to_string(scaler::tools::pickFreePortPair());
    ChildProcess echo({self, "--wire-echo", address}, o.logDir + "/wire-echo.log");
    zmq::context_t context(1);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(address);
    const std::string payload(64, 'x');
    std::vector<double> rtt;
    rtt.reserve(roundTrips);
    for (uint64_t i = 0; i < roundTrips + 1000; ++i) {  // the first 1,000 warm up (and wait for the bind)
        const auto t0 = Clock::now();
        dealer.send(zmq::buffer(payload), zmq::send_flags::none);
        zmq::message_t reply;
        if (!dealer.recv(reply)) throw std::runtime_error("no echo");
        if (i >= 1000) rtt.push_back(since(t0) * 1e6);
    }
    return {{"scenario", "wire_latency"},
            {"round_trips", roundTrips},
            {"p50_us", percentile(rtt, 0.5)},
            {"p99_us", percentile(rtt, 0.99)}};
}

// Idle peers: the scheduler's CPU while `clients` clients and `workers` workers do nothing but heartbeat.
// Each swarm process holds at most this many clients: two descriptors each, under a 20,000 descriptor limit.
constexpr size_t kClientsPerSwarm = 2500;

json runIdlePeers(const Options& o, const std::string& self, size_t clients, uint32_t workers, double seconds,
                  double heartbeatSeconds) {
    BenchCluster cluster(o, {}, workers);
    std::vector<std::unique_ptr<ChildProcess>> swarms;
    for (size_t started = 0; started < clients; started += kClientsPerSwarm) {
        swarms.push_back(std::make_unique<ChildProcess>(
            std::vector<std::string>{self, "--idle-swarm", cluster.address(), "--idle-clients",
                                     std::to_string(std::min(kClientsPerSwarm, clients - started)),
                                     "--idle-heartbeat-seconds", std::to_string(heartbeatSeconds)},
            o.logDir + "/swarm.log"));
    }
    if (!waitUntil([&] { return cluster.snapshot().value("clients", uint64_t{0}) >= clients; },
                   std::chrono::seconds(120))) {
        throw std::runtime_error("the idle clients did not all register");
    }
    const double cpuBefore = processCpuSeconds(cluster.schedulerPid());
    const json framesBefore = cluster.freshSnapshot();
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the measurement itself: idle time
    const double elapsed = since(start);
    const double cpu = processCpuSeconds(cluster.schedulerPid()) - cpuBefore;
    const json snapshot = cluster.freshSnapshot();
    return {{"scenario", "idle_clients"},
            {"clients", clients},
            {"workers", workers},
            {"connected_clients", snapshot.value("clients", uint64_t{0})},
            {"connected_workers", snapshot["workers"].size()},
            {"seconds", elapsed},
            {"client_heartbeat_seconds", heartbeatSeconds},
            {"frames_received_per_second",
             (snapshot.value("frames_received", 0.0) - framesBefore.value("frames_received", 0.0)) / elapsed},
            {"scheduler_cpu_percent_of_one_core", 100.0 * cpu / elapsed}};
}

json runQueuedMemory(const Options& o, uint64_t tasks) {
    // room for all of them in the one client's share: nothing drains them here
    BenchCluster cluster(o, {"--max-queued-tasks", std::to_string(2 * tasks + 2)}, 0);
    scaler::Client client(cluster.address());
    const uint64_t before = processRssBytes(cluster.schedulerPid());
    std::vector<scaler::Future> futures;
    futures.reserve(tasks);
    constexpr uint64_t kBatch = 100000;
    for (uint64_t sent = 0; sent < tasks; sent += kBatch) {
        auto batch = client.map("noop", std::vector<std::string>(std::min(kBatch, tasks - sent)));
        futures.insert(futures.end(), batch.begin(), batch.end());
    }
    if (!waitUntil([&] { return cluster.snapshot()["tasks"]["queued"].get<uint64_t>() == tasks; },
                   std::chrono::seconds(120))) {
        throw std::runtime_error("tasks did not all reach the queue");
    }
    // the steady state: the scheduler hands memory the burst's frames used back at its first quiet tick
    cluster.freshSnapshot();
    cluster.freshSnapshot();
    const uint64_t after = processRssBytes(cluster.schedulerPid());
    client.disconnect();
    return {{"scenario", "queued_memory"},
            {"tasks", tasks},
            {"scheduler_rss_before_bytes", before},
            {"scheduler_rss_after_bytes", after},
            {"bytes_per_queued_task", static_cast<double>(after - before) / static_cast<double>(tasks)}};
}

// One client floods no-op tasks as fast as submit lets it (it waits within its share of --max-queued-tasks)
// while a second client runs one task at a time: that client's round trips (p50, p99), the most unfinished
// tasks and the scheduler's peak memory seen, every flood task accounted for. Futures are not kept: a
// completion callback counts each, so the bench's own memory is the client's share, not the flood.
json runFlood(const Options& o, uint64_t tasks, uint64_t maxQueued) {
    BenchCluster cluster(o, {"--max-queued-tasks", std::to_string(maxQueued)}, o.workers);
    scaler::Client flooder(cluster.address());
    scaler::Client bystander(cluster.address());
    scaler::Client::gather(flooder.map("noop", std::vector<std::string>(1000)));
    std::atomic<uint64_t> succeeded{0}, failed{0};
    // the client's cost per unfinished task: this process's growth over the most the flooder held
    const uint64_t clientBaseRss = processRssBytes(getpid());
    uint64_t clientPeakRss = clientBaseRss, clientPeakUnfinished = 0;
    const auto start = Clock::now();
    std::thread flood([&] {
        constexpr uint64_t kBatch = 10000;
        for (uint64_t sent = 0; sent < tasks; sent += kBatch) {
            for (const scaler::Future& f :
                 flooder.map("noop", std::vector<std::string>(std::min(kBatch, tasks - sent)))) {
                f.then([&](const scaler::Future& done) {
                    try {
                        (void)done.get();  // throws the task's failure
                        ++succeeded;
                    } catch (const std::exception&) {
                        ++failed;
                    }
                });
            }
        }
    });
    std::vector<double> bystanderUs;
    uint64_t peakUnfinished = 0, peakRss = 0;
    auto nextLook = Clock::now();
    while (succeeded + failed < tasks) {
        const auto t0 = Clock::now();
        bystander.submit("noop", "").get();
        bystanderUs.push_back(since(t0) * 1e6);
        if (Clock::now() >= nextLook) {
            const json snapshot = cluster.snapshot();
            if (snapshot.contains("tasks")) {
                peakUnfinished = std::max(peakUnfinished, snapshot["tasks"]["queued"].get<uint64_t>() +
                                                              snapshot["tasks"]["running"].get<uint64_t>());
            }
            peakRss = std::max(peakRss, processRssBytes(cluster.schedulerPid()));
            clientPeakRss = std::max(clientPeakRss, processRssBytes(getpid()));
            clientPeakUnfinished = std::max<uint64_t>(clientPeakUnfinished, flooder.pendingTasks());
            nextLook = Clock::now() + std::chrono::milliseconds(200);
        }
    }
    const double seconds = since(start);
    flood.join();
    return {{"scenario", "flood"},
            {"tasks", tasks},
            {"workers", o.workers},
            {"max_queued_tasks", maxQueued},
            {"succeeded", succeeded.load()},
            {"failed", failed.load()},
            {"seconds", seconds},
            {"tasks_per_second", static_cast<double>(tasks) / seconds},
            {"peak_unfinished_tasks_seen", peakUnfinished},
            {"scheduler_peak_rss_bytes", peakRss},
            {"bystander_round_trips", bystanderUs.size()},
            {"bystander_p50_us", percentile(bystanderUs, 0.5)},
            {"bystander_p99_us", percentile(bystanderUs, 0.99)},
            {"client_peak_unfinished_tasks", clientPeakUnfinished},
            {"client_rss_growth_bytes", clientPeakRss - clientBaseRss},
            {"client_bytes_per_unfinished_task", clientPeakUnfinished == 0
                                                     ? 0.0
                                                     : static_cast<double>(clientPeakRss - clientBaseRss) /
                                                           static_cast<double>(clientPeakUnfinished)}};
}

json runScaleUp(const Options& o) {
    BenchCluster cluster(
        o, {"--policy-content", "allocate=capability; scaling=capability; min_group_age_seconds=600"}, 0);
    cluster.addProcess("scaler_worker_adapter_native",
                       {"--adapter-id", "bench", "--max-worker-groups", std::to_string(o.workers),
                        "--heartbeat-interval-seconds", "0.5"},
                       "adapter.log");
    if (!waitUntil([&] { return cluster.snapshot()["adapters"].size() == 1; }))
        throw std::runtime_error("no adapter");
    scaler::Client client(cluster.address());
    const auto start = Clock::now();
    client.submit("noop", "").get();
    const double firstResult = since(start);
    const auto load = client.map("sleep_ms", std::vector<std::string>(2000, "10"));
    const bool all = waitUntil(
        [&] {
            size_t running = 0;
            const json snapshot = cluster.snapshot();  // the loop must not iterate a destroyed temporary
            for (const auto& g : snapshot["worker_groups"]) running += g["state"] == "running";
            return running >= o.workers;
        },
        std::chrono::seconds(120));
    const double allRunning = since(start);
    if (!all)
        std::cerr << "scale_up_latency: groups never all ran; last snapshot: " << cluster.snapshot().dump()
                  << "\n";
    scaler::Client::gather(load);
    return {{"scenario", "scale_up_latency"},
            {"groups", o.workers},
            {"first_result_ms", firstResult * 1000},
            {"all_groups_running_seconds", all ? json(allRunning) : json(nullptr)}};
}

// A 100,000-node graph: leaves, then pairwise sums to one root; nodes per second from submit to the root.
json runGraph(const Options& o, uint64_t nodes) {
    BenchCluster cluster(o, {}, o.workers);
    scaler::Client client(cluster.address());
    scaler::Client::gather(client.map("noop", std::vector<std::string>(1000)));
    scaler::TaskGraph graph;
    std::vector<std::string> level;
    const uint64_t leaves = std::max<uint64_t>(2, (nodes + 1) / 2);
    for (uint64_t i = 0; i < leaves; ++i) {
        level.push_back("l" + std::to_string(i));
        graph.add(level.back(), "echo", {std::string("1")});
    }
    uint64_t next = 0;
    while (level.size() > 1) {
        std::vector<std::string> up;
        for (size_t i = 0; i + 1 < level.size(); i += 2) {
            up.push_back("s" + std::to_string(next++));
            graph.add(up.back(), "sum", {scaler::GraphKey{level[i]}, scaler::GraphKey{level[i + 1]}});
        }
        if (level.size() % 2 == 1) up.push_back(level.back());
        level = std::move(up);
    }
    const auto start = Clock::now();
    auto futures = client.submitGraph(graph, {level.front()});
    const std::string root = futures.at(level.front()).get();
    const double seconds = since(start);
    if (root != std::to_string(leaves)) throw std::runtime_error("graph gave " + root);
    return {{"scenario", "graph"},
            {"workers", o.workers},
            {"nodes", graph.size()},
            {"seconds", seconds},
            {"nodes_per_second", static_cast<double>(graph.size()) / seconds}};
}

// One object to many workers: seconds to store it and until every worker has used it, bytes moved.
json runObjectFanout(const Options& o, uint64_t mib) {
    constexpr uint32_t kWorkers = 8;
    BenchCluster cluster(o, {"--policy-content", "allocate=capability; scaling=no"}, kWorkers,
                         {"--per-worker-task-queue-size", "1"});
    // another client's one-at-a-time tasks meanwhile, on a worker of their own: what the transfer costs
    // everyone else at the scheduler
    cluster.addProcess("scaler_worker", {"--per-worker-capabilities", "probe"}, "worker.log");
    if (!waitUntil([&] { return cluster.snapshot()["workers"].size() > kWorkers; },
                   std::chrono::seconds(60))) {
        throw std::runtime_error("the probe worker did not connect");
    }
    scaler::Client client(cluster.address());
    scaler::Client bystander(cluster.address());
    scaler::SubmitOptions onProbe;
    onProbe.capabilities = "probe";
    std::atomic<bool> transferring{true};
    std::vector<double> bystanderUs;
    std::thread probe([&] {
        while (transferring) {
            const auto t0 = Clock::now();
            bystander.submit("noop", "", onProbe).get();
            bystanderUs.push_back(since(t0) * 1e6);
        }
    });
    const auto start = Clock::now();
    const scaler::ObjectRef ref = client.sendObject(std::string(mib << 20, 'o'), "fanout");
    const double stored = since(start);
    std::vector<scaler::Future> futures;
    for (uint32_t i = 0; i < kWorkers; ++i)
        futures.push_back(client.submit("length", scaler::Arguments{ref}));
    scaler::Client::gather(futures);
    const double done = since(start);
    transferring = false;
    probe.join();
    uint64_t moved = 0;
    uint64_t fetchingWorkers = 0;
    waitUntil(
        [&] {
            const json snapshot = cluster.snapshot();
            if (!snapshot.contains("workers")) return false;  // none published since the last look
            moved = fetchingWorkers = 0;
            for (const auto& w : snapshot["workers"]) {
                moved += w["object_bytes_fetched"].get<uint64_t>();
                fetchingWorkers += w["objects_fetched"].get<uint64_t>() > 0;
            }
            return fetchingWorkers == kWorkers;
        },
        std::chrono::seconds(10));
    return {{"scenario", "object_fanout"},
            {"object_mib", mib},
            {"workers", kWorkers},
            {"workers_that_fetched", fetchingWorkers},
            {"store_seconds", stored},
            {"all_tasks_done_seconds", done},
            {"bytes_moved_to_workers", moved},
            {"other_client_during_transfer",
             {{"tasks", bystanderUs.size()},
              {"p50_us", percentile(bystanderUs, 0.5)},
              {"p99_us", percentile(bystanderUs, 0.99)},
              {"max_us", percentile(bystanderUs, 1.0)}}}};
}

// Tasks that submit tasks: fib(n) by nested tasks on workers with queue size 1.
json runNested(const Options& o, uint64_t n) {
    BenchCluster cluster(o, {}, o.workers, {"--per-worker-task-queue-size", "1"});
    scaler::Client client(cluster.address());
    uint64_t calls = 1;
    {
        uint64_t a = 1, b = 1;  // calls(0) = calls(1) = 1; calls(n) = 1 + calls(n-1) + calls(n-2)
        for (uint64_t i = 2; i <= n; ++i) {
            calls = 1 + a + b;
            b = a;
            a = calls;
        }
    }
    const auto start = Clock::now();
    const std::string result = client.submit("fib_nested", std::to_string(n)).get();
    const double seconds = since(start);
    return {{"scenario", "nested"},
            {"workers", o.workers},
            {"fib", n},
            {"result", result},
            {"tasks", calls},
            {"seconds", seconds},
            {"tasks_per_second", static_cast<double>(calls) / seconds}};
}

// A Python client (python/bench/python_noop.py, Debian's /usr/bin/python3) submitting no-op Python tasks.
json runPythonNoop(const Options& o, uint64_t tasks) {
    BenchCluster cluster(o, {}, o.workers);
    const std::string build = o.binDir + "/..";
    const std::string command = "PYTHONPATH=" + build + "/python /usr/bin/python3 " + SCALER_SOURCE_DIR +
                                "/python/bench/python_noop.py " + cluster.address() + " " +
                                std::to_string(tasks) + " " + std::to_string(o.workers);
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
    std::string output;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    if (pclose(pipe) != 0 || output.empty()) throw std::runtime_error("python_noop.py failed: " + output);
    json result = json::parse(output.substr(output.rfind('{')));
    result["scenario"] = "python_noop";
    result["workers"] = o.workers;
    return result;
}

struct MeasuredRun {
    int exitCode = -1;
    uint64_t peakRssBytes = 0;
    std::string output;
};

// Runs argv to its end with its standard output in `outputFile`; its exit code and peak resident memory.
MeasuredRun runMeasured(const std::vector<std::string>& argv, const std::string& outputFile) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (!freopen(outputFile.c_str(), "w", stdout)) _exit(126);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    struct rusage usage {};
    wait4(pid, &status, 0, &usage);
    MeasuredRun run;
    run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.peakRssBytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    std::ifstream in(outputFile);
    run.output.assign(std::istreambuf_iterator<char>(in), {});
    return run;
}

// Large payloads (issue 29): scaler_submit echoes a file of `mib` MiB; a Python client gets a result of that
// size, then echoes bytes of that size. Each client's peak resident memory is what the figures are about.
json runLargePayload(const Options& o, uint64_t mib) {
    BenchCluster cluster(o, {}, 1);
    const std::string file = o.logDir + "/payload.bin";
    {
        std::ofstream out(file, std::ios::binary);
        std::string block(1u << 20, '\0');
        for (uint64_t i = 0; i < mib; ++i) {
            for (size_t j = 0; j < block.size(); j += 4096) block[j] = static_cast<char>(i + j);
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
        }
    }
    const auto start = std::chrono::steady_clock::now();
    const MeasuredRun submit = runMeasured({o.binDir + "/scaler_submit", cluster.address(), "--function",
                                            "echo", "--payload-file", file, "--json"},
                                           o.logDir + "/submit.out");
    const double submitSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::filesystem::remove(file);
    if (submit.exitCode != 0 || submit.output.find("\"succeeded\":1") == std::string::npos)
        throw std::runtime_error("scaler_submit echo failed: " + submit.output);
    const MeasuredRun python =
        runMeasured({"/usr/bin/env", "PYTHONPATH=" + o.binDir + "/../python", "/usr/bin/python3",
                     std::string(SCALER_SOURCE_DIR) + "/python/bench/large_result.py", cluster.address(),
                     std::to_string(mib << 20)},
                    o.logDir + "/python.out");
    if (python.exitCode != 0 || python.output.find('{') == std::string::npos)
        throw std::runtime_error("large_result.py failed: " + python.output);
    json result = json::parse(python.output.substr(python.output.rfind('{')));
    result["scenario"] = "large_payload";
    result["mib"] = mib;
    result["submit_echo_seconds"] = submitSeconds;
    result["submit_echo_client_peak_bytes"] = submit.peakRssBytes;
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::vector<std::string> scenarios;
    std::string counts = "2,32,256";
    CLI::App app{"scaler_bench: benchmark scenarios on loopback, one JSON line each", "scaler_bench"};
    // run when no --scenario is given; the others only when asked for
    const std::vector<std::string> defaultScenarios{
        "noop",           "latency", "sleep1ms",      "many_clients", "queued_memory", "scale_up_latency",
        "worker_scaling", "graph",   "object_fanout", "nested"};
    const std::vector<std::string> optInScenarios{"python_noop", "wire_latency", "idle_clients",
                                                  "large_payload", "flood"};
    std::vector<std::string> allScenarios = defaultScenarios;
    allScenarios.insert(allScenarios.end(), optInScenarios.begin(), optInScenarios.end());
    const auto joined = [](const std::vector<std::string>& names) {
        std::string text;
        for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
        return text;
    };
    app.add_option("--scenario", scenarios, "Repeatable; default: all but " + joined(optInScenarios))
        ->check(CLI::IsMember(allScenarios));
    app.add_option("--workers", o.workers, "Workers (or adapter groups for scale_up_latency)")
        ->check(CLI::Range(1u, 4096u))
        ->capture_default_str();
    app.add_option(
           "--transport", o.transport,
           "tcp: the cluster talks over loopback TCP; ipc: over Unix sockets (ipc://), as peers on the "
           "scheduler's host may")
        ->check(CLI::IsMember({"tcp", "ipc"}));
    bool keepLogs = false;
    app.add_flag("--keep-logs", keepLogs,
                 "Keep the processes' logs (the scheduler's last line counts frames received and sent)");
    app.add_option("--tasks", o.tasks, "Tasks per scenario (default: the scenario's own)");
    uint64_t objectMib = 1024;
    uint64_t maxQueuedTasks = 1000000;
    uint64_t fibN = 18;
    size_t idleClients = 10000;
    uint32_t idleWorkers = 1000;
    double idleSeconds = 20;
    app.add_option("--idle-clients", idleClients, "idle_clients: connected clients that only heartbeat");
    app.add_option("--idle-workers", idleWorkers, "idle_clients: connected workers with nothing to do");
    app.add_option("--idle-seconds", idleSeconds, "idle_clients: how long the scheduler's CPU is measured");
    double idleHeartbeatSeconds = scaler::ClientOptions{}.idleHeartbeatIntervalSeconds;
    app.add_option("--idle-heartbeat-seconds", idleHeartbeatSeconds,
                   "idle_clients: each idle client's heartbeat interval (default: an idle scaler::Client's)")
        ->check(CLI::PositiveNumber);
    app.add_option("--max-queued-tasks", maxQueuedTasks,
                   "flood: the scheduler's --max-queued-tasks (the flooding client's share is half of it)")
        ->capture_default_str();
    app.add_option("--object-mib", objectMib,
                   "object_fanout: the object's size in MiB; large_payload: the payload's")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
        ->capture_default_str();
    app.add_option("--fib", fibN, "nested: fib(N) by nested tasks")
        ->check(CLI::Range(uint64_t{1}, uint64_t{30}))
        ->capture_default_str();
    app.add_option("--worker-counts", counts, "worker_scaling: worker counts to compare")
        ->capture_default_str();
    app.add_option("--attach", o.attach,
                   "Use a running scheduler (with its own workers) instead of starting one");
    app.add_option("--bin-dir", o.binDir,
                   "Where scaler_scheduler and friends are (default: beside this program)");
    std::string wireEcho, idleSwarm;
    app.add_option("--idle-swarm", idleSwarm, "(internal) hold --idle-clients idle clients of ADDRESS")
        ->group("");
    app.add_option("--wire-echo", wireEcho, "(internal) echo ZeroMQ messages on ADDRESS for wire_latency")
        ->group("");
    scaler::parseOrExit(app, argc, argv);
    if (!wireEcho.empty()) return runWireEcho(wireEcho);
    if (!idleSwarm.empty()) {
        const auto interval = std::chrono::milliseconds(static_cast<int64_t>(idleHeartbeatSeconds * 1000));
        scaler::bench::IdleClientSwarm swarm(idleSwarm, idleClients, interval);
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(60));  // until the benchmark kills it
    }
    if (o.binDir.empty()) o.binDir = scaler::tools::ownDirectory();
    o.workerCounts.clear();
    for (std::stringstream in(counts); in.good();) {
        std::string item;
        std::getline(in, item, ',');
        o.workerCounts.push_back(static_cast<uint32_t>(std::stoul(item)));
    }
    if (scenarios.empty()) scenarios = defaultScenarios;
    o.logDir = std::filesystem::temp_directory_path() / ("scaler-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(o.logDir);
    const auto tasksOr = [&](uint64_t fallback) { return o.tasks ? o.tasks : fallback; };
    int failures = 0;
    const auto emitLine = [&](json line) {
        line["transport"] = o.transport;
        emit(line);
    };
    for (const auto& scenario : scenarios) {
        try {
            const bool needsOwnCluster = scenario == "queued_memory" || scenario == "scale_up_latency" ||
                                         scenario == "worker_scaling" || scenario == "object_fanout" ||
                                         scenario == "nested" || scenario == "idle_clients" ||
                                         scenario == "large_payload" || scenario == "flood";
            if (needsOwnCluster && !o.attach.empty()) {
                emitLine({{"scenario", scenario},
                          {"skipped", "needs its own scheduler; not available with --attach"}});
            } else if (scenario == "noop") {
                emitLine(runNoop(o, o.workers, tasksOr(200000)));
            } else if (scenario == "latency") {
                emitLine(runLatency(o, tasksOr(100000)));
            } else if (scenario == "sleep1ms") {
                emitLine(runSleep1ms(o, tasksOr(5000)));
            } else if (scenario == "many_clients") {
                emitLine(runManyClients(o, tasksOr(200000)));
            } else if (scenario == "flood") {
                emitLine(runFlood(o, tasksOr(10000000), maxQueuedTasks));
            } else if (scenario == "queued_memory") {
                emitLine(runQueuedMemory(o, tasksOr(1000000)));
            } else if (scenario == "scale_up_latency") {
                emitLine(runScaleUp(o));
            } else if (scenario == "graph") {
                emitLine(runGraph(o, tasksOr(100000)));
            } else if (scenario == "object_fanout") {
                emitLine(runObjectFanout(o, objectMib));
            } else if (scenario == "large_payload") {
                emitLine(runLargePayload(o, objectMib));
            } else if (scenario == "python_noop") {
                emitLine(runPythonNoop(o, tasksOr(100000)));
            } else if (scenario == "nested") {
                emitLine(runNested(o, fibN));
            } else if (scenario == "wire_latency") {
                emitLine(runWireLatency(o, std::filesystem::canonical("/proc/self/exe"), tasksOr(20000)));
            } else if (scenario == "idle_clients") {
                emitLine(runIdlePeers(o, std::filesystem::canonical("/proc/self/exe"), idleClients,
                                      idleWorkers, idleSeconds, idleHeartbeatSeconds));
            } else if (scenario == "worker_scaling") {
                for (uint32_t w : o.workerCounts) {
                    json line = runNoop(o, w, tasksOr(100000));
                    line["scenario"] = "worker_scaling";
                    emitLine(line);
                }
            }
        } catch (const std::exception& e) {
            ++failures;
            emitLine({{"scenario", scenario}, {"error", e.what()}});
        }
    }
    if (keepLogs) {
        std::cerr << "logs kept in " << o.logDir << "\n";
    } else {
        std::filesystem::remove_all(o.logDir);
    }
    return failures == 0 ? 0 : 1;
}
