#include "scaler/adapters/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace scaler::adapters {

pid_t spawnWorkerProcess(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(1);  // the parent died before the line above took effect
        setpgid(0, 0);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

Status checkWorkerCommand(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return {};  // cannot check: let the start show it
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(out[1], STDERR_FILENO);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        return {};
    }
    std::string output;
    char buffer[4096];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        pollfd fd{out[0], POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || poll(&fd, 1, static_cast<int>(left.count())) <= 0) break;
        const ssize_t n = read(out[0], buffer, sizeof buffer);
        if (n <= 0) break;
        output.append(buffer, static_cast<size_t>(n));
    }
    close(out[0]);
    // The pipe closes as the child exits, a moment before its status can be collected: wait for that too,
    // within the deadline (taking the moment for a timeout refused every start of a healthy worker).
    int status = 0;
    pid_t reaped = 0;
    while ((reaped = waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (reaped == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return refuse("the worker did not finish its start-up check within " +
                      std::to_string(timeout.count()) + " ms");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    const auto lastLine = output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
    if (!lastLine.empty()) return refuse(lastLine);
    return refuse(WIFSIGNALED(status) ? "the worker was killed by signal " + std::to_string(WTERMSIG(status))
                                      : "the worker exited with code " + std::to_string(WEXITSTATUS(status)));
}

std::string siblingBinary(const std::string& name) {
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    return (error ? std::filesystem::path(".") : self.parent_path()) / name;
}

}  // namespace scaler::adapters
