// The binaries' command lines: bad input exits 2 with one line naming the bad value.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "test_cluster.h"

using namespace scaler::testing;

namespace {

struct ProgramRun {
    int exitCode;
    std::string output;
};

ProgramRun run(std::vector<std::string> args) {
    const std::string log = tempDir() + "/out.log";
    ChildProcess process(std::move(args), log);
    const int status = process.waitExit(std::chrono::seconds(60));
    return {status == -1 ? -1 : WEXITSTATUS(status), process.log()};
}

}  // namespace

TEST(CommandLine, BadFlagsExitTwoNamingTheValue) {
    const std::string address = "tcp://127.0.0.1:" + std::to_string(pickFreePortPair());
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{binary("scaler_scheduler"), address, "--policy-content", "allocate=best; scaling=no"}, "'best'"},
        {{binary("scaler_scheduler"), address, "--policy-content", "allocate=capability; scaling=wild"},
         "'wild'"},
        {{binary("scaler_scheduler"), address, "--policy-content", "allocate=capability; scaling=no; x=1"},
         "'x'"},
        {{binary("scaler_scheduler"), address, "--worker-timeout-seconds", "-5"}, "'-5'"},
        {{binary("scaler_scheduler"), "localhost:1234"}, "localhost:1234"},
        {{binary("scaler_scheduler"), address, "--no-such-flag"}, "--no-such-flag"},
        {{binary("scaler_scheduler"), address, "--metrics-address", "localhost:http"}, "'localhost:http'"},
        {{binary("scaler_scheduler"), address, "--curve-client-keys", "/etc/hostname"},
         "--curve-secret-key-file"},
        {{binary("scaler_worker"), address, "--per-worker-capabilities", "gpu=lots"}, "'lots'"},
        {{binary("scaler_scheduler"), address, "--logging-level", "scaling=loud"}, "'scaling=loud'"},
        {{binary("scaler_scheduler"), "tcp://0.0.0.0:" + address.substr(address.rfind(':') + 1)},
         "without CURVE"},
        {{binary("scaler_worker"), address, "--logging-level", "schedling=debug"}, "'schedling'"},
        {{binary("scaler_worker"), address, "--per-worker-task-queue-size", "0"}, "0"},
        {{binary("scaler_worker"), address, "--load", "/nonexistent/plugin.so"}, "/nonexistent/plugin.so"},
        {{binary("scaler_worker"), address, "--exit-when-fd-closes", "999"}, "--exit-when-fd-closes 999"},
        {{binary("scaler_scheduler"), address, "--exit-when-fd-closes", "998"}, "--exit-when-fd-closes 998"},
        {{binary("scaler_submit"), address}, "--function"},
        {{binary("scaler_submit"), address, "-f", "echo", "--capabilities", "a=b"}, "'b'"},
        {{binary("scaler_top"), "nonsense"}, "nonsense"},
        {{binary("scaler_worker_adapter_native"), address, "--per-worker-capabilities", "gpu=many"},
         "'many'"},
        {{binary("scaler_worker_adapter_native"), address, "--max-worker-groups", "0"}, "0"},
        {{binary("scaler_worker_adapter_native"), address, "--billing", "per-minute"}, "'per-minute'"},
        {{binary("scaler_worker_adapter_native"), address, "--billing", "per-second:price=free"}, "'free'"},
        {{binary("scaler_worker_adapter_native"), address, "--worker-binary", "/nonexistent/worker"},
         "/nonexistent/worker"},
        {{binary("scaler_scheduler"), address, "--policy-content",
          "allocate=capability; scaling=vanilla; upper_task_ratio=x"},
         "'x'"},
        {{binary("scaler_worker_adapter_container"), address, "--docker-host", "ssh://box"}, "ssh://box"},
        {{binary("scaler_worker_adapter_container"), address, "--memory", "lots"}, "'lots'"},
        {{binary("scaler_worker_adapter_container"), address, "--env", "NOVALUE"}, "'NOVALUE'"},
        {{binary("scaler_worker_adapter_container"), address, "--leftover-containers", "keep"}, "keep"},
        {{binary("scaler_worker_group"), "--worker-id-prefix", "w", "--count", "0", "--", address}, "0"},
        {{binary("scaler_worker_adapter_ecs"), address, "--ecs-subnets", "s-1"}, "AWS_ACCESS_KEY_ID"},
        {{binary("scaler_worker_adapter_ecs"), address, "--aws-access-key-id", "A", "--aws-secret-access-key",
          "S"},
         "--ecs-subnets"},
        {{binary("scaler_worker_adapter_ecs"), address, "--aws-access-key-id", "A", "--aws-secret-access-key",
          "S", "--ecs-subnets", "s-1", "--adapter-id", "bad id"},
         "'bad id'"},
        {{binary("scaler_worker_adapter_ecs"), address, "--ecs-launch-type", "LAMBDA"}, "LAMBDA"},
        {{binary("scaler_worker_adapter_ecs"), address, "--aws-access-key-id", "A", "--aws-secret-access-key",
          "S", "--ecs-subnets", "s1,s2,s3,s4,s5,s6,s7,s8,s9,s10,s11,s12,s13,s14,s15,s16,s17"},
         "17 subnets given, ECS takes at most 16"},
        {{binary("scaler_worker_adapter_ecs"), address, "--aws-access-key-id", "A", "--aws-secret-access-key",
          "S", "--ecs-subnets", "s1", "--ecs-security-groups", "g1,g2,g3,g4,g5,g6"},
         "6 security groups given, ECS takes at most 5"},
        {{binary("scaler_worker_group"), "--worker-id-prefix", "w", "--worker-binary", "/nonexistent/w", "--",
          address},
         "/nonexistent/w"},
        {{binary("scaler_scaling_sim"), "--policies", "bogus"}, "'bogus'"},
        {{binary("scaler_scaling_sim"), "--workloads", "nope"}, "nope"},
        {{binary("scaler_scaling_sim"), "--billing", "ecs=per-minute"}, "'per-minute' is not a billing unit"},
        {{binary("scaler_scaling_sim"), "--billing", "spot=per-second"}, "'spot=per-second'"},
        {{binary("scaler_scaling_replay"), "--policy", "capability; nope=1"}, "'nope'"},
        {{binary("scaler_scaling_replay"), "--log-dir", "/proc/no/such"}, "/proc/no/such"},
        {{binary("scaler_soak"), "--scaling-policy", "bogus"}, "'bogus'"},
    };
    for (const auto& [args, expected] : cases) {
        const ProgramRun r = run(args);
        EXPECT_EQ(r.exitCode, 2) << args[0] << " " << args.back() << ": " << r.output;
        EXPECT_NE(r.output.find(expected), std::string::npos)
            << "expected '" << expected << "' in: " << r.output;
    }
}

