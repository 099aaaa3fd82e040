#include "scaler/scheduler/config/scheduler_config.h"

#include <algorithm>
#include <limits>
#include <random>

#include "scaler/common/command_line.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/process_resources.h"
#include "scaler/scheduler/scaling/scaling_policy.h"

namespace scaler::scheduler {

namespace {
// What one unfinished task costs the scheduler beyond its bytes (its record, indexes and queue links, with
// room to spare), for the default --max-queued-tasks.
constexpr uint64_t kQueuedTaskBytes = 512;

// What it listens on and who may reach it.
void addListeningOptions(CLI::App& app, SchedulerConfig& config) {
    app.add_option("address", config.address, "Address to listen on, e.g. tcp://127.0.0.1:8516")->required();
    app.add_option(
        "--monitor-address", config.monitorAddress,
        "Monitor PUB address (default: scheduler port + 2; any free port when the scheduler's is 0)");
    app.add_flag("--protected,-p", config.protectedMode, "Refuse clients' shutdown requests");
    app.add_flag(
        "--allow-unauthenticated", config.allowUnauthenticated,
        "Listen on a non-loopback address (scheduler, monitor or metrics) without CURVE. Anyone who can "
        "reach the port can then submit tasks, register workers and run commands on them; without this "
        "flag such a scheduler refuses to start");
    app.add_flag(
        "--metrics-allow-remote", config.metricsAllowRemote,
        "Serve --metrics-address on a non-loopback address: the endpoint has no authentication, CURVE "
        "or not");
}

// Timeouts, periods and limits.
void addTimingAndLimitOptions(CLI::App& app, SchedulerConfig& config) {
    app.add_option("--client-timeout-seconds", config.clientTimeoutSeconds,
                   "Drop a client silent this long and cancel its tasks")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option(
           "--worker-timeout-seconds", config.workerTimeoutSeconds,
           "Drop a worker silent this long (frozen, or unreachable with its connection still open) and "
           "re-queue its tasks; a worker whose connection closes is dropped at once")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--worker-adapter-timeout-seconds", config.workerAdapterTimeoutSeconds,
                   "Drop a worker adapter silent this long (its groups come back with its next heartbeat)")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--scaling-interval-seconds", config.scalingIntervalSeconds,
                   "How often the scaling policy is evaluated")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--load-balance-seconds", config.loadBalanceSeconds,
                   "Balancing period; 0 or less disables balancing")
        ->capture_default_str();
    app.add_option("--load-balance-trigger-times", config.loadBalanceTriggerTimes,
                   "Balance only after this many consecutive periods found work to move")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--max-task-retries", config.maxTaskRetries,
                   "A task whose worker died this many times fails with a worker-died error")
        ->check(CLI::Range(1, 255))
        ->capture_default_str();
    app.add_option("--max-number-of-tasks-waiting", config.maxNumberOfTasksWaiting,
                   "Reject new tasks while this many are queued; -1: no limit")
        ->check(CLI::Range(int64_t{-1}, INT64_MAX))
        ->capture_default_str();
    app.add_option(
           "--max-queued-tasks", config.maxQueuedTasks,
           "Unfinished client tasks the scheduler holds; each client may have its share (this over the "
           "clients connected + 1) and waits to submit more; past the limit a task is rejected. "
           "Default: a quarter of the machine's memory at 512 bytes a task")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
    app.add_option("--max-queued-bytes", config.maxQueuedBytes,
                   "Bytes those tasks may carry (payloads and arguments), shared the same way, e.g. 4GiB. "
                   "Default: a quarter of the machine's memory")
        ->transform(CLI::AsSizeValue(false))
        ->check(CLI::PositiveNumber);
    app.add_option("--max-message-bytes", config.maxMessageBytes, "Drop larger messages")
        ->check(CLI::Range(size_t{1024}, size_t{1} << 31))
        ->capture_default_str();
    app.add_option(
           "--object-memory-limit", config.objectMemoryLimit,
           "Bytes the object store may hold (shared objects, kept results, graph results), e.g. 8GiB; "
           "an object past it is refused at the client. Default: half the machine's memory")
        ->transform(CLI::AsSizeValue(false));
}

// Policies, schedules, metrics and CURVE keys.
void addPolicyAndSecurityOptions(CLI::App& app, SchedulerConfig& config) {
    app.add_option(
           "--policy-content", config.policyContentText,
           "Policies, e.g. \"allocate=capability; scaling=capability; upper_task_ratio=8\"; allocate: "
           "even_load|capability; scaling: no|vanilla|capability|fixed_elastic|predictive (docs/scaling.md)")
        ->capture_default_str();
    app.add_option(
           "--scaling-schedule", config.scalingSchedule,
           "A scheduled floor or ceiling, repeatable (TOML: an array of strings), e.g. \"cron=* 8-17 * * "
           "mon-fri; adapter=cpu; min_groups=4\"; keys cron, adapter, min_groups, max_groups, "
           "timezone=local|utc (docs/scaling.md#schedules)")
        ->allow_extra_args(false);  // one rule per flag: a following positional address is not a rule
    app.add_option(
        "--metrics-address", config.metricsAddress,
        "Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. 127.0.0.1:9316 (port 0: any free)");
    app.add_option("--curve-secret-key-file", config.curveSecretKeyFile,
                   "Turns on CURVE encryption and authentication with this secret key (scaler_keygen)")
        ->check(CLI::ExistingFile);
    app.add_option(
        "--curve-client-keys", config.curveClientKeys,
        "Public keys allowed to act as clients (and to read the monitor): a file, one key a line, or "
        "a directory of .pub files");
    app.add_option("--curve-worker-keys", config.curveWorkerKeys, "Public keys allowed to act as workers");
    app.add_option("--curve-adapter-keys", config.curveAdapterKeys,
                   "Public keys allowed to act as worker adapters");
}
}  // namespace

