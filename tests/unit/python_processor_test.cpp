// PythonProcessor's death path without Python: a "processor" that exits at once must fail the task with
// TaskProcessDied naming how it ended, and leave the object ready to start another.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace
