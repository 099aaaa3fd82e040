#include "scaler/worker/python_processor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "scaler/client/wait_listener.h"
#include "scaler/common/log.h"

extern char** environ;

namespace scaler::worker {
namespace {

using Clock = std::chrono::steady_clock;

template <typename T>
void appendRaw(std::string& out, T value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void appendTaskHeader(std::string& out, uint64_t handle, bool profiling, size_t argumentCount) {
    out.push_back(profiling ? 'P' : 'T');
    appendRaw(out, handle);
    appendRaw(out, static_cast<uint32_t>(argumentCount));
}

}  // namespace

std::string describeExitStatus(int status) {
    if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int signal = WTERMSIG(status);
        const char* name = sigabbrev_np(signal);
        return "killed by signal " + std::to_string(signal) + (name ? std::string(" (SIG") + name + ")" : "");
    }
    return "status " + std::to_string(status);
}

PythonProcessor::PythonProcessor(PythonProcessorCommand command) : command_(std::move(command)) {}

PythonProcessor::~PythonProcessor() {
    stop();
}

void PythonProcessor::stop() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    releaseStopWord();
    held_.clear();
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
}

void PythonProcessor::releaseStopWord() {
    if (stopWord_ != nullptr) munmap(stopWord_, kStopWordBytes);
    stopWord_ = nullptr;
    if (stopFd_ >= 0) ::close(stopFd_);
    stopFd_ = -1;
}

void PythonProcessor::makeStopWord() {
    stopFd_ = memfd_create("scaler-stop-word", MFD_CLOEXEC);
    if (stopFd_ < 0 || ftruncate(stopFd_, kStopWordBytes) != 0)
        throw std::runtime_error(std::string("stop word: ") + std::strerror(errno));
    void* mapped = mmap(nullptr, kStopWordBytes, PROT_READ | PROT_WRITE, MAP_SHARED, stopFd_, 0);
    if (mapped == MAP_FAILED) throw std::runtime_error(std::string("stop word: ") + std::strerror(errno));
    stopWord_ = mapped;
    writeStopWord(kNoTask, 0);
}

void PythonProcessor::writeStopWord(uint64_t handle, uint8_t kind) {
    // the kind first: the processor reads the handle, then the kind of a request that names its task
    auto* const bytes = static_cast<unsigned char*>(stopWord_);
    __atomic_store_n(bytes + 8, kind, __ATOMIC_RELEASE);
    __atomic_store_n(reinterpret_cast<uint64_t*>(bytes), handle, __ATOMIC_RELEASE);
}

uint64_t PythonProcessor::stopWordHandle() const {
    return __atomic_load_n(static_cast<const uint64_t*>(stopWord_), __ATOMIC_ACQUIRE);
}

void PythonProcessor::start() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
    makeStopWord();
    // everything the child needs is made before fork: after it, only async-signal-safe calls
    const std::string fdText = std::to_string(fds[1]);
    const int stopFd = stopFd_;
    std::vector<std::string> args{command_.executable, "-m", "scaler_cpp._processor", fdText,
                                  std::to_string(stopFd)};
    std::vector<std::string> env;
    std::string pythonPath = command_.packageDirectory;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        if (entry.rfind("PYTHONPATH=", 0) == 0) {
            const std::string_view rest = entry.substr(11);
            if (!rest.empty()) pythonPath += (pythonPath.empty() ? "" : ":") + std::string(rest);
            continue;
        }
        if (entry.rfind("SCALER_CPP_SCHEDULER_ADDRESS=", 0) == 0) continue;
        env.emplace_back(entry);
    }
    if (!pythonPath.empty()) env.push_back("PYTHONPATH=" + pythonPath);
    env.push_back("SCALER_CPP_SCHEDULER_ADDRESS=" + command_.schedulerAddress);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    // The stop signals wait, blocked, until the processor has its handlers (it unblocks them): one that came
    // while Python started would end it by default. A stop asked meanwhile is in the stop word.
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGUSR1);
    sigaddset(&stops, SIGUSR2);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        releaseStopWord();
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the worker's thread that owns it
        if (getppid() != parent) _exit(127);
        sigprocmask(SIG_BLOCK, &stops, nullptr);
        fcntl(fds[1], F_SETFD, 0);  // this end survives exec
        fcntl(stopFd, F_SETFD, 0);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    pid_ = pid;
    readBuffer_.resize(size_t{64} << 10);
    readStart_ = readEnd_ = 0;
    lastUsed_ = Clock::now();
    processorCpu_ = -1;
    log::worker().info("Python processor {} started ({} -m scaler_cpp._processor)", pid_,
                       command_.executable);
}

