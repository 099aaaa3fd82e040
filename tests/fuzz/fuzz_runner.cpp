// scaler_fuzz_runner: the structure-aware fuzz targets (fuzz_message_kinds.h) for a bounded time in any
// build, so CI runs them on every change (ctest -L fuzz): random inputs and mutations of earlier ones, from a
// seed it prints. Not coverage-guided: tools/scripts/run-fuzz.sh runs the same targets under libFuzzer with
// ASan and UBSan. A failing input is written to a file named on stderr;
// --replay FILE runs it again.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "fuzz_harness.h"
#include "fuzz_message_kinds.h"
#include "scaler/common/command_line.h"

namespace {

using scaler::fuzz::MessageKind;

// The input being run and where to save it if the process dies on it (only async-signal-safe calls).
std::string currentInput;
char savePath[256] = {};

void saveAndDie(int signal) {
    const int fd = ::open(savePath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!::write(fd, currentInput.data(), currentInput.size());
        ::close(fd);
    }
    const char message[] = "scaler_fuzz_runner: the failing input was saved (see --replay)\n";
    (void)!::write(STDERR_FILENO, message, sizeof message - 1);
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

std::string mutate(std::string input, std::mt19937_64& random) {
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < edits; ++i) {
        const size_t at = input.empty() ? 0 : random() % input.size();
        switch (random() % 4) {
            case 0:
                if (!input.empty()) input[at] = static_cast<char>(random());
                break;
            case 1:
                input.insert(at, 1 + random() % 16, static_cast<char>(random()));
                break;
            case 2:
                if (!input.empty()) input.erase(at, 1 + random() % 16);
                break;
            default:
                if (!input.empty()) input[at] = static_cast<char>(input[at] ^ (1 << (random() % 8)));
        }
    }
    return input;
}

}  // namespace

int main(int argc, char** argv) {
    std::string kindName, replay;
    double seconds = 5;
    uint64_t seed = 0;
    CLI::App app{"scaler_fuzz_runner: a structure-aware fuzz target for a bounded time, in any build",
                 "scaler_fuzz_runner"};
    app.add_option("--kind", kindName, "objects, graphs, tasks or heartbeats")
        ->required()
        ->check(CLI::IsMember({"objects", "graphs", "tasks", "heartbeats"}));
    app.add_option("--seconds", seconds, "How long to run")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--seed", seed, "The random seed (default: from the clock, printed)");
    app.add_option("--replay", replay, "Run this one input (a file written by a failed run) and exit");
    scaler::parseOrExit(app, argc, argv);
    MessageKind kind = MessageKind::objects;
    for (MessageKind k : scaler::fuzz::kMessageKinds) {
        if (kindName == scaler::fuzz::messageKindName(k)) kind = k;
    }
    scaler::fuzz::setUpFuzzLogging();
    if (!replay.empty()) {
        std::ifstream in(replay, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "scaler_fuzz_runner: error: --replay '%s' cannot be read\n", replay.c_str());
            return 2;
        }
        const std::string input((std::istreambuf_iterator<char>(in)), {});
        scaler::fuzz::runMessageKind(kind, reinterpret_cast<const uint8_t*>(input.data()), input.size());
        std::printf("replayed %zu bytes: no failure\n", input.size());
        return 0;
    }
    if (seed == 0) seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::snprintf(savePath, sizeof savePath, "/tmp/scaler-fuzz-%s-%llu.input", kindName.c_str(),
                  static_cast<unsigned long long>(seed));
    for (int s : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(s, saveAndDie);
    std::mt19937_64 random(seed);
    std::vector<std::string> pool;  // recent inputs, mutated as often as new ones are drawn
    uint64_t runs = 0, bytes = 0;
    scaler::fuzz::KindReach reach;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!pool.empty() && random() % 2 == 0) {
            currentInput = mutate(pool[random() % pool.size()], random);
        } else {
            currentInput.resize(random() % 4096);
            for (char& c : currentInput) c = static_cast<char>(random());
        }
        scaler::fuzz::runMessageKind(kind, reinterpret_cast<const uint8_t*>(currentInput.data()),
                                     currentInput.size(), &reach);
        ++runs;
        bytes += currentInput.size();
        if (pool.size() < 256) {
            pool.push_back(currentInput);
        } else {
            pool[random() % pool.size()] = currentInput;
        }
    }
    const auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf(
        "fuzz %s: %llu inputs (%llu bytes, %llu messages) in %.0f s, seed %llu, no failure; reached: %llu "
        "tasks sent to workers, %llu succeeded, %llu failed, %llu cancelled, %llu rejected, %llu objects "
        "stored\n",
        kindName.c_str(), n(runs), n(bytes), n(reach.messages), seconds, n(seed), n(reach.tasksSentToWorkers),
        n(reach.tasksSucceeded), n(reach.tasksFailed), n(reach.tasksCancelled), n(reach.tasksRejected),
        n(reach.objectsStored));
    return 0;
}
