// scaler_dashboard: a live web page of a cluster, fed by the scheduler's monitor socket. A process of its
// own, not part of the scheduler: the page's work (history, JSON, HTTP) never runs on the scheduler's
// thread, and one dashboard can be started, restarted or moved without touching the scheduler.
#include <chrono>
#include <iostream>
#include <optional>

#include "dashboard_server.h"
#include "monitor_subscriber.h"
#include "scaler/common/command_line.h"
#include "scaler/common/log.h"
#include "scaler/common/log_throttle.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/curve_keys.h"

int main(int argc, char** argv) {
    std::string monitorAddress, httpAddress = "127.0.0.1:8519", loggingLevel = "INFO";
    bool allowRemote = false;
    CLI::App app{
        "scaler_dashboard: a live web page of a scaler cluster, fed by the scheduler's monitor socket",
        "scaler_dashboard"};
    app.add_option("monitor_address", monitorAddress,
                   "The scheduler's monitor address (scheduler port + 2), e.g. tcp://127.0.0.1:8518")
        ->required();
    app.add_option("--http-address", httpAddress, "Where the page is served, HOST:PORT (port 0: a free one)")
        ->capture_default_str();
    app.add_flag(
        "--allow-remote", allowRemote,
        "Serve on an address beyond this host. The page has no login and shows function names, hosts "
        "and clients: put it behind a proxy that authenticates, or reach it through an SSH tunnel");
    app.add_option("--logging-level", loggingLevel, "DEBUG, INFO, WARNING, ERROR")->capture_default_str();
    scaler::CurveKeyFiles curveFiles;
    scaler::addCurveClientOptions(app, curveFiles);
    scaler::parseOrExit(app, argc, argv);
    scaler::CurveClientKeys curve;
    scaler::HostPort http;
    try {
        scaler::parseAddress(monitorAddress);
        http = scaler::parseHostPort(httpAddress, "--http-address");
        curve = scaler::loadCurveClientKeys(curveFiles.serverPublicKeyFile, curveFiles.secretKeyFile);
        if (!scaler::isLoopbackHost(http.host) && !allowRemote) {
            throw std::invalid_argument("--http-address '" + httpAddress +
                                        "' is reachable beyond this host: the page has no login; add "
                                        "--allow-remote to serve it there anyway");
        }
    } catch (const std::exception& e) {
        std::cerr << "scaler_dashboard: error: " << e.what() << "\n";
        return 2;
    }
    scaler::setupLogging("dashboard", loggingLevel);
    scaler::installShutdownSignalHandlers();
    std::optional<scaler::dashboard::DashboardServer> server;
    try {
        server.emplace(http.host, http.port);
    } catch (const std::exception& e) {
        std::cerr << "scaler_dashboard: error: " << e.what() << "\n";
        return 1;
    }
    std::cout << "dashboard at http://" << http.host << ":" << server->port() << "/ (monitor "
              << monitorAddress << ")" << std::endl;
    if (allowRemote && !scaler::isLoopbackHost(http.host)) {
        scaler::log::process().warn("serving the dashboard beyond this host on {}: it has no login",
                                    httpAddress);
    }

    scaler::MonitorSubscriber monitor(monitorAddress, curve);
    scaler::LogThrottle problems(std::chrono::minutes(1), 1);  // the page would just stay empty: say why
    while (!scaler::shutdownRequested()) {
        if (auto failure = monitor.takeHandshakeFailure();
            failure && problems.admit("handshake", std::chrono::steady_clock::now())) {
            scaler::log::process().error("no snapshots: {}", failure->message);
        }
        try {
            server->addSnapshot(monitor.latest(std::chrono::milliseconds(500)));
        } catch (const std::runtime_error&) {
            // none this half second: the scheduler is quiet or gone; the page says how old its data is
        }
    }
    return 0;
}