void PythonProcessor::sendTask(uint64_t handle, bool profiling,
                               const std::vector<std::string_view>& arguments,
                               const TaskContext* sharedFrom) {
    writeBuffer_.clear();
    appendTaskHeader(writeBuffer_, handle, profiling, arguments.size());
    // small arguments are copied into one frame; large ones go from where they are (no copy), as their memfd
    // when they are a shared object (the processor maps it: no bytes cross at all)
    std::vector<iovec> pieces;
    std::vector<size_t> lengthsAt;  // iovecs that point into writeBuffer_, by offset until it stops growing
    std::vector<int> fds;
    constexpr size_t kCopyBelow = size_t{64} << 10;
    constexpr size_t kMaxFds = 250;  // under the kernel's SCM_MAX_FD
    size_t copiedFrom = 0;
    const auto flushCopied = [&] {
        if (writeBuffer_.size() > copiedFrom) {
            lengthsAt.push_back(pieces.size());
            // an offset, made a pointer once writeBuffer_ stops moving
            pieces.push_back({reinterpret_cast<void*>(copiedFrom),  // NOLINT(performance-no-int-to-ptr)
                              writeBuffer_.size() - copiedFrom});
            copiedFrom = writeBuffer_.size();
        }
    };
    for (size_t i = 0; i < arguments.size(); ++i) {
        const std::string_view argument = arguments[i];
        const int fd = sharedFrom != nullptr && fds.size() < kMaxFds ? sharedFrom->argumentSharedFd(i) : -1;
        writeBuffer_.push_back(fd >= 0 ? 1 : 0);
        appendRaw(writeBuffer_, static_cast<uint64_t>(argument.size()));
        if (fd >= 0) {
            fds.push_back(fd);
        } else if (argument.size() < kCopyBelow) {
            writeBuffer_.append(argument);
        } else {
            flushCopied();
            pieces.push_back({const_cast<char*>(argument.data()), argument.size()});
        }
    }
    flushCopied();
    for (size_t at : lengthsAt) {
        pieces[at].iov_base = writeBuffer_.data() + reinterpret_cast<size_t>(pieces[at].iov_base);
    }
    std::vector<char> control(fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size()));
    size_t next = 0;
    bool fdsSent = fds.empty();
    while (next < pieces.size()) {
        msghdr message{};
        message.msg_iov = pieces.data() + next;
        message.msg_iovlen = std::min<size_t>(pieces.size() - next, IOV_MAX);
        if (!fdsSent) {  // with the frame's first bytes
            message.msg_control = control.data();
            message.msg_controllen = control.size();
            cmsghdr* header = CMSG_FIRSTHDR(&message);
            header->cmsg_level = SOL_SOCKET;
            header->cmsg_type = SCM_RIGHTS;
            header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
        }
        const ssize_t sent = sendmsg(fd_, &message, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) died("taking the task");
        fdsSent = true;
        size_t n = static_cast<size_t>(sent);
        while (n > 0 && n >= pieces[next].iov_len) n -= pieces[next++].iov_len;
        if (n > 0) {
            pieces[next].iov_base = static_cast<char*>(pieces[next].iov_base) + n;
            pieces[next].iov_len -= n;
        }
    }
}

