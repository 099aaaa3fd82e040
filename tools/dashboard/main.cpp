// scaler_dashboard: a live web page of a cluster, fed by the scheduler's monitor socket. A process of its
// own, not part of the scheduler: the page's work (history, JSON, HTTP) never runs on the scheduler's
// thread, and one dashboard can be started, restarted or moved without touching the scheduler.
#include <chrono>
#include <iostream>

#include <zmq.hpp>

#include "dashboard_server.h"
#include "scaler/common/command_line.h"
#include "scaler/common/log.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/curve_socket.h"
#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/message_codec.h"
#include "snapshot_json.h"

namespace {

// host:port, with a port in 0..65535; throws std::invalid_argument naming the text.
std::pair<std::string, int> parseHttpAddress(const std::string& text) {
    const auto colon = text.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0 && colon + 1 < text.size() &&
        text.find_first_not_of("0123456789", colon + 1) == std::string::npos && text.size() - colon <= 6) {
        port = std::stoi(text.substr(colon + 1));
    }
    if (port < 0 || port > 65535)
        throw std::invalid_argument("--http-address '" + text + "' is not HOST:PORT");
    return {text.substr(0, colon), port};
}

bool loopbackOnly(const std::string& host) {
    return host.starts_with("127.") || host == "::1" || host == "localhost";
}

}  // namespace

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
    std::pair<std::string, int> http;
    try {
        scaler::parseAddress(monitorAddress);
        http = parseHttpAddress(httpAddress);
        curve = scaler::loadCurveClientKeys(curveFiles.serverPublicKeyFile, curveFiles.secretKeyFile);
        if (!loopbackOnly(http.first) && !allowRemote) {
            throw std::invalid_argument("--http-address '" + httpAddress +
                                        "' is reachable beyond this host: the page has no login; add "
                                        "--allow-remote to serve it there anyway");
        }
    } catch (const std::exception& e) {
        std::cerr << "scaler_dashboard: error: " << e.what() << "\n";
        return 2;
    }
    scaler::setupLogging("dashboard", loggingLevel);
    std::optional<scaler::dashboard::DashboardServer> server;
    try {
        server.emplace(http.first, http.second);
    } catch (const std::exception& e) {
        std::cerr << "scaler_dashboard: error: " << e.what() << "\n";
        return 1;
    }
    std::cout << "dashboard at http://" << http.first << ":" << server->port() << "/ (monitor "
              << monitorAddress << ")" << std::endl;
    if (allowRemote && !loopbackOnly(http.first)) {
        scaler::log::process().warn("serving the dashboard beyond this host on {}: it has no login",
                                    httpAddress);
    }

    zmq::context_t context(1);
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, 4);  // only the newest snapshots matter
    scaler::applyCurveClient(sub, curve);
    sub.connect(monitorAddress);
    scaler::installShutdownSignalHandlers();
    scaler::FrameReader reader;
    zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}};
    while (!scaler::shutdownRequested()) {
        scaler::pollOrInterrupted(items, 1, std::chrono::milliseconds(200));
        scaler::receiveWaiting(
            sub, reader,
            [&](scaler::wire::Message::Reader message) {
                if (message.which() == scaler::wire::Message::MONITOR_SNAPSHOT) {
                    server->addSnapshot(scaler::snapshotToJson(message.getMonitorSnapshot()));
                }
                return true;
            },
            [](const std::string& why) { scaler::log::process().debug("skipped a monitor frame: {}", why); });
    }
    return 0;
}
