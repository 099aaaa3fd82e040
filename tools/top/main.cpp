// scaler_top: watch a scheduler through its monitor socket, like top. --once prints one snapshot (text or
// --json) for scripts.
#include <algorithm>
#include <chrono>
#include <iostream>

#include <zmq.hpp>

#include "scaler/common/command_line.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/curve_socket.h"
#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/handshake_watch.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/retry_interrupted.h"
#include "snapshot_json.h"
#include "top_screen.h"

namespace {

using Clock = std::chrono::steady_clock;

int printOnce(zmq::socket_t& sub, scaler::HandshakeWatch& watch, const std::string& address, double timeout,
              bool json) {
    scaler::FrameReader reader;
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
    zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}};
    while (Clock::now() < deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (auto failure = watch.takeFailure()) {  // refused: no snapshot will come, say why now
            std::cerr << "scaler_top: " << failure->message << "\n";
            return 1;
        }
        scaler::pollOrInterrupted(
            items, 1, std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(100)));
        zmq::message_t frame;
        if (!scaler::retryInterrupted([&] { return sub.recv(frame, zmq::recv_flags::dontwait); })) continue;
        if (!reader.load(frame) || reader.root().which() != scaler::wire::Message::MONITOR_SNAPSHOT) continue;
        const auto snapshot = scaler::snapshotToJson(reader.root().getMonitorSnapshot());
        if (json) {
            std::cout << snapshot.dump() << "\n";
        } else {  // the screen's layout, every row shown
            scaler::top::TopState state;
            state.monitorAddress = address;
            state.snapshot = snapshot;
            state.fitContent = true;
            for (const auto& line : scaler::top::renderTop(state, 0, 200)) std::cout << line.text << "\n";
        }
        return 0;
    }
    if (auto failure = watch.takeFailure()) {
        std::cerr << "scaler_top: " << failure->message << "\n";
        return 1;
    }
    std::cerr << "scaler_top: no snapshot from " << address << " within " << timeout << " s\n";
    return 1;
}

int runInteractive(zmq::socket_t& sub, scaler::HandshakeWatch& watch, const std::string& address,
                   double timeout) {
    scaler::installShutdownSignalHandlers();
    scaler::top::TopState state;
    state.monitorAddress = address;
    state.staleAfterSeconds = timeout;
    scaler::FrameReader reader;
    auto lastSnapshot = Clock::now();
    zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}};
    scaler::top::TopScreen screen;
    while (!scaler::shutdownRequested()) {
        scaler::pollOrInterrupted(items, 1, std::chrono::milliseconds(100));
        scaler::receiveWaiting(
            sub, reader,
            [&](scaler::wire::Message::Reader message) {
                if (message.which() == scaler::wire::Message::MONITOR_SNAPSHOT) {
                    state.previous = std::move(state.snapshot);
                    state.snapshot = scaler::snapshotToJson(message.getMonitorSnapshot());
                    lastSnapshot = Clock::now();
                }
                return true;
            },
            [](const std::string&) {});  // a bad frame is skipped; the next snapshot comes in a second
        state.secondsSinceSnapshot = std::chrono::duration<double>(Clock::now() - lastSnapshot).count();
        if (auto failure = watch.takeFailure()) state.connectionProblem = failure->message;
        if (state.secondsSinceSnapshot < 1) state.connectionProblem.clear();  // snapshots come: it was fixed
        for (int key = screen.nextKey(); key != -1; key = screen.nextKey()) {
            if (!scaler::top::applyKey(state, key, std::max(1, screen.rows() / 2))) return 0;
        }
        screen.draw(scaler::top::renderTop(state, screen.rows(), screen.columns()));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string address;
    double timeout = 5;
    bool once = false, json = false;
    CLI::App app{"scaler_top: watch a scaler_scheduler through its monitor socket", "scaler_top"};
    app.add_option("monitor_address", address,
                   "Monitor address (scheduler port + 2), e.g. tcp://127.0.0.1:8518")
        ->required();
    app.add_option(
           "--timeout", timeout,
           "--once: seconds to wait for a snapshot; interactive: silence after which the scheduler is "
           "reported as not answering")
        ->check(scaler::positiveNumber())
        ->capture_default_str();
    app.add_flag("--once", once, "Print one snapshot and exit");
    app.add_flag("--json", json, "With --once: print the snapshot as JSON");
    scaler::CurveKeyFiles curveFiles;
    scaler::addCurveClientOptions(app, curveFiles);
    app.footer("Keys: q quit, s/S sort column, r reverse, arrows PgUp PgDn Home End scroll, ? help");
    scaler::parseOrExit(app, argc, argv);
    scaler::CurveClientKeys curve;
    try {
        scaler::parseAddress(address);
        curve = scaler::loadCurveClientKeys(curveFiles.serverPublicKeyFile, curveFiles.secretKeyFile);
    } catch (const std::exception& e) {
        std::cerr << "scaler_top: error: " << e.what() << "\n";
        return 2;
    }
    if (json && !once) {
        std::cerr << "scaler_top: error: --json needs --once\n";
        return 2;
    }
    zmq::context_t context(1);
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, 4);  // only the newest snapshots matter
    scaler::applyCurveClient(sub, curve);
    scaler::HandshakeWatch watch(context, sub, address);  // a refused handshake is said, not waited out
    sub.connect(address);
    const int status =
        once ? printOnce(sub, watch, address, timeout, json) : runInteractive(sub, watch, address, timeout);
    watch.close();
    return status;
}
