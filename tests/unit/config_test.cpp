#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "scaler/scheduler/config/scheduler_config.h"

namespace {

scaler::scheduler::SchedulerConfig parse(std::vector<std::string> args) {
    scaler::scheduler::SchedulerConfig config;
    CLI::App app;
    scaler::scheduler::addSchedulerOptions(app, config);
    std::vector<const char*> argv{"scaler_scheduler"};
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    scaler::scheduler::finishSchedulerConfig(config);
    return config;
}

std::string writeToml(const std::string& text) {
    // one file per test: ctest runs tests in parallel processes
    const std::string path = ::testing::TempDir() + "/scheduler_config_" +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST(SchedulerConfig, DefaultsMatchTheReference) {
    const auto c = parse({"tcp://127.0.0.1:9000"});
    EXPECT_EQ(c.workerTimeoutSeconds,
              10);  // the reference waits 60 s; a closed connection is noticed at once
    EXPECT_EQ(c.clientTimeoutSeconds, 60);
    EXPECT_FALSE(c.protectedMode);
    EXPECT_EQ(c.policy.allocate, "even_load");
    EXPECT_EQ(c.monitorAddress, "tcp://127.0.0.1:9002");
}

TEST(SchedulerConfig, CommandLineOverTomlOverDefaults) {
    const std::string toml = writeToml(
        "[scheduler]\nworker_timeout_seconds = 7\nclient-timeout-seconds = 8\nprotected = true\n"
        "policy_content = \"allocate=capability; scaling=no\"\n[worker]\nunrelated = 1\n");
    const auto c = parse({"tcp://127.0.0.1:9000", "--config", toml, "--worker-timeout-seconds", "3"});
    EXPECT_EQ(c.workerTimeoutSeconds, 3);  // command line wins
    EXPECT_EQ(c.clientTimeoutSeconds, 8);  // from TOML
    EXPECT_TRUE(c.protectedMode);
    EXPECT_EQ(c.policy.allocate, "capability");
    EXPECT_EQ(c.loadBalanceSeconds, 1);  // default
}

TEST(SchedulerConfig, AddressMayComeFromToml) {
    const std::string toml = writeToml("[scheduler]\naddress = \"tcp://127.0.0.1:9100\"\n");
    EXPECT_EQ(parse({"--config", toml}).address, "tcp://127.0.0.1:9100");
}

TEST(SchedulerConfig, UnknownTomlKeyIsAnError) {
    const std::string toml = writeToml("[scheduler]\nworker_timeout = 7\n");
    EXPECT_THROW(parse({"tcp://127.0.0.1:9000", "--config", toml}), CLI::ConfigError);
}

TEST(SchedulerConfig, BadValuesAreErrors) {
    EXPECT_THROW(parse({"tcp://127.0.0.1:9000", "--worker-timeout-seconds", "0"}), CLI::ValidationError);
    EXPECT_THROW(parse({"127.0.0.1:9000"}), std::invalid_argument);
    EXPECT_THROW(parse({"tcp://127.0.0.1:9000", "--policy-content", "allocate=x; scaling=no"}),
                 std::invalid_argument);
    EXPECT_THROW(
        parse({"tcp://127.0.0.1:9000", "--policy-content", "allocate=capability; scaling=no; colour=red"}),
        std::invalid_argument);
}

TEST(SchedulerConfig, ScalingSchedulesFromTomlArrayOrRepeatedFlags) {
    const std::string toml = writeToml(
        "[scheduler]\nscaling_schedule = [\"cron=* 8-17 * * mon-fri; adapter=cpu; min_groups=4\", "
        "\"cron=* 0-5 * * *; max_groups=1; timezone=utc\"]\n");
    const auto fromToml = parse({"tcp://127.0.0.1:9000", "--config", toml});
    ASSERT_EQ(fromToml.scheduleRules.size(), 2u);
    EXPECT_EQ(fromToml.scheduleRules[0].adapter, "cpu");
    EXPECT_TRUE(fromToml.scheduleRules[1].utc);
    const auto fromFlags = parse({"--scaling-schedule", "cron=* * * * *; min_groups=1", "--scaling-schedule",
                                  "cron=0 * * * *; max_groups=2", "tcp://127.0.0.1:9000"});
    EXPECT_EQ(fromFlags.scheduleRules.size(), 2u);
    EXPECT_EQ(fromFlags.address, "tcp://127.0.0.1:9000");
    EXPECT_THROW(parse({"tcp://127.0.0.1:9000", "--scaling-schedule", "cron=* * * *; min_groups=1"}),
                 std::invalid_argument);
}

TEST(SchedulerConfig, AMisspeltTomlSectionIsAnErrorNamingIt) {
    const std::string toml = writeToml("[schedular]\nworker_timeout_seconds = 7\n");
    try {
        parse({"tcp://127.0.0.1:9000", "--config", toml});
        FAIL() << "a misspelt section was ignored";
    } catch (const CLI::ConversionError& e) {
        EXPECT_NE(std::string(e.what()).find("unknown section [schedular]"), std::string::npos) << e.what();
    }
    // another program's section in a shared file is fine
    const std::string shared = writeToml("[scheduler]\nprotected = true\n[native_worker_adapter]\nx = 1\n");
    EXPECT_TRUE(parse({"tcp://127.0.0.1:9000", "--config", shared}).protectedMode);
}

TEST(SchedulerConfig, ARepeatedPolicyKeyIsAnErrorNamingIt) {
    try {
        parse(
            {"tcp://127.0.0.1:9000", "--policy-content", "allocate=capability; scaling=vanilla; scaling=no"});
        FAIL() << "a repeated key was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'scaling=no' repeats key 'scaling'"), std::string::npos)
            << e.what();
    }
}