void PythonProcessor::sendNextTasks(const std::vector<NextTask>& nextTasks) {
    // they are small and hold no shared object (TaskExecutor::takeNext): copied, frame after frame
    writeBuffer_.clear();
    for (const NextTask& next : nextTasks) {
        if (holds(next.handle)) continue;
        appendTaskHeader(writeBuffer_, next.handle, next.profiling, next.arguments->size());
        for (const std::string_view argument : *next.arguments) {
            writeBuffer_.push_back(0);
            appendRaw(writeBuffer_, static_cast<uint64_t>(argument.size()));
            writeBuffer_.append(argument);
        }
        held_.push_back(next.handle);
    }
    for (size_t sent = 0; sent < writeBuffer_.size();) {
        const ssize_t n = send(fd_, writeBuffer_.data() + sent, writeBuffer_.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) died("taking the task");
        sent += static_cast<size_t>(n);
    }
}

void PythonProcessor::followThisThreadsCpu() {
    // The thread and its processor take turns (one waits while the other runs): on one CPU a hand-over is a
    // local switch, across CPUs a wake-up costs three times as long here. The processor follows the thread,
    // which the kernel still moves freely.
    const int cpu = sched_getcpu();
    if (cpu < 0 || cpu == processorCpu_) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(pid_, sizeof set, &set) == 0) processorCpu_ = cpu;
}

void PythonProcessor::signalIfStopRequested(const TaskContext& context) {
    const auto now = Clock::now();
    if (!signalled_ && context.stopRequested()) {
        // the processor raises InterruptedError or TimeoutError in the task (interrupting a sleep too); the
        // word names the task, as the processor may be past it by the time the signal lands
        writeStopWord(context.handle(), context.cancelled() ? kStopCancel : kStopTimeout);
        kill(pid_, context.cancelled() ? SIGUSR1 : SIGUSR2);
        signalled_ = true;
        killAt_ = now + kStopGrace;
    } else if (signalled_ && now >= killAt_) {
        log::worker().warn("Python processor {}: the task ignored its stop request for {} ms; killing it",
                           pid_, kStopGrace.count());
        kill(pid_, SIGKILL);
        killAt_ = Clock::time_point::max();
    } else if (!signalled_ && !heldStopWritten_) {
        // a task handed over already was cancelled while it waited its turn: the processor skips it
        for (const NextTask& next : context.nextTasks()) {
            if (!next.cancelled->load(std::memory_order_relaxed) || !holds(next.handle)) continue;
            writeStopWord(next.handle, kStopCancel);
            heldStopWritten_ = true;
            break;
        }
    }
}

bool PythonProcessor::holds(uint64_t handle) const {
    return std::find(held_.begin(), held_.end(), handle) != held_.end();
}

bool PythonProcessor::awaitReadable(const TaskContext& context) {
    for (;;) {
        // with tasks sent ahead, the processor may hold this task's result while it runs the next ones, when
        // the task before was short too (a timer here every task of 1 ms costs 4 % of their throughput)
        const bool mayHold = !held_.empty() && lastTaskShort_;
        const auto askAt = waitingSince_ + kAskForHeldAfter;
        const int timeoutMs = mayHold && Clock::now() < askAt ? 1 : 20;
        pollfd item{fd_, POLLIN, 0};
        const int ready = poll(&item, 1, timeoutMs);
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) return false;
        signalIfStopRequested(context);
        if (mayHold && Clock::now() >= askAt) askForHeldResults();
    }
}

void PythonProcessor::askForHeldResults() {
    const auto* const holding = static_cast<const unsigned char*>(stopWord_) + kHoldingAt;
    if (__atomic_load_n(holding, __ATOMIC_ACQUIRE) != 0) kill(pid_, SIGUSR1);
}

