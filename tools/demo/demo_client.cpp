// The README demo's workload: what a user's program does with scaler::Client, with a printed summary.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "scaler/client/client.h"
#include "scaler/common/command_line.h"

namespace {
double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) {
    std::string address;
    size_t echoTasks = 100000;
    CLI::App app{"scaler_demo_client: runs the README demo workload against a scheduler",
                 "scaler_demo_client"};
    app.add_option("address", address, "Scheduler address")->required();
    app.add_option("--echo-tasks", echoTasks, "How many echo tasks to run")->capture_default_str();
    scaler::parseOrExit(app, argc, argv);

    try {
        scaler::Client client(address);
        int problems = 0;

        std::vector<std::string> payloads;
        for (size_t i = 0; i < echoTasks; ++i) payloads.push_back("item-" + std::to_string(i));
        auto start = std::chrono::steady_clock::now();
        const auto results = scaler::Client::gather(client.map("echo", payloads));
        const double echoSeconds = secondsSince(start);
        const bool echoOk = results == payloads;
        problems += !echoOk;
        std::printf("echo       %zu tasks in %.3f s (%.0f tasks/s), results %s\n", echoTasks, echoSeconds,
                    echoTasks / echoSeconds, echoOk ? "all correct" : "WRONG");

        start = std::chrono::steady_clock::now();
        const auto sleeps = client.map("sleep_ms", std::vector<std::string>(200, "10"));
        scaler::Client::gather(sleeps);
        const double sleepSeconds = secondsSince(start);
        std::printf(
            "sleep_ms   200 x 10 ms tasks in %.3f s (ideal with 2 workers: 1.000 s, efficiency %.2f)\n",
            sleepSeconds, 1.0 / sleepSeconds);

        const scaler::ExecResult exec = scaler::decodeExecResult(
            client.submitExec({"sh", "-c", "echo hello from $(hostname), pid $PPID"}).get());
        std::printf("exec       exit code %d, stdout: %s", exec.exitCode, exec.stdoutData.c_str());

        try {
            client.submit("fail", "this task fails on purpose").get();
            std::printf("fail       UNEXPECTEDLY SUCCEEDED\n");
            ++problems;
        } catch (const scaler::TaskFailedError& e) {
            std::printf("fail       raised TaskFailedError: %s\n", e.what());
        }

        auto longTask = client.submit("sleep_ms", "60000");
        while (!longTask.wait_for(std::chrono::milliseconds(50)) && longTask.duration().count() == 0) {
            if (client.pendingTasks() == 1) break;
        }
        const bool cancelled = longTask.cancel();
        problems += !cancelled;
        std::printf("cancel     a 60 s task cancelled: %s\n", cancelled ? "yes" : "NO");

        client.disconnect();
        std::printf("summary    %s\n", problems == 0 ? "all checks passed" : "SOME CHECKS FAILED");
        return problems == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "scaler_demo_client: " << e.what() << "\n";
        return 1;
    }
}
