// PythonProcessor's death path without Python: a "processor" that exits at once must fail the task with
// TaskProcessDied naming how it ended, and leave the object ready to start another. Then the real processor
// (the build tree's scaler_cpp package) with tasks handed over ahead of their turn: stops reach only the task
// they name. Tasks are protocol-0 pickles of standard-library functions, so no client is needed.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "scaler/common/base64.h"
#include "scaler/worker/python_processor.h"

using namespace scaler;
using namespace scaler::worker;

namespace {

int statusOfChild(void (*body)()) {
    const pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

TEST(PythonProcessor, ExitStatusesInWords) {
    EXPECT_EQ(describeExitStatus(statusOfChild([] { _exit(3); })), "exit code 3");
    EXPECT_EQ(describeExitStatus(statusOfChild([] { raise(SIGKILL); })), "killed by signal 9 (SIGKILL)");
}

TEST(PythonProcessor, AProcessorThatEndsBeforeAnsweringFailsTheTaskNamingHowAndCanStartAgain) {
    PythonProcessor processor({"/bin/false", "", "tcp://127.0.0.1:1"});  // exits 1 whatever it is given
    std::atomic<bool> cancel{false};
    const std::vector<std::string_view> arguments{"function", "call"};
    TaskContext context(cancel, TaskContext::Clock::time_point::max(), &arguments);
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            processor.run(context);
            FAIL() << "no TaskProcessDied";
        } catch (const TaskProcessDied& e) {
            EXPECT_NE(std::string(e.what()).find("exit code 1"), std::string::npos) << e.what();
        }
        EXPECT_FALSE(processor.alive());
    }
}

// A task for the real processor: a function pickle and a call pickle.
struct PickledTask {
    uint64_t handle;
    std::vector<std::string_view> arguments;
    std::atomic<bool> cancel{false};
};

const char* const kSleep = "ctime\nsleep\np0\n.";
const char* const kExit = "cposix\n_exit\np0\n.";
const char* const kMkdir = "cposix\nmkdir\np0\n.";
const char* const kAdd = "c_operator\nadd\np0\n.";
const char* const kHalfSecond = "((F0.5\ntp0\n(dp1\ntp2\n.";
const char* const kFourSeconds = "((F4.0\ntp0\n(dp1\ntp2\n.";
const char* const kNoTime = "((F0.0\ntp0\n(dp1\ntp2\n.";
const char* const kThree = "((I3\ntp0\n(dp1\ntp2\n.";
const char* const kTwoAndThree = "((I2\nI3\ntp0\n(dp1\ntp2\n.";

class RealPythonProcessor : public ::testing::Test {
protected:
    PythonProcessor processor{{"/usr/bin/python3", SCALER_TEST_PYTHON_PACKAGE_DIR, "tcp://127.0.0.1:1"}};

    PythonProcessor::Result run(
        PickledTask& task, const std::vector<PickledTask*>& next = {},
        TaskContext::Clock::time_point deadline = TaskContext::Clock::time_point::max()) {
        std::vector<NextTask> views;
        for (PickledTask* n : next) views.push_back(NextTask{n->handle, &n->arguments, &n->cancel});
        TaskContext context(task.cancel, deadline, &task.arguments);
        context.setHandle(task.handle);
        context.setNextTasks(&views);
        return processor.run(context);
    }
};

