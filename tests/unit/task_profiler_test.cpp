// Profiling on the real TaskExecutor: CPU time of the running thread and the peak memory while the task ran.
#include <gtest/gtest.h>

#include <poll.h>
#include <time.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "scaler/worker/task_executor.h"

using namespace scaler;
using namespace scaler::worker;
using namespace std::chrono_literals;

namespace {

ExecutorOutcome runOne(const FunctionRegistry& registry, const std::string& function, bool profiling) {
    TaskExecutor executor(registry);
    executor.submit({{1, function, "", 0, profiling}});
    pollfd fd{executor.notifyFd(), POLLIN, 0};
    EXPECT_EQ(poll(&fd, 1, 20000), 1) << "no outcome within 20 s";
    auto outcomes = executor.takeOutcomes();
    EXPECT_EQ(outcomes.size(), 1u);
    return outcomes.empty() ? ExecutorOutcome{} : outcomes.front();
}

class TaskProfilerTest : public ::testing::Test {
protected:
    TaskProfilerTest() {
        registry.add("spin_100ms", [](TaskContext&, std::string_view) {
            // until the thread itself has had 100 ms of CPU: on a busy machine that takes longer, never less
            const auto cpuUs = [] {
                timespec t{};
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
                return static_cast<uint64_t>(t.tv_sec) * 1'000'000 + static_cast<uint64_t>(t.tv_nsec) / 1000;
            };
            const uint64_t until = cpuUs() + 100'000;
            volatile uint64_t x = 0;
            while (cpuUs() < until) x = x + 1;
            return std::string();
        });
        registry.add("touch_96mib", [](TaskContext&, std::string_view) {
            constexpr size_t kBytes = 96u << 20;
            auto block = std::make_unique<char[]>(kBytes);
            volatile char* pages = block.get();  // every page written: resident, not just reserved
            for (size_t i = 0; i < kBytes; i += 4096) pages[i] = 1;
            return std::string(1, pages[kBytes - 4096]);
        });
        registry.add("sleep_50ms", [](TaskContext& context, std::string_view) {
            context.sleepFor(50ms);
            return std::string();
        });
    }
    FunctionRegistry registry;
};

TEST_F(TaskProfilerTest, CpuTimeCountsWorkNotWaiting) {
    const auto spin = runOne(registry, "spin_100ms", true);
    EXPECT_GE(spin.cpuTimeUs, 90'000u)
        << "a busy loop of 100 ms of CPU was measured at " << spin.cpuTimeUs << " us";
    const auto sleep = runOne(registry, "sleep_50ms", true);
    EXPECT_GE(sleep.durationUs, 50'000u);
    EXPECT_LT(sleep.cpuTimeUs, sleep.durationUs / 2) << "sleeping used " << sleep.cpuTimeUs << " us of CPU";
}

TEST_F(TaskProfilerTest, PeakMemoryIncludesWhatTheTaskTouched) {
    const auto touched = runOne(registry, "touch_96mib", true);
    EXPECT_GE(touched.peakRssBytes, 96u << 20);
    EXPECT_LT(touched.peakRssBytes, 1024u << 20);
}

TEST_F(TaskProfilerTest, NothingIsMeasuredUnlessAsked) {
    const auto spin = runOne(registry, "spin_100ms", false);
    EXPECT_GE(spin.durationUs, 100'000u);
    EXPECT_EQ(spin.cpuTimeUs, 0u);
    EXPECT_EQ(spin.peakRssBytes, 0u);
}

}  // namespace