void addSchedulerOptions(CLI::App& app, SchedulerConfig& config) {
    addCommonOptions(app, "scheduler", config.loggingLevel);
    addListeningOptions(app, config);
    addTimingAndLimitOptions(app, config);
    addPolicyAndSecurityOptions(app, config);
}

namespace {
void loadCurve(SchedulerConfig& config) {
    const bool anyList = !config.curveClientKeys.empty() || !config.curveWorkerKeys.empty() ||
                         !config.curveAdapterKeys.empty();
    if (config.curveSecretKeyFile.empty()) {
        if (anyList) throw std::invalid_argument("CURVE allow-lists need --curve-secret-key-file");
        return;
    }
    if (!anyList) {
        throw std::invalid_argument(
            "--curve-secret-key-file needs at least one of --curve-client-keys, --curve-worker-keys, "
            "--curve-adapter-keys");
    }
    config.curveSecretKey = readCurveSecretKeyFile(config.curveSecretKeyFile).secretKey;
    auto& main = config.curveAllowLists[kSchedulerZapDomain];
    auto& monitor = config.curveAllowLists[kMonitorZapDomain];
    for (const auto& [path, role] : {std::pair{config.curveClientKeys, "client"},
                                     {config.curveWorkerKeys, "worker"},
                                     {config.curveAdapterKeys, "adapter"}}) {
        if (path.empty()) continue;
        for (const auto& key : readCurveAllowList(path)) {
            const auto [it, added] = main.emplace(key, role);
            if (!added && it->second != role) {
                throw std::invalid_argument("CURVE key " + key + " is on both the " + it->second +
                                            " and the " + role + " allow-list; give each role its own keys");
            }
            if (std::string(role) == "client") monitor.emplace(key, role);
        }
    }
}

// Secure by default: open ports beyond this host only with CURVE, or when the operator says so.
void refuseOpenUnauthenticated(const SchedulerConfig& config) {
    // CURVE protects the ZeroMQ ports, not the HTTP endpoint: anyone who reaches it reads every figure
    if (!config.metricsAddress.empty() && !isLoopbackHost(config.metricsHost) && !config.metricsAllowRemote) {
        throw std::invalid_argument(
            "refusing to serve metrics on " + config.metricsAddress +
            ": the endpoint has no authentication (CURVE does not cover it), so anyone "
            "who can reach it reads every figure; serve it on 127.0.0.1 (scrape through "
            "a tunnel or a local agent) or pass --metrics-allow-remote");
    }
    if (config.curveEnabled() || config.allowUnauthenticated) return;
    std::vector<std::string> open;
    for (const std::string* text : {&config.address, &config.monitorAddress}) {
        const Address a = parseAddress(*text);
        if (a.scheme == Address::Scheme::tcp && !isLoopbackHost(a.host)) open.push_back(*text);
    }
    if (!config.metricsAddress.empty() && !isLoopbackHost(config.metricsHost)) {
        open.push_back("metrics " + config.metricsAddress);
    }
    if (open.empty()) return;
    std::string list;
    for (const auto& o : open) list += (list.empty() ? "" : ", ") + o;
    throw std::invalid_argument("refusing to listen on " + list +
                                " without CURVE: anyone who can reach it could run commands on every worker; "
                                "give --curve-secret-key-file and allow-lists (docs/operations.md#security), "
                                "listen on 127.0.0.1, or pass --allow-unauthenticated");
}

}  // namespace

void finishSchedulerConfig(SchedulerConfig& config) {
    const uint64_t memory = physicalMemoryBytes(uint64_t{8} << 30);
    if (config.objectMemoryLimit == 0) config.objectMemoryLimit = memory / 2;
    if (config.maxQueuedBytes == 0) config.maxQueuedBytes = memory / 4;
    if (config.maxQueuedTasks == 0)
        config.maxQueuedTasks = std::min(memory / 4 / kQueuedTaskBytes, uint64_t{1} << 30);
    const Address address = bindableAddress(parseAddress(config.address));
    config.address = address.toString();
    if (!config.monitorAddress.empty()) {
        config.monitorAddress = bindableAddress(parseAddress(config.monitorAddress)).toString();
    } else {
        config.monitorAddress = defaultMonitorAddress(address).toString();
    }
    config.policy = parsePolicyContent(config.policyContentText);
    makeScalingPolicy(config.policy.scaling, config.policy.parameters);  // rejects unknown parameters now
    config.scheduleRules.clear();
    for (const std::string& rule : config.scalingSchedule)
        config.scheduleRules.push_back(parseScheduleRule(rule));
    loadCurve(config);
    if (!config.metricsAddress.empty()) {
        const HostPort metrics = parseHostPort(config.metricsAddress, "--metrics-address");
        config.metricsHost = metrics.host;
        config.metricsPort = metrics.port;
    }
    refuseOpenUnauthenticated(config);
}

}  // namespace scaler::scheduler