bool PythonProcessor::receive(const TaskContext& context, void* data, size_t size) {
    char* p = static_cast<char*>(data);
    while (size > 0) {
        if (readStart_ < readEnd_) {
            const size_t n = std::min(size, readEnd_ - readStart_);
            std::memcpy(p, readBuffer_.data() + readStart_, n);
            readStart_ += n;
            p += n;
            size -= n;
            continue;
        }
        // a large remainder goes straight to its place; small reads fill the buffer
        const bool direct = size >= readBuffer_.size();
        const ssize_t n =
            recv(fd_, direct ? p : readBuffer_.data(), direct ? size : readBuffer_.size(), MSG_DONTWAIT);
        if (n > 0) {
            if (direct) {
                p += n;
                size -= static_cast<size_t>(n);
            } else {
                readStart_ = 0;
                readEnd_ = static_cast<size_t>(n);
            }
            continue;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        if (!awaitReadable(context)) return false;
    }
    return true;
}

void PythonProcessor::died(const std::string& doing) {
    ::close(fd_);
    fd_ = -1;
    int status = 0;
    pid_t reaped = 0;
    // it closed its end: it is exiting; give it a moment to say how before making sure
    for (int i = 0; i < 100 && reaped == 0; ++i) {
        reaped = waitpid(pid_, &status, WNOHANG);
        if (reaped == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (reaped == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
    }
    const pid_t pid = pid_;
    pid_ = -1;
    releaseStopWord();
    held_.clear();  // the tasks it held behind this one are sent again to the next processor
    const std::string why = "the Python processor " + std::to_string(pid) + " running this task died while " +
                            doing + ": " + describeExitStatus(status);
    log::worker().warn("{}; the next Python task starts a new one", why);
    throw TaskProcessDied(why);
}

PythonProcessor::Result PythonProcessor::run(const TaskContext& context) {
    if (pid_ > 0 && !held_.empty() && held_.front() == context.handle()) {
        held_.pop_front();  // sent with the task before
    } else {
        // tasks handed over and then not run would be answered in place of this one; an idle processor may
        // be exiting by now
        if (pid_ > 0 && (!held_.empty() || Clock::now() - lastUsed_ > kIdleRestart)) stop();
        if (pid_ <= 0) {
            start();
            lastTaskShort_ = false;
        }
        sendTask(context.handle(), context.profiling(), context.arguments(), &context);
    }
    signalled_ = false;
    heldStopWritten_ = false;
    followThisThreadsCpu();
    // the tasks shown behind this one go in one write once half of those sent before have run: a system
    // call (and a wake-up of the processor, when it waits) per several tasks instead of one per task
    const std::vector<NextTask>& nextTasks = context.nextTasks();
    if (held_.size() * 2 <= nextTasks.size()) sendNextTasks(nextTasks);
    signalIfStopRequested(context);  // cancelled while it waited its turn as the next task
    waitingSince_ = Clock::now();
    for (;;) {
        char kind = 0;
        if (!receive(context, &kind, 1)) died("running it");
        if (kind == 'W') {
            uint8_t waiting = 0;
            if (!receive(context, &waiting, 1)) died("running it");
            if (WaitListener* listener = threadWaitListener()) listener->waiting(waiting != 0);
            continue;
        }
        if (kind != 'R') died("answering (an unknown frame)");
        uint8_t ok = 0;
        uint64_t fields[4] = {0, 0, 0, 0};  // cpu, wall, peak RSS, length
        if (!receive(context, &ok, 1) || !receive(context, fields, sizeof fields)) died("answering");
        Result result;
        result.ok = ok != 0;
        result.cpuTimeUs = fields[0];
        result.wallTimeUs = fields[1];
        lastTaskShort_ = result.wallTimeUs < kHeldTaskUs;
        result.peakRssBytes = fields[2];
        result.bytes.resize(fields[3]);
        if (!receive(context, result.bytes.data(), result.bytes.size())) died("answering");
        if (stopWordHandle() == context.handle()) writeStopWord(kNoTask, 0);
        lastUsed_ = Clock::now();
        return result;
    }
}

}  // namespace scaler::worker
