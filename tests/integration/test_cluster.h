#pragma once
// Real processes on loopback for integration tests: a scheduler on free ports, workers, and a monitor
// subscriber. Everything a test starts is killed when the test ends.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor_subscriber.h"
#include "scaler/protocol/curve_keys.h"
#include "scaler/tools/child_process.h"

namespace scaler::testing {

using namespace std::chrono_literals;

using tools::ChildProcess;
using tools::pickFreePortPair;
using tools::waitUntil;

std::string binary(const std::string& name);
std::string pluginPath();
std::string tempDir();

// Whether the snapshot's scaling events hold one of `adapter` with `action` whose reason contains
// `reasonPart`.
bool hasScalingEvent(const nlohmann::json& snapshot, const std::string& adapter, const std::string& action,
                     const std::string& reasonPart = "");

class TestCluster {
public:
    enum class Transport { tcp, ipc };
    explicit TestCluster(std::vector<std::string> schedulerArgs = {}, Transport transport = Transport::tcp);
    ~TestCluster();

    const std::string& address() const { return address_; }
    const std::string& monitorAddress() const { return monitorAddress_; }
    ChildProcess& scheduler() { return *scheduler_; }
    // SIGKILL the scheduler and start a new one with the same flags on the same ports.
    void killAndRestartScheduler();

    ChildProcess& addWorker(std::vector<std::string> args = {});
    // A native worker adapter with a fast heartbeat and short worker grace periods.
    ChildProcess& addNativeAdapter(const std::string& adapterId, std::vector<std::string> args = {});
    // Reconnects the monitor subscriber with CURVE keys (for a scheduler that requires them).
    void useMonitorKeys(const CurveClientKeys& keys);
    // The latest monitor snapshot as JSON (waits up to `timeout` for one).
    nlohmann::json snapshot(std::chrono::milliseconds timeout = 5s);
    // Waits until the scheduler reports `count` connected workers.
    bool waitForWorkers(size_t count, std::chrono::milliseconds timeout = 20s);

private:
    std::string address_;
    std::string monitorAddress_;
    std::vector<std::string> schedulerArgs_;
    std::unique_ptr<ChildProcess> scheduler_;
    std::vector<std::unique_ptr<ChildProcess>> workers_;
    std::unique_ptr<MonitorSubscriber> monitor_;
};

}  // namespace scaler::testing
