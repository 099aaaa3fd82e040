#include "scaler/worker/worker_agent.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "scaler/client/client.h"
#include "scaler/common/log.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/dealer_connection.h"
#include "scaler/protocol/identity.h"
#include "scaler/worker/task_executor.h"
#include "scaler/worker/worker_session.h"

namespace scaler::worker {
namespace {

using Clock = std::chrono::steady_clock;

std::string hostName() {
    char buffer[256] = {};
    gethostname(buffer, sizeof buffer - 1);
    return buffer;
}

// Replaces this process with a fresh copy of itself (same pid, same flags); never returns.
[[noreturn]] void restartProcess(const std::vector<std::string>& command) {
    log::worker().info("restarting: exec of {}", command.front());
    log::worker().flush();
    std::vector<char*> argv;
    argv.reserve(command.size() + 1);
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    log::worker().critical("could not restart: exec failed: {}", std::strerror(errno));
    log::worker().flush();
    std::_Exit(1);
}

}  // namespace

WorkerAgent::WorkerAgent(WorkerConfig config, const FunctionRegistry& registry)
    : config_(std::move(config)), registry_(registry) {
    identity_ = !config_.identity.empty()
                    ? config_.identity
                    : makeIdentity("Worker", config_.name.empty() ? hostName() : config_.name);
}

int WorkerAgent::run() {
    DealerConnection connection({identity_, config_.schedulerAddress, config_.curve, 0});
    // Tasks that submit tasks share one client, made on first use; it outlives the executor's threads.
    std::mutex nestedMutex;
    std::unique_ptr<Client> nested;
    auto nestedClient = [&]() -> Client& {
        std::lock_guard lock(nestedMutex);
        if (!nested) {
            ClientOptions options;
            options.name = "nested-" + identity_;
            options.curve = config_.curve;
            nested = std::make_unique<Client>(config_.schedulerAddress, options);
            log::worker().info("connected a client for nested tasks as '{}'", nested->identity());
        }
        return *nested;
    };
    TaskExecutor executor(registry_, nestedClient);
    WorkerSession session(config_, identity_, executor, connection, hostName(),
                          static_cast<uint32_t>(getpid()), Clock::now());
    session.start(Clock::now());
    while (!session.done()) {
        // results held: the executor's descriptor stays readable until they are taken, so it is not watched
        connection.wait(session.waitBudget(Clock::now()), session.holdsResults() ? -1 : executor.notifyFd());
        connection.receive(
            [&](wire::Message::Reader message) {
                session.onMessage(message, Clock::now());
                return !session.done();
            },
            [](const std::string& why) {
                log::worker().warn("dropped a message from the scheduler: {}", why);
            });
        if (auto failure = connection.takeHandshakeFailure())
            session.onHandshakeFailure(*failure, Clock::now());
        session.onTick(Clock::now(), shutdownRequested());
    }
    executor.interruptRunning();
    connection.close();
    if (session.restartAfterLeaving()) restartProcess(config_.restartCommand);
    // A function that ignores interruption would block the executor's join forever; leave without it.
    for (int i = 0; i < 50 && executor.running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (executor.running()) {
        log::worker().warn("a task function ignored the stop request; exiting without waiting for it");
        log::worker().flush();
        std::_Exit(session.exitCode());
    }
    log::worker().info("worker '{}' exiting", identity_);
    return session.exitCode();
}

}  // namespace scaler::worker
