#include "scaler/adapters/adapter_options.h"

#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include "scaler/common/billing_model.h"
#include "scaler/common/command_line.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/identity.h"

namespace scaler::adapters {
namespace {
std::string number(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
}
}  // namespace

std::vector<std::string> WorkerOptions::workerArguments(const std::string& schedulerAddress,
                                                        const std::string& adapterId,
                                                        const std::string& groupId,
                                                        const CapabilityList& capabilities) const {
    std::vector<std::string> args{schedulerAddress,
                                  "--adapter-id",
                                  adapterId,
                                  "--worker-group-id",
                                  groupId,
                                  "--per-worker-task-queue-size",
                                  std::to_string(taskQueueSize),
                                  "--heartbeat-interval-seconds",
                                  number(heartbeatIntervalSeconds),
                                  "--death-timeout-seconds",
                                  number(deathTimeoutSeconds),
                                  "--shutdown-grace-seconds",
                                  number(shutdownGraceSeconds)};
    if (!capabilities.empty()) {
        args.push_back("--per-worker-capabilities");
        args.push_back(formatCapabilities(capabilities));
    }
    if (!curveFiles.secretKeyFile.empty()) {
        args.insert(args.end(), {"--curve-server-key-file", curveFiles.serverPublicKeyFile,
                                 "--curve-secret-key-file", curveFiles.secretKeyFile});
    }
    for (const auto& plugin : plugins) {
        args.push_back("--load");
        args.push_back(plugin);
    }
    if (allowExec) args.push_back("--allow-exec");
    if (noPython) args.push_back("--no-python");
    return args;
}

void addAdapterOptions(CLI::App& app, AdapterCommandLine& o, const std::string& section,
                       bool pluginsOnThisHost) {
    addCommonOptions(app, section, o.loggingLevel);
    o.settings.maxWorkerGroups = std::max(1u, std::thread::hardware_concurrency());
    app.add_option("scheduler_address", o.settings.schedulerAddress,
                   "Scheduler address, e.g. tcp://127.0.0.1:8516")
        ->required();
    app.add_option("--adapter-id", o.settings.adapterId, "This adapter's identity (default: KIND-<random>)");
    app.add_option("--max-worker-groups", o.settings.maxWorkerGroups,
                   "Most worker groups this adapter runs at once")
        ->check(CLI::Range(1u, 100000u))
        ->capture_default_str();
    app.add_option("--workers-per-group", o.settings.workersPerGroup, "Worker processes in each group")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
    app.add_option("--priority", o.settings.priority,
                   "Tier: the scheduler fills adapters with lower numbers first and drains higher ones first")
        ->check(CLI::Range(0u, 1000000u))
        ->capture_default_str();
    app.add_option("--billing", o.settings.billing,
                   "How the provider bills a group's run, for the cost the scheduler shows: per-second or "
                   "per-hour, then :minimum=SECONDS and :price=PER_GROUP_HOUR, e.g. "
                   "\"per-second:minimum=60:price=0.20\" (default: per second, ECS with a 60 s minimum, "
                   "price 1)");
    app.add_option("--per-worker-capabilities", o.capabilitiesText,
                   "Capabilities this adapter can give its workers, e.g. \"gpu,linux\"");
    app.add_option("--heartbeat-interval-seconds", o.settings.heartbeatIntervalSeconds,
                   "Heartbeat period of the adapter and its workers")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--per-worker-task-queue-size", o.worker.taskQueueSize, "Passed to the workers")
        ->check(CLI::Range(1u, 1000000u))
        ->capture_default_str();
    app.add_option("--death-timeout-seconds", o.worker.deathTimeoutSeconds, "Passed to the workers")
        ->check(positiveNumber())
        ->capture_default_str();
    app.add_option("--shutdown-grace-seconds", o.worker.shutdownGraceSeconds,
                   "Passed to the workers: how long a stopped worker may finish its running task")
        ->check(nonNegativeNumber())
        ->capture_default_str();
    auto* load = app.add_option("--load", o.worker.plugins,
                                pluginsOnThisHost
                                    ? "Plugin passed to the workers (repeatable)"
                                    : "Plugin passed to the workers: a path inside the image (repeatable)");
    if (pluginsOnThisHost) load->check(CLI::ExistingFile);
    app.add_flag("--worker-allow-exec", o.worker.allowExec,
                 "Passed to the workers as --allow-exec: they run exec command tasks (any program)");
    app.add_flag("--worker-no-python", o.worker.noPython,
                 "Passed to the workers as --no-python: they refuse Python tasks (which run any code)");
    addCurveClientOptions(app, o.curveFiles);
    auto* workerKey = app.add_option(
        "--worker-curve-secret-key-file", o.worker.curveFiles.secretKeyFile,
        pluginsOnThisHost ? "CURVE secret key file for the workers (a key on the worker allow-list)"
                          : "CURVE secret key file for the workers: a path inside the container");
    if (pluginsOnThisHost) workerKey->check(CLI::ExistingFile);
    app.add_option(
        "--worker-curve-server-key-file", o.worker.curveFiles.serverPublicKeyFile,
        "The scheduler's public key file as the workers see it (default: --curve-server-key-file)");
}

void finishAdapterOptions(AdapterCommandLine& o, const std::string& idPrefix) {
    parseAddress(o.settings.schedulerAddress);
    if (!o.settings.billing.empty()) o.settings.billing = parseBillingModel(o.settings.billing).describe();
    o.settings.capabilities = parseCapabilities(o.capabilitiesText);
    o.settings.curve = loadCurveClientKeys(o.curveFiles.serverPublicKeyFile, o.curveFiles.secretKeyFile);
    auto& workerCurve = o.worker.curveFiles;
    if (workerCurve.serverPublicKeyFile.empty())
        workerCurve.serverPublicKeyFile = o.curveFiles.serverPublicKeyFile;
    if (o.settings.curve.enabled() != !workerCurve.secretKeyFile.empty()) {
        throw std::invalid_argument(
            o.settings.curve.enabled()
                ? "with CURVE keys the adapter needs --worker-curve-secret-key-file for its workers"
                : "--worker-curve-secret-key-file needs the adapter's own CURVE keys");
    }
    if (o.settings.adapterId.empty()) o.settings.adapterId = idPrefix + "-" + randomHex(6);
    o.worker.heartbeatIntervalSeconds = o.settings.heartbeatIntervalSeconds;
    o.settings.exitGraceSeconds = o.worker.shutdownGraceSeconds + 5;
}

std::string stableAdapterId(const std::string& prefix, const std::vector<std::string>& parts, bool withHost) {
    char host[256] = {0};
    if (withHost) gethostname(host, sizeof host - 1);
    uint64_t hash = 1469598103934665603ull;  // FNV-1a
    for (const std::string& part : parts) {
        for (unsigned char c : std::string(host) + '\n' + part) hash = (hash ^ c) * 1099511628211ull;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return prefix + "-" + std::string(hex, 12);
}

}  // namespace scaler::adapters