TEST(CommandLine, HelpExitsZero) {
    for (const char* name :
         {"scaler_scheduler", "scaler_worker", "scaler_submit", "scaler_top", "scaler_worker_adapter_native",
          "scaler_worker_adapter_container", "scaler_worker_adapter_ecs", "scaler_worker_group",
          "scaler_scaling_sim", "scaler_scaling_replay", "scaler_soak"}) {
        const ProgramRun r = run({binary(name), "--help"});
        EXPECT_EQ(r.exitCode, 0) << name;
        EXPECT_NE(r.output.find("Usage"), std::string::npos) << name;
    }
}

TEST(CommandLine, SubmitPrintsAJsonSummaryAndExitCodes) {
    TestCluster cluster;
    cluster.addWorker({"--allow-exec"});
    ProgramRun ok = run(
        {binary("scaler_submit"), cluster.address(), "-f", "echo", "--payload", "x", "-n", "50", "--json"});
    EXPECT_EQ(ok.exitCode, 0) << ok.output;
    const auto summary = nlohmann::json::parse(ok.output.substr(ok.output.find('{')));
    EXPECT_EQ(summary["submitted"], 50);
    EXPECT_EQ(summary["succeeded"], 50);
    EXPECT_EQ(summary["failed"], 0);
    EXPECT_TRUE(summary.contains("seconds"));
    ProgramRun failed = run({binary("scaler_submit"), cluster.address(), "-f", "fail", "-n", "2", "--json"});
    EXPECT_EQ(failed.exitCode, 1);
    ProgramRun exec =
        run({binary("scaler_submit"), cluster.address(), "--exec", "--", "sh", "-c", "echo hi; exit 3"});
    EXPECT_EQ(exec.exitCode, 1);
    EXPECT_NE(exec.output.find("hi"), std::string::npos);
    EXPECT_NE(exec.output.find("exit code 3"), std::string::npos);
}

