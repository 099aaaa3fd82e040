#include "scaler/worker/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace scaler::worker {
namespace {

class Pipe {
public:
    Pipe() {
        if (pipe2(fds_, O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    ~Pipe() {
        closeRead();
        closeWrite();
    }
    int read() const { return fds_[0]; }
    int write() const { return fds_[1]; }
    void closeRead() { closeFd(fds_[0]); }
    void closeWrite() { closeFd(fds_[1]); }

private:
    static void closeFd(int& fd) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
    int fds_[2] = {-1, -1};
};

void setNonBlocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// SIGTERM to the program's process group once the task is asked to stop, SIGKILL after the grace.
class GroupStopper {
public:
    GroupStopper(pid_t pid, const TaskContext& context, std::chrono::milliseconds grace)
        : pid_(pid), context_(context), grace_(grace) {}
    void check() {
        if (!killed_ && context_.stopRequested()) {
            kill(-pid_, SIGTERM);
            killed_ = true;
            killAt_ = std::chrono::steady_clock::now() + grace_;
        }
        if (killed_ && std::chrono::steady_clock::now() >= killAt_) kill(-pid_, SIGKILL);
    }
    bool killed() const { return killed_; }

private:
    pid_t pid_;
    const TaskContext& context_;
    std::chrono::milliseconds grace_;
    bool killed_ = false;
    std::chrono::steady_clock::time_point killAt_{};
};

// In the forked child: only async-signal-safe calls until exec; an exec failure's errno goes to `execError`.
[[noreturn]] void execChild(const ExecRequest& request, char** argv, pid_t parent, Pipe& in, Pipe& out,
                            Pipe& err, Pipe& execError) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the worker
    if (getppid() != parent) _exit(127);
    dup2(in.read(), STDIN_FILENO);
    dup2(out.write(), STDOUT_FILENO);
    dup2(err.write(), STDERR_FILENO);
    if (!request.workingDirectory.empty() && chdir(request.workingDirectory.c_str()) != 0) {
        const int code = errno;
        (void)!::write(execError.write(), &code, sizeof code);
        _exit(127);
    }
    execvp(argv[0], argv);
    const int code = errno;
    (void)!::write(execError.write(), &code, sizeof code);
    _exit(127);
}

// Feeds stdin and collects stdout and stderr (each up to the limit) until the program closes its output.
void pumpPipes(const ExecRequest& request, const CommandLimits& limits, Pipe& in, Pipe& out, Pipe& err,
               GroupStopper& stopper, ExecResult& result) {
    setNonBlocking(in.write());
    setNonBlocking(out.read());
    setNonBlocking(err.read());
    size_t stdinOffset = 0;
    if (request.stdinData.empty()) in.closeWrite();
    bool outOpen = true, errOpen = true;
    char buffer[65536];
    const auto drain = [&](int fd, std::string& sink, bool& open) {
        for (;;) {
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n > 0) {
                const size_t room = limits.maxOutputBytes - std::min(limits.maxOutputBytes, sink.size());
                if (static_cast<size_t>(n) > room) result.outputTruncated = true;
                sink.append(buffer, std::min(room, static_cast<size_t>(n)));
                continue;
            }
            if (n == 0) open = false;
            return;  // EAGAIN or closed
        }
    };
    while (outOpen || errOpen || in.write() >= 0) {
        stopper.check();
        pollfd fds[3];
        int count = 0;
        if (outOpen) fds[count++] = {out.read(), POLLIN, 0};
        if (errOpen) fds[count++] = {err.read(), POLLIN, 0};
        if (in.write() >= 0) fds[count++] = {in.write(), POLLOUT, 0};
        if (poll(fds, count, 50) < 0 && errno != EINTR) break;
        if (outOpen) drain(out.read(), result.stdoutData, outOpen);
        if (errOpen) drain(err.read(), result.stderrData, errOpen);
        if (in.write() >= 0) {
            const ssize_t n = ::write(in.write(), request.stdinData.data() + stdinOffset,
                                      request.stdinData.size() - stdinOffset);
            if (n > 0) stdinOffset += static_cast<size_t>(n);
            if ((n < 0 && errno != EAGAIN) || stdinOffset == request.stdinData.size()) in.closeWrite();
        }
    }
}

}  // namespace

ExecResult runCommand(const ExecRequest& request, const TaskContext& context, const CommandLimits& limits) {
    if (request.argv.empty()) throw std::invalid_argument("exec needs a program to run");
    Pipe in, out, err, execError;
    std::vector<char*> argv;
    for (const auto& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) execChild(request, argv.data(), parent, in, out, err, execError);
    setpgid(pid, pid);  // also from the parent, so a kill right away reaches the group
    in.closeRead();
    out.closeWrite();
    err.closeWrite();
    execError.closeWrite();

    ExecResult result;
    int spawnErrno = 0;
    if (::read(execError.read(), &spawnErrno, sizeof spawnErrno) == sizeof spawnErrno) {
        waitpid(pid, nullptr, 0);
        result.exitCode = 127;
        result.stderrData = "cannot run '" + request.argv[0] + "': " + std::strerror(spawnErrno) + "\n";
        return result;
    }

    GroupStopper stopper(pid, context, limits.killGrace);
    pumpPipes(request, limits, in, out, err, stopper, result);
    // Output closed: the program (or whatever kept its pipes) is done; reap it, escalating if needed.
    int status = 0;
    for (;;) {
        const pid_t reaped = waitpid(pid, &status, WNOHANG);
        if (reaped == pid || (reaped < 0 && errno != EINTR)) break;
        stopper.check();
        usleep(2000);
    }
    if (stopper.killed()) {
        kill(-pid, SIGKILL);  // leave no stray members of the group behind
        context.throwIfStopRequested();
    }
    if (WIFEXITED(status)) {
        result.exitCode = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.exitCode = -1;
        result.signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace scaler::worker
