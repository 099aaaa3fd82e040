// scaler_submit: submit N tasks (or one command task), wait for all, print results or a JSON summary.
// Exit 0 when all succeeded, 1 when any failed, 2 on usage errors.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "scaler/client/client.h"
#include "scaler/common/command_line.h"
#include "scaler/protocol/capabilities.h"

namespace {

std::string describe(const std::exception& e) {
    if (dynamic_cast<const scaler::TaskFailedError*>(&e)) return std::string("failed: ") + e.what();
    if (dynamic_cast<const scaler::WorkerDiedError*>(&e)) return std::string("worker died: ") + e.what();
    if (dynamic_cast<const scaler::TaskCancelledError*>(&e)) return std::string("cancelled: ") + e.what();
    if (dynamic_cast<const scaler::TaskTimeoutError*>(&e)) return std::string("timed out: ") + e.what();
    if (dynamic_cast<const scaler::TaskRejectedError*>(&e)) return std::string("rejected: ") + e.what();
    if (dynamic_cast<const scaler::SchedulerUnreachableError*>(&e))
        return std::string("unreachable: ") + e.what();
    return e.what();
}

// The whole of PATH ("-": standard input, or a pipe: what is not a regular file, which is mapped) as bytes.
// Throws std::invalid_argument naming the path.
std::string readPayloadFile(const std::string& path) {
    if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument("--payload-file '" + path + "' cannot be read");
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    if (in.bad()) throw std::invalid_argument("--payload-file '" + path + "' cannot be read");
    return bytes;
}

void drawProgress(size_t done, size_t total) {
    constexpr int kWidth = 40;
    const int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
    std::fprintf(stderr, "\r[%-*s] %zu/%zu", kWidth, std::string(filled, '#').c_str(), done, total);
    std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
    std::string address, function, payload, payloadFile, capabilities, loggingLevel = "WARNING";
    size_t count = 1;
    double timeout = 0, connectTimeout = 30, submitTimeout = 0;
    int32_t priority = 0;
    bool json = false, exec = false, quiet = false, profile = false;
    std::vector<std::string> command;

    CLI::App app{"scaler_submit: submit tasks to a scaler_scheduler and wait for their results",
                 "scaler_submit"};
    app.add_option("address", address, "Scheduler address, e.g. tcp://127.0.0.1:8516")->required();
    auto* functionOption = app.add_option("--function,-f", function,
                                          "Function to run (noop, echo, sleep_ms, fail, or a plugin's)");
    auto* payloadOption = app.add_option("--payload", payload, "Payload for every task");
    app.add_option(
           "--payload-file", payloadFile,
           "Payload for every task from a file ('-': standard input). A regular file is mapped, not read, "
           "and must not change while the command runs")
        ->excludes(payloadOption);
    app.add_option("--count,-n", count, "Number of tasks")
        ->check(CLI::Range(size_t{1}, size_t{100000000}))
        ->capture_default_str();
    app.add_option("--capabilities", capabilities, "Capabilities each task requires, e.g. \"gpu\"");
    app.add_option("--priority", priority,
                   "Higher runs first among queued tasks with the same capabilities (-32768..32767)")
        ->check(CLI::Range(-32768, 32767))
        ->capture_default_str();
    app.add_flag("--profile", profile,
                 "Workers measure each task's CPU time and peak memory; printed with the summary");
    app.add_option("--timeout", timeout, "Per-task timeout in seconds (0: none)")
        ->check(scaler::nonNegativeNumber())
        ->capture_default_str();
    app.add_option("--connect-timeout", connectTimeout,
                   "Give up when the scheduler does not answer within this")
        ->check(scaler::positiveNumber())
        ->capture_default_str();
    app.add_option("--submit-timeout", submitTimeout,
                   "Tasks beyond this client's share of the scheduler's queue (--max-queued-tasks) wait for "
                   "room; give up after this many seconds, exit 1 and cancel what was submitted (0: wait)")
        ->check(scaler::nonNegativeNumber())
        ->capture_default_str();
    app.add_flag("--json", json, "Print one summary object instead of each result");
    app.add_flag("--quiet,-q", quiet, "Print only the summary line");
    auto* execFlag =
        app.add_flag("--exec", exec, "Run a command task: scaler_submit ADDRESS --exec -- PROGRAM ARGS...");
    app.add_option("command", command, "Program and arguments, after --")->expected(-1);
    functionOption->excludes(execFlag);
    scaler::CurveKeyFiles curveFiles;
    scaler::addCurveClientOptions(app, curveFiles);
    scaler::parseOrExit(app, argc, argv);
    if (exec == command.empty()) {
        std::cerr << "scaler_submit: error: "
                  << (exec ? "--exec needs a program after --" : "a program was given without --exec")
                  << "\n";
        return 2;
    }
    if (!exec && function.empty()) {
        std::cerr << "scaler_submit: error: --function or --exec is required\n";
        return 2;
    }
    try {
        scaler::parseCapabilities(capabilities);  // before connecting: a usage error, not a task failure
    } catch (const std::invalid_argument& e) {
        std::cerr << "scaler_submit: error: --capabilities: " << e.what() << "\n";
        return 2;
    }
    scaler::CurveClientKeys curve;
    try {
        curve = scaler::loadCurveClientKeys(curveFiles.serverPublicKeyFile, curveFiles.secretKeyFile);
    } catch (const std::invalid_argument& e) {
        std::cerr << "scaler_submit: error: " << e.what() << "\n";
        return 2;
    }
    // A regular file is mapped, not read: its pages leave memory as the scheduler stores them, so a 1 GiB
    // payload does not sit in this process beside its 1 GiB result.
    std::shared_ptr<const scaler::ByteSource> mappedPayload;
    if (!payloadFile.empty()) {
        try {
            struct stat info {};
            if (payloadFile != "-" && stat(payloadFile.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
                try {
                    mappedPayload = scaler::mapFile(payloadFile);
                } catch (const std::invalid_argument& e) {
                    throw std::invalid_argument(std::string("--payload-file ") + e.what());
                }
            } else {
                payload = readPayloadFile(payloadFile);
            }
        } catch (const std::invalid_argument& e) {
            std::cerr << "scaler_submit: error: " << e.what() << "\n";
            return 2;
        }
    }
    scaler::SubmitOptions options;
    options.capabilities = capabilities;
    options.timeoutSeconds = timeout;
    options.priority = priority;
    options.profiling = profile;

    try {
        scaler::ClientOptions clientOptions;
        clientOptions.connectTimeoutSeconds = connectTimeout;
        clientOptions.submitTimeoutSeconds = submitTimeout;
        clientOptions.name = "submit";
        clientOptions.curve = curve;
        scaler::Client client(address, clientOptions);
        const auto start = std::chrono::steady_clock::now();
        std::vector<scaler::Future> futures;
        if (exec) {
            for (size_t i = 0; i < count; ++i) futures.push_back(client.submitExec(command, options));
        } else if (mappedPayload) {
            std::vector<scaler::Arguments> arguments(count);
            for (auto& a : arguments) a.items.emplace_back(mappedPayload);
            futures = client.map(function, std::move(arguments), options);
        } else {
            std::vector<std::string> payloads(count > 0 ? count - 1 : 0, payload);
            if (count > 0)
                payloads.push_back(std::move(payload));  // one payload (a large file) is not copied
            futures = client.map(function, std::move(payloads), options);
        }
        const bool progress = isatty(STDERR_FILENO) && count >= 100 && !json;
        size_t succeeded = 0, failed = 0, rejected = 0, unprinted = 0;
        std::string firstRejection;
        uint64_t cpuUs = 0, runUs = 0, peakRss = 0;
        nlohmann::json errors = nlohmann::json::array();
        for (size_t i = 0; i < futures.size(); ++i) {
            try {
                std::string result = futures[i].take();
                if (exec) {
                    // a command that exits non-zero counts as failed, as it would in a shell
                    const scaler::ExecResult r = scaler::decodeExecResult(result);
                    const bool ok = r.exitCode == 0;
                    ok ? ++succeeded : ++failed;
                    const std::string status = "exit code " + std::to_string(r.exitCode) +
                                               (r.signal ? " (signal " + std::to_string(r.signal) + ")" : "");
                    if (!ok && errors.size() < 20) errors.push_back(status);
                    if (json || quiet) continue;
                    std::cout << r.stdoutData;
                    std::cerr << r.stderrData;
                    if (!ok) std::cerr << status << "\n";
                    continue;
                }
                ++succeeded;
                if (!json && !quiet && !progress) std::cout << result << "\n";
            } catch (const scaler::TaskRejectedError& e) {
                // one line for all of them at the end: a full queue rejects thousands at once
                ++failed;
                if (rejected++ == 0) firstRejection = e.what();
            } catch (const std::exception& e) {
                ++failed;
                if (errors.size() < 20) errors.push_back(describe(e));
                if (!json && failed - rejected <= 20) {
                    std::cerr << "task " << futures[i].id() << " " << describe(e) << "\n";
                } else {
                    ++unprinted;
                }
            }
            if (profile) {
                const scaler::TaskProfile p = futures[i].profile();
                cpuUs += static_cast<uint64_t>(p.cpuTime.count());
                runUs += static_cast<uint64_t>(p.duration.count());
                peakRss = std::max(peakRss, p.peakMemoryBytes);
            }
            if (progress && (i % 97 == 0 || i + 1 == futures.size())) drawProgress(i + 1, futures.size());
        }
        if (progress) std::fprintf(stderr, "\n");
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (json) {
            nlohmann::json summary{
                {"submitted", count}, {"succeeded", succeeded},
                {"failed", failed},   {"rejected", rejected},
                {"seconds", seconds}, {"tasks_per_second", seconds > 0 ? count / seconds : 0.0}};
            if (rejected > 0) errors.push_back("rejected: " + firstRejection);
            if (!errors.empty()) summary["errors"] = errors;
            if (profile) {
                summary["profile"] = {{"run_time_us_total", runUs},
                                      {"cpu_time_us_total", cpuUs},
                                      {"peak_rss_bytes_max", peakRss}};
            }
            std::cout << summary.dump() << "\n";
        } else {
            if (unprinted > 0) std::cerr << "... and " << unprinted << " more failures\n";
            if (rejected > 0) std::cerr << rejected << " tasks rejected: " << firstRejection << "\n";
            if (profile) {
                std::fprintf(stderr, "profile: run time %.3f s, CPU time %.3f s, peak memory %.1f MiB\n",
                             static_cast<double>(runUs) / 1e6, static_cast<double>(cpuUs) / 1e6,
                             static_cast<double>(peakRss) / (1024.0 * 1024.0));
            }
            if (quiet || count > 1) {
                std::cerr << count << " submitted, " << succeeded << " succeeded, " << failed << " failed in "
                          << seconds << " s\n";
            }
        }
        client.disconnect();
        return failed == 0 ? 0 : 1;
    } catch (const std::invalid_argument& e) {
        std::cerr << "scaler_submit: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "scaler_submit: " << describe(e) << "\n";
        return 1;
    }
}
