// A worker's heartbeat counts its Python processors: the sampler with children adds live children's memory.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "scaler/protocol/process_resources.h"

namespace {

TEST(ProcessResources, ASamplerWithChildrenCountsTheirMemory) {
    constexpr size_t kChildBytes = 64u << 20;
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    if (child == 0) {
        std::vector<char> memory(kChildBytes);
        std::memset(memory.data(), 1, memory.size());  // resident, not just reserved
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char byte;
    ASSERT_EQ(read(ready[0], &byte, 1), 1);
    const uint64_t alone = scaler::ProcessResourceSampler(false).sample().rssBytes;
    const uint64_t withChildren = scaler::ProcessResourceSampler(true).sample().rssBytes;
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    EXPECT_GE(withChildren, alone + kChildBytes - (4u << 20));
}

}  // namespace
