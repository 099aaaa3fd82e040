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
#include <cstdlib>
#include <filesystem>
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
