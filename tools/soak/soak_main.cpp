// scaler_soak: many tasks of mixed durations and capabilities through a scaling cluster while workers are
// killed at random (and, with --scheduler-kills, the scheduler too, restarted on the same address), then an
// account of every task: submitted, completed, failed, lost, duplicated, wrong, and the scheduler's peak
// RSS. Exit 0 only when nothing was lost, duplicated, failed or answered wrongly.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor_subscriber.h"
#include "scaler/client/client.h"
#include "scaler/common/command_line.h"
#include "scaler/tools/child_process.h"
#include "scaler/tools/link_cut_relay.h"

namespace {

using Clock = std::chrono::steady_clock;
using scaler::tools::ChildProcess;

struct Options {
    uint64_t tasks = 1000000;
    uint64_t window = 20000;  // tasks in flight at most
    uint32_t waves = 10;      // submissions come in waves with idle pauses, so groups start and stop
    double pauseSeconds = 4;
    double killIntervalSeconds = 1.5;
    uint32_t cpuGroups = 4, workersPerGroup = 2, gpuGroups = 2;
    uint64_t seed = 1;
    double drainTimeoutSeconds = 300;
    uint32_t schedulerKills = 0;  // SIGKILLs of the scheduler, spread evenly over the tasks' completions
    double schedulerDownSeconds = 1;
    uint32_t partitions = 0;  // cuts of an adapter's host (the adapter and its workers) from the scheduler
    double longestCutSeconds = 8;
    std::string scalingPolicy = "capability";
    std::string binDir;
    std::string logDir;
};

// What happened to task i: bit 0-5 count of results (anything above 1 is a duplicate).
struct Ledger {
    explicit Ledger(uint64_t n) : results(n), wrong(0), failed(0), workerDied(0) {}
    std::vector<std::atomic<uint8_t>> results;
    std::atomic<uint64_t> wrong, failed, workerDied;
    std::mutex firstFailureMutex;
    std::string firstFailure;  // the first failed task's error: what a failed soak is asked first

    void noteFailure(const char* what) {
        std::lock_guard lock(firstFailureMutex);
        if (firstFailure.empty()) firstFailure = what;
    }
};

// The last `lines` lines of each log in `dir` whose name starts with `prefix` (a CI run keeps only stdout).
void printLogTails(const std::string& dir, const std::string& prefix, size_t lines) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(prefix, 0) != 0) continue;
        std::vector<std::string> tail;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) {
            tail.push_back(line);
            if (tail.size() > lines) tail.erase(tail.begin());
        }
        std::cout << "== " << name << (tail.empty() ? " (empty)" : "") << "\n";
        for (const std::string& line : tail) std::cout << line << "\n";
    }
}

// A failed soak's view of the scheduler process: whether it is alive, spinning (CPU time near the elapsed
// time) or blocked, and on what each thread waits, from /proc (no debugger needed on the CI machine).
std::string describeProcess(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    std::ifstream stat(dir + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return "process " + std::to_string(pid) + " is gone";
    // after "pid (comm) ": state is field 3, utime 14, stime 15 (clock ticks)
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    if (f.size() < 13) return "process " + std::to_string(pid) + ": unreadable /proc stat";
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    std::ostringstream out;
    out << "process " << pid << ": state " << f[0] << ", cpu user " << std::stod(f[11]) / tick
        << " s, system " << std::stod(f[12]) / tick << " s; threads:";
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator(dir + "/task", error)) {
        std::string comm, wchan, taskStat;
        std::getline(std::ifstream(task.path() / "comm"), comm);
        std::getline(std::ifstream(task.path() / "wchan"), wchan);
        std::getline(std::ifstream(task.path() / "stat"), taskStat);
        const size_t close = taskStat.rfind(')');
        const char state =
            close != std::string::npos && close + 2 < taskStat.size() ? taskStat[close + 2] : '?';
        out << " [" << comm << " " << state << " " << (wchan.empty() || wchan == "0" ? "running" : wchan)
            << "]";
    }
    return out.str();
}

