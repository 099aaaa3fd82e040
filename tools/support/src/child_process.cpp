#include "scaler/tools/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace scaler::tools {

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

bool ChildProcess::running() {
    return waitExit(0ms) == -1;
}

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

std::string ownDirectory() {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

uint16_t pickFreePortPair() {
    // Below the kernel's ephemeral range (32768 and up), so no outgoing connection of another test takes a
    // port between this check and the scheduler's bind; and every process picking here holds a lock on its
    // ports until it exits, so two tests running at once (ctest -j2) never pick the same ones.
    static const std::string lockDir = "/tmp/scaler-test-ports";
    ::mkdir(lockDir.c_str(), 01777);
    std::mt19937 random(static_cast<unsigned>(getpid() * 7919u + std::random_device{}()));
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const auto port = static_cast<uint16_t>(10000 + random() % 22000);
        const std::string lockPath = lockDir + "/" + std::to_string(port / 4);  // one lock per block of 4
        const int lock = ::open(lockPath.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
        if (lock < 0) continue;
        if (::flock(lock, LOCK_EX | LOCK_NB) != 0 || (port % 4) > 1) {  // P..P+2 within one block
            ::close(lock);
            continue;
        }
        if (portFree(port) && portFree(port + 1) && portFree(port + 2)) return port;  // the lock stays held
        ::close(lock);
    }
    throw std::runtime_error("no free port pair found");
}

}  // namespace scaler::tools
