#include "test_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
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

#include "scaler/protocol/message_codec.h"
#include "snapshot_json.h"

namespace scaler::testing {

ChildProcess::ChildProcess(std::vector<std::string> args, const std::string& logPath) : logPath_(logPath) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed test leaves nothing running
        const int fd = open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
}

ChildProcess::~ChildProcess() {
    if (!reaped_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

void ChildProcess::signal(int sig) const {
    if (!reaped_) kill(pid_, sig);
}

int ChildProcess::waitExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reaped_) {
        if (waitpid(pid_, &status_, WNOHANG) == pid_) {
            reaped_ = true;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(10ms);
    }
    return status_;
}

bool ChildProcess::running() { return waitExit(0ms) == -1; }

std::string ChildProcess::log() const {
    std::ifstream in(logPath_);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

namespace {
bool portFree(uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}
}  // namespace

uint16_t pickFreePortPair() {
    std::mt19937 random(static_cast<unsigned>(getpid() * 7919u + std::random_device{}()));
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto port = static_cast<uint16_t>(20000 + random() % 30000);
        if (portFree(port) && portFree(port + 1) && portFree(port + 2)) return port;
    }
    throw std::runtime_error("no free port pair found");
}

std::string binary(const std::string& name) { return std::string(SCALER_BIN_DIR) + "/" + name; }
std::string pluginPath() { return SCALER_PLUGIN_PATH; }

std::string tempDir() {
    static std::atomic<int> counter{0};
    const std::string dir = ::testing::TempDir() + "/scaler-test-" + std::to_string(getpid()) + "-" +
                            std::to_string(counter++);
    mkdir(dir.c_str(), 0755);
    return dir;
}

struct TestCluster::Monitor {
    zmq::context_t context{1};
    zmq::socket_t sub{context, zmq::socket_type::sub};
    FrameReader reader;
};

TestCluster::TestCluster(std::vector<std::string> schedulerArgs) {
    const uint16_t port = pickFreePortPair();
    address_ = "tcp://127.0.0.1:" + std::to_string(port);
    monitorAddress_ = "tcp://127.0.0.1:" + std::to_string(port + 2);
    std::vector<std::string> args{binary("scaler_scheduler"), address_};
    args.insert(args.end(), schedulerArgs.begin(), schedulerArgs.end());
    scheduler_ = std::make_unique<ChildProcess>(args, tempDir() + "/scheduler.log");
    monitor_ = std::make_unique<Monitor>();
    monitor_->sub.set(zmq::sockopt::subscribe, "");
    monitor_->sub.set(zmq::sockopt::linger, 0);
    monitor_->sub.connect(monitorAddress_);
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
    std::vector<std::string> full{binary("scaler_worker_adapter_native"), address_, "--adapter-id", adapterId,
                                  "--heartbeat-interval-seconds", "0.5", "--shutdown-grace-seconds", "1"};
    full.insert(full.end(), args.begin(), args.end());
    workers_.push_back(std::make_unique<ChildProcess>(full, tempDir() + "/adapter-" + adapterId + ".log"));
    return *workers_.back();
}

nlohmann::json TestCluster::snapshot(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string error;
    // drain to the newest snapshot
    nlohmann::json latest;
    zmq::pollitem_t items[] = {{monitor_->sub.handle(), 0, ZMQ_POLLIN, 0}};
    while (std::chrono::steady_clock::now() < deadline) {
        zmq::message_t frame;
        if (monitor_->sub.recv(frame, zmq::recv_flags::dontwait)) {
            if (monitor_->reader.load(frame, error) &&
                monitor_->reader.root().which() == wire::Message::MONITOR_SNAPSHOT) {
                latest = snapshotToJson(monitor_->reader.root().getMonitorSnapshot());
            }
            continue;
        }
        if (!latest.is_null()) return latest;
        zmq::poll(items, 1, 50ms);
    }
    throw std::runtime_error("no monitor snapshot from " + monitorAddress_);
}

bool TestCluster::waitForWorkers(size_t count, std::chrono::milliseconds timeout) {
    return waitUntil([&] { return snapshot()["workers"].size() == count; }, timeout);
}

}  // namespace scaler::testing
