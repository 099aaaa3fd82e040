#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "scaler/worker/builtin_functions.h"
#include "scaler/worker/command_runner.h"
#include "scaler/worker/python_tasks.h"

using namespace scaler;
using namespace std::chrono_literals;

namespace {
ExecResult run(std::vector<std::string> argv, std::string stdinData = {}, size_t limit = 1 << 20) {
    std::atomic<bool> cancel{false};
    TaskContext context(cancel, TaskContext::Clock::time_point::max());
    return worker::runCommand({std::move(argv), {}, std::move(stdinData)}, context, {limit, 500ms});
}
}  // namespace

TEST(CommandRunner, CapturesOutputAndExitCode) {
    const auto r = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(r.exitCode, 3);
    EXPECT_EQ(r.stdoutData, "out\n");
    EXPECT_EQ(r.stderrData, "err\n");
}

TEST(CommandRunner, FeedsStdin) {
    EXPECT_EQ(run({"cat"}, "piped").stdoutData, "piped");
}

TEST(CommandRunner, MissingProgramIs127WithAMessage) {
    const auto r = run({"no-such-program-scaler"});
    EXPECT_EQ(r.exitCode, 127);
    EXPECT_NE(r.stderrData.find("no-such-program-scaler"), std::string::npos);
}

TEST(CommandRunner, TruncatesBeyondTheLimit) {
    const auto r = run({"sh", "-c", "head -c 100000 /dev/zero"}, {}, 1000);
    EXPECT_EQ(r.stdoutData.size(), 1000u);
    EXPECT_TRUE(r.outputTruncated);
}

TEST(CommandRunner, ReportsTheKillingSignal) {
    const auto r = run({"sh", "-c", "kill -9 $$"});
    EXPECT_EQ(r.exitCode, -1);
    EXPECT_EQ(r.signal, 9);
}

TEST(CommandRunner, CancelKillsTheWholeProcessGroup) {
    std::atomic<bool> cancel{false};
    TaskContext context(cancel, TaskContext::Clock::time_point::max());
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);  // the command must be running for this test to mean anything
        cancel = true;
    });
    const auto start = std::chrono::steady_clock::now();
    // the shell's child would keep the pipe open if only the shell were killed
    EXPECT_THROW(worker::runCommand({{"sh", "-c", "sleep 30 & sleep 30"}, {}, {}}, context, {1 << 20, 500ms}),
                 TaskInterrupted);
    canceller.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(CommandRunner, TimeoutStopsTheProgram) {
    std::atomic<bool> cancel{false};
    TaskContext context(cancel, TaskContext::Clock::now() + 300ms);
    EXPECT_THROW(worker::runCommand({{"sleep", "30"}, {}, {}}, context, {1 << 20, 500ms}), TaskInterrupted);
}

TEST(FunctionRegistry, FunctionsAWorkerRefusesAreNotListedAndFailSayingWhy) {
    FunctionRegistry registry;
    worker::registerBuiltinFunctions(registry, {}, false);
    worker::refusePythonTasks(registry);
    const auto names = registry.names();
    EXPECT_EQ(std::find(names.begin(), names.end(), "exec"), names.end())
        << "exec listed without --allow-exec";
    EXPECT_EQ(std::find(names.begin(), names.end(), "python"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "echo"), names.end());
    const TaskFunction* exec = registry.find("exec");
    ASSERT_NE(exec, nullptr);
    std::atomic<bool> stop{false};
    TaskContext context(stop, TaskContext::Clock::time_point::max());
    try {
        (*exec)(context, "");
        ADD_FAILURE() << "a refused exec task ran";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--allow-exec"), std::string::npos) << e.what();
    }
}