TEST(SchedulerConfig, BindAddressesAreCheckedAndPortZeroPicksBoth) {
    EXPECT_EQ(parse({"tcp://localhost:9000"}).address, "tcp://127.0.0.1:9000");
    EXPECT_THROW(parse({"tcp://256.1.1.1:9000"}), std::invalid_argument);
    EXPECT_THROW(parse({"tcp://no-such-interface-9:9000"}), std::invalid_argument);
    const auto any = parse({"tcp://127.0.0.1:0"});
    EXPECT_EQ(any.monitorAddress, "tcp://127.0.0.1:0");  // the monitor gets a free port of its own
}

TEST(SchedulerConfig, OpenAddressesNeedCurveOrAnExplicitFlag) {
    try {
        parse({"tcp://0.0.0.0:9000"});
        FAIL() << "an open port without CURVE was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(
            std::string(e.what()).find("refusing to listen on tcp://0.0.0.0:9000, tcp://0.0.0.0:9002 without "
                                       "CURVE"),
            std::string::npos)
            << e.what();
    }
    EXPECT_THROW(parse({"tcp://127.0.0.1:9000", "--metrics-address", "0.0.0.0:9100"}), std::invalid_argument);
    EXPECT_THROW(parse({"tcp://127.0.0.1:9000", "--monitor-address", "tcp://*:9100"}), std::invalid_argument);
    EXPECT_TRUE(parse({"tcp://0.0.0.0:9000", "--allow-unauthenticated"}).allowUnauthenticated);
    EXPECT_NO_THROW(parse({"ipc:///tmp/scaler-config-test.sock"}));  // a local socket file is not open
}

TEST(SchedulerConfig, ARemoteMetricsAddressNeedsItsOwnFlagEvenWithCurve) {
    // --allow-unauthenticated stands in for CURVE on the ZeroMQ ports; neither protects the HTTP endpoint
    try {
        parse({"tcp://0.0.0.0:9000", "--allow-unauthenticated", "--metrics-address", "0.0.0.0:9100"});
        FAIL() << "remote metrics without --metrics-allow-remote";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("--metrics-allow-remote"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(parse({"tcp://0.0.0.0:9000", "--allow-unauthenticated", "--metrics-address", "0.0.0.0:9100",
                       "--metrics-allow-remote"})
                    .metricsAllowRemote);
    EXPECT_NO_THROW(parse({"tcp://127.0.0.1:9000", "--metrics-address", "127.0.0.1:9100"}));
}