TEST_F(RealPythonProcessor, ASignalForATaskThatHasEndedDoesNotStopTheNextOne) {
    PickledTask quick{1, {kSleep, kNoTime}};
    PickledTask slow{2, {kSleep, kHalfSecond}};
    ASSERT_TRUE(run(quick, {&slow}).ok);
    // the slow task runs now, handed over with the quick one; a late stop signal for the quick one lands
    ASSERT_GT(processor.pid(), 0);
    kill(processor.pid(), SIGUSR2);
    const auto started = std::chrono::steady_clock::now();
    const PythonProcessor::Result result = run(slow);
    EXPECT_TRUE(result.ok) << result.bytes;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(RealPythonProcessor, ATimeoutStopsItsOwnTaskAndNotTheOneHandedOverAfterIt) {
    PickledTask slow{1, {kSleep, kHalfSecond}};
    PickledTask add{2, {kAdd, kTwoAndThree}};
    const PythonProcessor::Result timedOut =
        run(slow, {&add}, TaskContext::Clock::now() + std::chrono::milliseconds(50));
    EXPECT_FALSE(timedOut.ok);
    EXPECT_NE(base64Decode(timedOut.bytes).find("TimeoutError"), std::string::npos) << timedOut.bytes;
    const PythonProcessor::Result sum = run(add);
    EXPECT_TRUE(sum.ok) << sum.bytes;
}

TEST_F(RealPythonProcessor, ATaskCancelledWhileItWaitsItsTurnDoesNotBegin) {
    const std::filesystem::path folder =
        std::filesystem::temp_directory_path() / ("scaler-processor-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(folder);
    const std::string call = "((V" + folder.string() + "\np0\ntp1\n(dp2\ntp3\n.";
    PickledTask slow{1, {kSleep, kHalfSecond}};
    PickledTask mkdir{2, {kMkdir, call}};
    mkdir.cancel = true;  // a forced cancel while the slow one runs
    ASSERT_TRUE(run(slow, {&mkdir}).ok);
    const PythonProcessor::Result skipped = run(mkdir);
    EXPECT_FALSE(skipped.ok);
    EXPECT_NE(base64Decode(skipped.bytes).find("InterruptedError"), std::string::npos) << skipped.bytes;
    EXPECT_FALSE(std::filesystem::exists(folder)) << "the cancelled task ran";
    std::filesystem::remove_all(folder);
}

std::string addCall(int a, int b) {
    return "((I" + std::to_string(a) + "\nI" + std::to_string(b) + "\ntp0\n(dp1\ntp2\n.";
}

// Tasks 1..count, task i adding i and `plus`; `calls` keeps the call pickles the tasks point into.
std::vector<std::unique_ptr<PickledTask>> additions(int count, int plus, std::vector<std::string>& calls) {
    for (int i = 0; i < count; ++i) calls.push_back(addCall(i, plus));
    std::vector<std::unique_ptr<PickledTask>> tasks;
    for (int i = 0; i < count; ++i) {
        auto& task = *tasks.emplace_back(std::make_unique<PickledTask>());
        task.handle = static_cast<uint64_t>(i + 1);
        task.arguments = {kAdd, calls[static_cast<size_t>(i)]};
    }
    return tasks;
}

TEST_F(RealPythonProcessor, ResultsSentTogetherComeBackEachToItsTask) {
    constexpr int kTasks = 20;  // more than the processor holds at once (16)
    std::vector<std::string> calls;
    const auto tasks = additions(kTasks, 1000, calls);
    std::vector<std::string> together;
    for (int i = 0; i < kTasks; ++i) {
        std::vector<PickledTask*> next;  // all the others at once, as a worker with a queue shows them
        if (i == 0)
            for (int j = 1; j < kTasks; ++j) next.push_back(tasks[static_cast<size_t>(j)].get());
        const PythonProcessor::Result result = run(*tasks[static_cast<size_t>(i)], next);
        ASSERT_TRUE(result.ok) << i << ": " << result.bytes;
        together.push_back(result.bytes);
    }
    for (int i = 0; i < kTasks; ++i) {  // each alone: nothing sent behind it, nothing held
        PickledTask alone{static_cast<uint64_t>(100 + i), {kAdd, calls[static_cast<size_t>(i)]}};
        EXPECT_EQ(run(alone).bytes, together[static_cast<size_t>(i)]) << "task " << i;
    }
    EXPECT_NE(together[0], together[1]);
}

TEST_F(RealPythonProcessor, TasksShownAheadAsAWorkerShowsThemEachAnswerTheirOwn) {
    // as the executor shows them: each task with the 16 queued behind it, a window that slides by one; the
    // processor gets them in writes of several (once half of those sent have run)
    constexpr int kTasks = 60;
    constexpr int kShown = 16;
    std::vector<std::string> calls;
    const auto tasks = additions(kTasks, 7, calls);
    std::vector<std::string> shownAhead;
    for (int i = 0; i < kTasks; ++i) {
        std::vector<PickledTask*> next;
        for (int j = i + 1; j < kTasks && j <= i + kShown; ++j)
            next.push_back(tasks[static_cast<size_t>(j)].get());
        const PythonProcessor::Result result = run(*tasks[static_cast<size_t>(i)], next);
        ASSERT_TRUE(result.ok) << i << ": " << result.bytes;
        shownAhead.push_back(result.bytes);
    }
    for (int i = 0; i < kTasks; i += 7) {
        PickledTask alone{static_cast<uint64_t>(1000 + i), {kAdd, calls[static_cast<size_t>(i)]}};
        EXPECT_EQ(run(alone).bytes, shownAhead[static_cast<size_t>(i)]) << "task " << i;
    }
}

TEST_F(RealPythonProcessor, AResultHeldWhileTheNextTaskRunsLongArrivesWithoutWaitingForIt) {
    PickledTask quick{1, {kSleep, kNoTime}};
    PickledTask alsoQuick{2, {kSleep, kNoTime}};
    PickledTask slow{3, {kSleep, kFourSeconds}};
    // all reach the processor before it reads any (it is starting): the second quick one's result (a short
    // task after a short one) waits for the slow one's, until run() has waited
    // PythonProcessor::kAskForHeldAfter and asks for it
    ASSERT_TRUE(run(quick, {&alsoQuick, &slow}).ok);
    const auto started = std::chrono::steady_clock::now();
    const PythonProcessor::Result first = run(alsoQuick);
    const auto firstMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    EXPECT_TRUE(first.ok) << first.bytes;
    std::printf("the quick task's result after %lld ms (the slow one runs 4000 ms)\n",
                static_cast<long long>(firstMs.count()));
    EXPECT_LT(firstMs, std::chrono::milliseconds(2500));
    const PythonProcessor::Result second = run(slow);
    EXPECT_TRUE(second.ok) << second.bytes;  // the request to send did not stop it
    EXPECT_GE(second.wallTimeUs, 3'900'000u);
}

TEST_F(RealPythonProcessor, TasksHandedOverBehindOneWhoseProcessDiedRunInTheNextProcessor) {
    PickledTask exit{1, {kExit, kThree}};
    PickledTask add{2, {kAdd, kTwoAndThree}};
    EXPECT_THROW(run(exit, {&add}), TaskProcessDied);
    EXPECT_FALSE(processor.alive());
    const PythonProcessor::Result sum = run(add);
    EXPECT_TRUE(sum.ok) << sum.bytes;
    EXPECT_TRUE(processor.alive());
}

}  // namespace
