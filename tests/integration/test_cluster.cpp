#include "test_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "scaler/protocol/address.h"
#include "scaler/protocol/message_codec.h"
#include "snapshot_json.h"

namespace scaler::testing {

std::string binary(const std::string& name) {
    return std::string(SCALER_BIN_DIR) + "/" + name;
}
std::string pluginPath() {
    return SCALER_PLUGIN_PATH;
}

std::string tempDir() {
    // a new directory every time: a pid reused from an earlier run must not find that run's logs (child
    // processes append to theirs, and a test that reads a log would see the old lines)
    std::string pattern = ::testing::TempDir() + "/scaler-test-" + std::to_string(getpid()) + "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot make a directory under /tmp");
    return pattern;
}

bool hasScalingEvent(const nlohmann::json& snapshot, const std::string& adapter, const std::string& action,
                     const std::string& reasonPart) {
    for (const auto& e : snapshot["scaling_events"]) {
        if (e["adapter_id"] == adapter && e["action"] == action &&
            e["reason"].get<std::string>().find(reasonPart) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TestCluster::TestCluster(std::vector<std::string> schedulerArgs, Transport transport) {
    address_ = transport == Transport::ipc ? "ipc://" + tempDir() + "/scheduler.sock"
                                           : "tcp://127.0.0.1:" + std::to_string(pickFreePortPair());
    monitorAddress_ = defaultMonitorAddress(parseAddress(address_)).toString();
    schedulerArgs_ = {binary("scaler_scheduler"), address_};
    schedulerArgs_.insert(schedulerArgs_.end(), schedulerArgs.begin(), schedulerArgs.end());
    scheduler_ = std::make_unique<ChildProcess>(schedulerArgs_, tempDir() + "/scheduler.log");
    monitor_ = std::make_unique<MonitorSubscriber>(monitorAddress_);
}

void TestCluster::useMonitorKeys(const CurveClientKeys& keys) {
    monitor_->reconnect(keys);
}

void TestCluster::killAndRestartScheduler() {
    scheduler_->signal(SIGKILL);
    scheduler_->waitExit(10s);
    scheduler_ = std::make_unique<ChildProcess>(schedulerArgs_, tempDir() + "/scheduler-restarted.log");
}

TestCluster::~TestCluster() {
    workers_.clear();
    scheduler_.reset();
}

ChildProcess& TestCluster::addWorker(std::vector<std::string> args) {
    std::vector<std::string> full{binary("scaler_worker"), address_};
    if (std::find(args.begin(), args.end(), "--heartbeat-interval-seconds") == args.end()) {
        full.insert(full.end(), {"--heartbeat-interval-seconds", "0.5"});
    }
    full.insert(full.end(), args.begin(), args.end());
    workers_.push_back(std::make_unique<ChildProcess>(full, tempDir() + "/worker.log"));
    return *workers_.back();
}

ChildProcess& TestCluster::addNativeAdapter(const std::string& adapterId, std::vector<std::string> args) {
    std::vector<std::string> full{binary("scaler_worker_adapter_native"),
                                  address_,
                                  "--adapter-id",
                                  adapterId,
                                  "--heartbeat-interval-seconds",
                                  "0.5",
                                  "--shutdown-grace-seconds",
                                  "1"};
    full.insert(full.end(), args.begin(), args.end());
    workers_.push_back(std::make_unique<ChildProcess>(full, tempDir() + "/adapter-" + adapterId + ".log"));
    return *workers_.back();
}

nlohmann::json TestCluster::snapshot(std::chrono::milliseconds timeout) {
    return monitor_->latest(timeout);
}

bool TestCluster::waitForWorkers(size_t count, std::chrono::milliseconds timeout) {
    return waitUntil([&] { return snapshot()["workers"].size() == count; }, timeout);
}

}  // namespace scaler::testing
