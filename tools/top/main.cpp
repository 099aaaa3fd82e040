// scaler_top: watch a scheduler through its monitor socket. This build prints one snapshot (--once, as
// text or --json); the interactive screen is not built yet and says so.
#include <chrono>
#include <iostream>

#include <zmq.hpp>

#include "scaler/process/command_line.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/message_codec.h"
#include "snapshot_json.h"
#include "snapshot_text.h"

int main(int argc, char** argv) {
    std::string address;
    double timeout = 5;
    bool once = false, json = false;
    CLI::App app{"scaler_top: watch a scaler_scheduler through its monitor socket", "scaler_top"};
    app.add_option("monitor_address", address, "Monitor address (scheduler port + 2), e.g. tcp://127.0.0.1:8518")
        ->required();
    app.add_option("--timeout", timeout, "Seconds to wait for a snapshot")
        ->check(scaler::positiveNumber())
        ->capture_default_str();
    app.add_flag("--once", once, "Print one snapshot and exit");
    app.add_flag("--json", json, "Print the snapshot as JSON");
    scaler::parseOrExit(app, argc, argv);
    try {
        scaler::parseAddress(address);
    } catch (const std::exception& e) {
        std::cerr << "scaler_top: error: " << e.what() << "\n";
        return 2;
    }
    if (!once) {
        std::cerr << "scaler_top: error: the interactive screen is not available in this build; use --once [--json]\n";
        return 2;
    }
    zmq::context_t context(1);
    zmq::socket_t sub(context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::linger, 0);
    sub.connect(address);
    scaler::FrameReader reader;
    std::string error;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0}};
    while (std::chrono::steady_clock::now() < deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        zmq::poll(items, 1, std::max(left, std::chrono::milliseconds(1)));
        zmq::message_t frame;
        if (!sub.recv(frame, zmq::recv_flags::dontwait)) continue;
        if (!reader.load(frame, error) || reader.root().which() != scaler::wire::Message::MONITOR_SNAPSHOT) continue;
        const auto snapshot = reader.root().getMonitorSnapshot();
        std::cout << (json ? scaler::snapshotToJson(snapshot).dump() + "\n" : scaler::snapshotToText(snapshot));
        return 0;
    }
    std::cerr << "scaler_top: no snapshot from " << address << " within " << timeout << " s\n";
    return 1;
}