uint64_t peakRssKb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string loggingLevel = "WARNING";
    CLI::App app{"scaler_soak: a long mixed workload with random worker kills and scaling; counts every task",
                 "scaler_soak"};
    app.add_option("--tasks", o.tasks, "Tasks to submit")
        ->check(CLI::Range(uint64_t{1}, uint64_t{100000000}))
        ->capture_default_str();
    app.add_option("--window", o.window, "Most tasks in flight at once")
        ->check(CLI::Range(uint64_t{1}, uint64_t{10000000}))
        ->capture_default_str();
    app.add_option("--waves", o.waves, "Submission waves, each followed by an idle pause")
        ->check(CLI::Range(1u, 10000u))
        ->capture_default_str();
    app.add_option("--pause-seconds", o.pauseSeconds, "Idle pause after each wave (lets groups stop)")
        ->check(scaler::nonNegativeNumber())
        ->capture_default_str();
    app.add_option("--kill-interval-seconds", o.killIntervalSeconds,
                   "SIGKILL a random worker this often; 0: never")
        ->check(scaler::nonNegativeNumber())
        ->capture_default_str();
    app.add_option("--cpu-groups", o.cpuGroups, "Most groups of the CPU adapter")
        ->check(CLI::Range(1u, 256u))
        ->capture_default_str();
    app.add_option("--workers-per-group", o.workersPerGroup, "Workers in each CPU group")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
    app.add_option("--gpu-groups", o.gpuGroups, "Most groups of the gpu adapter")
        ->check(CLI::Range(1u, 256u))
        ->capture_default_str();
    app.add_option("--seed", o.seed, "Random seed (workload and kills)")->capture_default_str();
    app.add_option("--drain-timeout-seconds", o.drainTimeoutSeconds,
                   "After the last submission, how long results may take")
        ->check(scaler::positiveNumber())
        ->capture_default_str();
    app.add_option(
           "--scheduler-kills", o.schedulerKills,
           "SIGKILL the scheduler this many times, evenly over the run, and start it again on the same "
           "address")
        ->check(CLI::Range(0u, 1000u))
        ->capture_default_str();
    app.add_option("--scheduler-down-seconds", o.schedulerDownSeconds,
                   "How long the scheduler stays dead before it is started again")
        ->check(scaler::nonNegativeNumber())
        ->capture_default_str();
    app.add_option(
           "--scaling-policy", o.scalingPolicy,
           "The scheduler's scaling policy, with optional parameters (\"predictive; profile=balanced\")")
        ->capture_default_str();
    app.add_option(
           "--partitions", o.partitions,
           "Cut an adapter's host (the adapter and the workers it started) from the scheduler this many "
           "times, "
           "at random over the run, for 0.5 s to --longest-cut-seconds each; a cut moves no byte and closes "
           "no socket (LinkCutRelay)")
        ->check(CLI::Range(0u, 100000u))
        ->capture_default_str();
    app.add_option("--longest-cut-seconds", o.longestCutSeconds, "The longest partition")
        ->check(scaler::positiveNumber())
        ->capture_default_str();
    app.add_option("--log-dir", o.logDir, "Where the cluster's logs go (default: a new directory in /tmp)");
    app.add_option("--logging-level", loggingLevel, "Logging level of the cluster's processes")
        ->capture_default_str();
    scaler::parseOrExit(app, argc, argv);
    o.binDir = scaler::tools::ownDirectory();
    if (o.logDir.empty()) {
        char pattern[] = "/tmp/scaler-soak-XXXXXX";
        o.logDir = mkdtemp(pattern);
    }

    const uint16_t port = scaler::tools::pickFreePortPair();
    const std::string address = "tcp://127.0.0.1:" + std::to_string(port);
    const std::string level = loggingLevel;
    // A short worker timeout so killed workers are noticed soon; a retry limit high enough that random
    // kills do not exhaust it (a task hit that often still fails cleanly with worker-died, not lost).
    const std::vector<std::string> schedulerArgs{o.binDir + "/scaler_scheduler",
                                                 address,
                                                 "--policy-content",
                                                 "allocate=capability; scaling=" + o.scalingPolicy,
                                                 "--worker-timeout-seconds",
                                                 "3",
                                                 "--max-task-retries",
                                                 "10",
                                                 "--logging-level",
                                                 level};
    auto scheduler = std::make_unique<ChildProcess>(schedulerArgs, o.logDir + "/scheduler.log");
    // a bad --scaling-policy (or any configuration error) ends the scheduler at once, exit code 2
    if (const int status = scheduler->waitExit(std::chrono::milliseconds(300)); status != -1) {
        std::string log = scheduler->log();
        while (!log.empty() && log.back() == '\n') log.pop_back();
        std::fprintf(stderr, "scaler_soak: error: the scheduler exited at start: %s\n",
                     log.substr(log.rfind('\n') + 1).c_str());
        return 2;
    }
    uint64_t schedulerPeakRssKb = 0;  // the largest of every scheduler process's
    // Each adapter host reaches the scheduler through a link that can be cut (its workers get the same
    // address from it, so a cut takes the whole host away).
    std::vector<std::unique_ptr<scaler::tools::LinkCutRelay>> links;
    const auto adapter = [&](const std::string& id, uint32_t groups, uint32_t perGroup,
                             const std::string& caps) {
        std::string through = address;
        if (o.partitions > 0) {
            links.push_back(std::make_unique<scaler::tools::LinkCutRelay>(port));
            through = "tcp://127.0.0.1:" + std::to_string(links.back()->port());
        }
        std::vector<std::string> args{o.binDir + "/scaler_worker_adapter_native",
                                      through,
                                      "--adapter-id",
                                      id,
                                      "--max-worker-groups",
                                      std::to_string(groups),
                                      "--workers-per-group",
                                      std::to_string(perGroup),
                                      "--heartbeat-interval-seconds",
                                      "0.5",
                                      "--shutdown-grace-seconds",
                                      "2",
                                      "--logging-level",
                                      level};
        if (!caps.empty()) args.insert(args.end(), {"--per-worker-capabilities", caps});
        return std::make_unique<ChildProcess>(args, o.logDir + "/adapter-" + id + ".log");
    };
    auto cpu = adapter("soak-cpu", o.cpuGroups, o.workersPerGroup, "");
    auto gpu = adapter("soak-gpu", o.gpuGroups, 1, "gpu");

    scaler::ClientOptions clientOptions;
    clientOptions.name = "soak";
    clientOptions.timeoutSeconds = 120;
    scaler::Client client(address, clientOptions);
    Ledger ledger(o.tasks);
    std::atomic<uint64_t> inFlight{0};
    std::atomic<bool> submitting{true};

    // The observer: records scaling events from every snapshot, and SIGKILLs a random live worker each
    // interval.
    std::atomic<uint64_t> kills{0};
    std::set<std::string> scalingEvents;  // "time action group", across snapshots; read after join
    std::thread observer([&] {
        std::mt19937_64 random(o.seed * 7919);
        scaler::MonitorSubscriber view("tcp://127.0.0.1:" + std::to_string(port + 2));
        auto nextKill = Clock::now() + std::chrono::seconds(2);
        while (submitting) {
            nlohmann::json snapshot;
            try {
                snapshot = view.latest(std::chrono::seconds(2));
            } catch (const std::exception&) {
                continue;
            }
            for (const auto& e : snapshot["scaling_events"]) {
                scalingEvents.insert(std::to_string(e["timestamp_ms"].get<uint64_t>()) + " " +
                                     e["action"].get<std::string>() + " " +
                                     e["worker_group_id"].get<std::string>());
            }
            const auto& workers = snapshot["workers"];
            if (o.killIntervalSeconds <= 0 || Clock::now() < nextKill || workers.empty()) continue;
            nextKill = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o.killIntervalSeconds));
            const auto pid = workers[random() % workers.size()]["pid"].get<pid_t>();
            if (pid > 0 && kill(pid, SIGKILL) == 0) ++kills;
        }
    });

    std::atomic<uint64_t> submittedCount{0};
    // The scheduler killer: the k-th SIGKILL once k/(kills+1) of the tasks are done; a new scheduler on the
    // same address after --scheduler-down-seconds. Clients, workers and adapters carry on with it.
    std::atomic<uint32_t> schedulerKillsDone{0};
    // The parent-death signal of a restarted scheduler follows the thread that forked it (this one): the
    // thread lives until the report is written, or the new scheduler would be killed when it returned.
    std::atomic<bool> killsEnded{false}, reported{false};
    const auto killAndRestartScheduler = [&] {
        for (uint32_t k = 1; k <= o.schedulerKills; ++k) {
            const uint64_t due = o.tasks * k / (o.schedulerKills + 1);
            while (submitting && submittedCount.load() - inFlight.load() < due) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!submitting) return;
            schedulerPeakRssKb = std::max(schedulerPeakRssKb, peakRssKb(scheduler->pid()));
            scheduler->signal(SIGKILL);
            scheduler->waitExit(std::chrono::seconds(10));
            std::this_thread::sleep_for(std::chrono::duration<double>(o.schedulerDownSeconds));
            scheduler = std::make_unique<ChildProcess>(schedulerArgs,
                                                       o.logDir + "/scheduler-" + std::to_string(k) + ".log");
            ++schedulerKillsDone;
        }
    };
    std::thread schedulerKiller([&] {
        killAndRestartScheduler();
        killsEnded = true;
        while (!reported) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    });

    // The partitioner: cuts spread evenly over the expected run, each of a random adapter host for a random
    // time. Runs until every cut is done or the submissions end.
    std::atomic<uint32_t> cutsDone{0};
    std::atomic<uint64_t> cutMilliseconds{0};
    std::thread partitioner([&] {
        std::mt19937_64 random(o.seed * 104729);
        for (uint32_t k = 1; k <= o.partitions && submitting; ++k) {
            const uint64_t due = o.tasks * k / (o.partitions + 1);
            while (submitting && submittedCount.load() - inFlight.load() < due) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!submitting) return;
            auto& link = *links[random() % links.size()];
            const double seconds =
                0.5 + std::uniform_real_distribution<double>(0, o.longestCutSeconds - 0.5)(random);
            link.cut();
            const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(seconds));
            while (submitting && Clock::now() < until)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            link.heal();
            cutMilliseconds += static_cast<uint64_t>(seconds * 1000);
            ++cutsDone;
        }
    });

    std::mt19937_64 random(o.seed);
    const auto start = Clock::now();
    uint64_t submitted = 0;
    const uint64_t perWave = (o.tasks + o.waves - 1) / o.waves;
    for (uint32_t wave = 0; wave < o.waves && submitted < o.tasks; ++wave) {
        const uint64_t waveEnd = std::min(o.tasks, submitted + perWave);
        for (; submitted < waveEnd; ++submitted) {
            while (inFlight.load() >= o.window) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            const uint64_t i = submitted;
            const uint64_t kind = random() % 1000;
            scaler::SubmitOptions options;
            if (kind % 20 == 0) options.capabilities = "gpu";  // 5% need the gpu adapter
            std::string function = "echo", payload = std::to_string(i), expect = payload;
            if (kind >= 990) {  // 1%: 10-50 ms
                function = "sleep_ms";
                payload = std::to_string(10 + random() % 41);
                expect = "";
            } else if (kind >= 900) {  // 9%: 1-5 ms
                function = "sleep_ms";
                payload = std::to_string(1 + random() % 5);
                expect = "";
            }
            ++inFlight;
            ++submittedCount;
            client.submit(function, payload, options).then([&, i, expect](const scaler::Future& done) {
                try {
                    const std::string result = done.get();
                    if (!expect.empty() && result != expect) ++ledger.wrong;
                } catch (const scaler::WorkerDiedError&) {
                    ++ledger.workerDied;
                } catch (const std::exception& e) {
                    ++ledger.failed;
                    ledger.noteFailure(e.what());
                }
                ++ledger.results[i];
                --inFlight;
            });
        }
        // let the wave drain, then idle so groups stop (scale-down) before the next wave scales up again
        while (inFlight.load() > 0 && Clock::now() - start < std::chrono::hours(24)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            if (submitted == o.tasks) break;
        }
        if (submitted < o.tasks) std::this_thread::sleep_for(std::chrono::duration<double>(o.pauseSeconds));
    }
    const auto drainDeadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(o.drainTimeoutSeconds));
    while (inFlight.load() > 0 && Clock::now() < drainDeadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    submitting = false;
    observer.join();
    while (!killsEnded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    partitioner.join();
    for (auto& link : links) link->heal();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    uint64_t completed = 0, lost = 0, duplicated = client.unmatchedResults();
    for (auto& r : ledger.results) {
        const uint8_t n = r.load();
        if (n == 0) ++lost;
        if (n >= 1) ++completed;
        if (n > 1) duplicated += n - 1;
    }
    uint64_t starts = 0, stops = 0;
    for (const auto& e : scalingEvents) {
        starts += e.find(" start ") != std::string::npos;
        stops += e.find(" shutdown ") != std::string::npos;
    }
    const uint64_t rssKb = std::max(schedulerPeakRssKb, peakRssKb(scheduler->pid()));
    const uint64_t succeeded = completed - ledger.failed - ledger.workerDied;
    std::cout << "submitted " << submitted << "\n"
              << "completed " << completed << " (succeeded " << succeeded << ", failed "
              << ledger.failed.load() << ", worker-died after the retry limit " << ledger.workerDied.load()
              << ")\n"
              << "lost " << lost << "\n"
              << "duplicated " << duplicated << "\n"
              << "wrong results " << ledger.wrong.load() << "\n"
              << "workers killed " << kills.load() << "\n"
              << "scheduler killed and restarted " << schedulerKillsDone.load() << "\n"
              << "adapter hosts cut " << cutsDone.load() << " times, " << cutMilliseconds.load() / 1000.0
              << " s in all\n"
              << "worker groups started " << starts << ", stopped " << stops << "\n"
              << "scheduler peak RSS " << rssKb / 1024.0 << " MiB\n"
              << "elapsed " << seconds << " s (" << static_cast<uint64_t>(submitted / seconds)
              << " tasks/s)\n"
              << "logs in " << o.logDir << "\n";
    const bool ok = lost == 0 && duplicated == 0 && ledger.wrong == 0 && ledger.failed == 0 &&
                    completed == o.tasks && schedulerKillsDone.load() == o.schedulerKills &&
                    cutsDone.load() == o.partitions;
    if (!ok) {
        if (!ledger.firstFailure.empty()) std::cout << "first failure: " << ledger.firstFailure << "\n";
        std::cout << "scheduler " << describeProcess(scheduler->pid()) << "\n";
        printLogTails(o.logDir, "scheduler", 5);
    }
    std::cout << (ok ? "soak passed" : "soak FAILED") << std::endl;
    reported = true;
    schedulerKiller.join();
    client.disconnect();
    return ok ? 0 : 1;
}