TEST(CommandLine, TopOnceJsonPrintsASnapshotOrFailsClearly) {
    TestCluster cluster;
    cluster.addWorker({"--per-worker-capabilities", "linux"});
    ASSERT_TRUE(cluster.waitForWorkers(1));
    ProgramRun r = run({binary("scaler_top"), cluster.monitorAddress(), "--once", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.output;
    const auto snapshot = nlohmann::json::parse(r.output);
    for (const char* key : {"tasks", "workers", "adapters", "worker_groups", "scaling_events"}) {
        EXPECT_TRUE(snapshot.contains(key)) << key;
    }
    EXPECT_EQ(snapshot["workers"][0]["capabilities"], "linux");
    ProgramRun none = run({binary("scaler_top"), "tcp://127.0.0.1:" + std::to_string(pickFreePortPair()),
                           "--once", "--json", "--timeout", "0.5"});
    EXPECT_EQ(none.exitCode, 1);
    EXPECT_NE(none.output.find("no snapshot"), std::string::npos);
}

TEST(CommandLine, WorkerGroupRunsNamedWorkersAndStopsThemOnSigterm) {
    TestCluster cluster;
    ChildProcess group({binary("scaler_worker_group"), "--count", "3", "--worker-id-prefix", "Worker|grp|",
                        "--", cluster.address(), "--heartbeat-interval-seconds", "0.5"},
                       tempDir() + "/group.log");
    ASSERT_TRUE(cluster.waitForWorkers(3)) << group.log();
    const auto snapshot = cluster.snapshot();
    std::set<std::string> ids;
    for (const auto& w : snapshot["workers"]) ids.insert(w["id"].get<std::string>());
    EXPECT_EQ(ids, (std::set<std::string>{"Worker|grp|0", "Worker|grp|1", "Worker|grp|2"}));
    group.signal(SIGTERM);
    const int status = group.waitExit(std::chrono::seconds(20));
    ASSERT_NE(status, -1) << group.log();
    EXPECT_EQ(WEXITSTATUS(status), 0) << group.log();
    EXPECT_TRUE(waitUntil([&] { return cluster.snapshot()["workers"].empty(); }));
}

TEST(CommandLine, LoggingLevelsApplyPerComponent) {
    TestCluster cluster({"--logging-level", "warning,tasks=info"});
    cluster.addWorker();
    ASSERT_TRUE(cluster.waitForWorkers(1));
    ASSERT_TRUE(waitUntil(
        [&] { return cluster.scheduler().log().find("connected: capabilities") != std::string::npos; }, 10s));
    const std::string log = cluster.scheduler().log();
    EXPECT_NE(log.find("[scheduler/tasks] worker '"), std::string::npos) << log;
    // the process component stays at warning: its start-up line is not written
    EXPECT_EQ(log.find("scheduler listening on"), std::string::npos) << log;
}

TEST(CommandLine, SubmitTakesItsPayloadFromAFileOrStandardInput) {
    TestCluster cluster;
    cluster.addWorker();
    const std::string file = tempDir() + "/payload.bin";
    std::string big(10u << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
    std::ofstream(file, std::ios::binary) << big;
    ProgramRun fromFile = run({binary("scaler_submit"), cluster.address(), "-f", "echo", "--payload-file",
                               file, "--json", "--profile"});
    EXPECT_EQ(fromFile.exitCode, 0) << fromFile.output;
    const auto summary = nlohmann::json::parse(fromFile.output.substr(fromFile.output.find('{')));
    EXPECT_EQ(summary["succeeded"], 1);
    EXPECT_GT(summary["profile"]["peak_rss_bytes_max"].get<uint64_t>(),
              10u << 20);  // the payload was in memory
    ProgramRun fromStdin = run({"/bin/sh", "-c",
                                "printf 'from stdin' | '" + binary("scaler_submit") + "' " +
                                    cluster.address() + " -f echo --payload-file -"});
    EXPECT_EQ(fromStdin.exitCode, 0) << fromStdin.output;
    EXPECT_NE(fromStdin.output.find("from stdin"), std::string::npos) << fromStdin.output;
    ProgramRun missing = run(
        {binary("scaler_submit"), cluster.address(), "-f", "echo", "--payload-file", "/nonexistent/payload"});
    EXPECT_EQ(missing.exitCode, 2);
    EXPECT_NE(missing.output.find("'/nonexistent/payload'"), std::string::npos) << missing.output;
}

TEST(CommandLine, SubmitSendsAPayloadFileLargerThanOneMessageAndGetsItBackWhole) {
    // mapped and sent as an object; the result comes back in parts
    TestCluster cluster({"--max-message-bytes", "1048576"});
    cluster.addWorker();
    const std::string file = tempDir() + "/large-payload.bin";
    std::string big(6u << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i * 7 % 26);
    std::ofstream(file, std::ios::binary) << big;
    ProgramRun echoed =
        run({binary("scaler_submit"), cluster.address(), "-f", "echo", "--payload-file", file});
    EXPECT_EQ(echoed.exitCode, 0) << echoed.output.substr(0, 2000);
    EXPECT_NE(echoed.output.find(big + "\n"), std::string::npos) << echoed.output.size();
    ProgramRun three = run({binary("scaler_submit"), cluster.address(), "-f", "echo", "--payload-file", file,
                            "-n", "3", "--json"});
    EXPECT_EQ(three.exitCode, 0) << three.output;
    EXPECT_NE(three.output.find("\"succeeded\":3"), std::string::npos) << three.output;
}

TEST(CommandLine, SubmitSummarisesRejectedTasksInOneLine) {
    TestCluster cluster({"--max-number-of-tasks-waiting", "10"});  // and no worker: the rest are rejected
    ProgramRun full =
        run({binary("scaler_submit"), cluster.address(), "-f", "echo", "-n", "500", "--timeout", "1"});
    EXPECT_EQ(full.exitCode, 1);
    size_t rejectedLines = 0;
    for (size_t at = full.output.find("rejected"); at != std::string::npos;
         at = full.output.find("rejected", at + 1))
        ++rejectedLines;
    EXPECT_EQ(rejectedLines, 1u) << full.output;
    EXPECT_NE(full.output.find("490 tasks rejected: scheduler queue is full"), std::string::npos)
        << full.output;
}

TEST(CommandLine, PortZeroBindsFreePortsAndSaysWhich) {
    ChildProcess scheduler({binary("scaler_scheduler"), "tcp://127.0.0.1:0"}, tempDir() + "/port0.log");
    ASSERT_TRUE(
        waitUntil([&] { return scheduler.log().find("scheduler listening on") != std::string::npos; }, 10s))
        << scheduler.log();
    const std::string log = scheduler.log();
    EXPECT_EQ(log.find("127.0.0.1:0,"), std::string::npos) << log;
    EXPECT_EQ(log.find("monitor on tcp://127.0.0.1:2,"), std::string::npos) << log;
    EXPECT_NE(log.find("monitor on tcp://127.0.0.1:"), std::string::npos) << log;
}

TEST(CommandLine, AClashingPortSaysWhichAddressCouldNotBeBound) {
    TestCluster cluster;
    (void)cluster.snapshot();  // it is up: both of its ports are bound
    ProgramRun main = run({binary("scaler_scheduler"), cluster.address()});
    EXPECT_EQ(main.exitCode, 1);
    EXPECT_NE(main.output.find("cannot bind the scheduler address " + cluster.address()), std::string::npos)
        << main.output;
    const std::string free = "tcp://127.0.0.1:" + std::to_string(pickFreePortPair());
    ProgramRun monitor = run({binary("scaler_scheduler"), free, "--monitor-address", cluster.address()});
    EXPECT_EQ(monitor.exitCode, 1);
    EXPECT_NE(monitor.output.find("cannot bind the monitor address " + cluster.address()), std::string::npos)
        << monitor.output;
    ProgramRun unknownHost = run({binary("scaler_scheduler"), "tcp://256.1.1.1:9000"});
    EXPECT_EQ(unknownHost.exitCode, 2);
    EXPECT_NE(unknownHost.output.find("'256.1.1.1' is not an IP address"), std::string::npos)
        << unknownHost.output;
}

TEST(CommandLine, KeygenMakesTheDirectoryItIsGiven) {
    const std::string dir = tempDir() + "/keys/clients";
    ProgramRun keygen = run({binary("scaler_keygen"), "alice", "-o", dir});
    EXPECT_EQ(keygen.exitCode, 0) << keygen.output;
    EXPECT_TRUE(std::filesystem::exists(dir + "/alice.key"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/alice.pub"));
    EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_all);
}

TEST(CommandLine, AnOpenSchedulerWithoutCurveStartsOnlyWhenToldAndWarns) {
    const std::string port = std::to_string(pickFreePortPair());
    ChildProcess open({binary("scaler_scheduler"), "tcp://0.0.0.0:" + port, "--allow-unauthenticated"},
                      tempDir() + "/open.log");
    ASSERT_TRUE(
        waitUntil([&] { return open.log().find("listening without CURVE") != std::string::npos; }, 10s))
        << open.log();
    EXPECT_TRUE(open.running());
}
