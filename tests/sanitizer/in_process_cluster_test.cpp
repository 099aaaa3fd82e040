// A scheduler, a worker and clients in one process, each on its own threads, so ThreadSanitizer sees every
// thread of the system at once: the scheduler's event loop, the worker's loop and executor threads (with a
// nested client inside a task), and the client's I/O thread fed by several user threads. The assertions are
// about results; the sanitizer build (tools/scripts/run-sanitizers.sh) adds its own on every access.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "scaler/client/client.h"
#include "scaler/client/errors.h"
#include "scaler/scheduler/config/scheduler_config.h"
#include "scaler/scheduler/server/scheduler_server.h"
#include "scaler/worker/builtin_functions.h"
#include "scaler/worker/function_registry.h"
#include "scaler/worker/python_tasks.h"
#include "scaler/worker/worker_agent.h"
#include "scaler/worker/worker_config.h"

namespace scaler {
namespace {

std::string temporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "scaler-inproc-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

TEST(InProcessCluster, ClientsOnManyThreadsAWorkerWithNestedTasksAndTheSchedulerShareNothingUnlocked) {
    const std::string dir = temporaryDirectory();
    scheduler::SchedulerConfig schedulerConfig;
    schedulerConfig.address = "ipc://" + dir + "/scheduler";
    schedulerConfig.monitorAddress = "ipc://" + dir + "/monitor";
    scheduler::finishSchedulerConfig(schedulerConfig);
    std::thread schedulerThread([&] { scheduler::SchedulerServer(schedulerConfig).run(); });

    worker::WorkerConfig workerConfig;
    workerConfig.schedulerAddress = schedulerConfig.address;
    workerConfig.heartbeatIntervalSeconds = 0.2;
    worker::finishWorkerConfig(workerConfig);
    FunctionRegistry registry;
    worker::registerBuiltinFunctions(registry, {}, false);
    worker::refusePythonTasks(registry);
    std::atomic<int> workerExit{-1};
    std::thread workerThread([&] { workerExit = worker::WorkerAgent(workerConfig, registry).run(); });

    {
        Client client(schedulerConfig.address);
        constexpr int kThreads = 4;
        constexpr int kTasksPerThread = 300;
        std::atomic<int> wrong{0};
        std::vector<std::thread> users;
        for (int t = 0; t < kThreads; ++t) {
            users.emplace_back([&, t] {
                std::vector<std::string> payloads;
                for (int i = 0; i < kTasksPerThread; ++i)
                    payloads.push_back(std::to_string(t) + "/" + std::to_string(i));
                // one at a time, in a batch, and one cancelled while it may still be queued
                if (client.submit("echo", payloads.front()).get() != payloads.front()) ++wrong;
                if (Client::gather(client.map("echo", payloads)) != payloads) ++wrong;
                Future slow = client.submit("sleep_ms", "200");
                slow.cancel();
                try {
                    (void)slow.get();
                } catch (const Error&) {
                    // cancelled: what this thread asked for
                }
            });
        }
        for (std::thread& user : users) user.join();
        EXPECT_EQ(wrong.load(), 0);
        EXPECT_EQ(client.submit("fib_nested", "8").get(), "21") << "nested tasks: a client inside the worker";
        ObjectRef object = client.sendObject(std::string(100000, 'x'));
        EXPECT_EQ(client.submit("length", Arguments{object}).get(), "100000");
        client.shutdown();  // the scheduler tells the worker to stop, then stops itself
    }
    schedulerThread.join();
    workerThread.join();
    EXPECT_EQ(workerExit.load(), 0);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace scaler
