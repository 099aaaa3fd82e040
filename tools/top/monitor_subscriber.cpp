#include "monitor_subscriber.h"
#include "scaler/protocol/curve_socket.h"

#include <stdexcept>

#include "scaler/protocol/dealer_receiver.h"
#include "scaler/protocol/retry_interrupted.h"
#include "snapshot_json.h"

namespace scaler {

MonitorSubscriber::MonitorSubscriber(std::string monitorAddress, const CurveClientKeys& keys)
    : address_(std::move(monitorAddress)) {
    reconnect(keys);
}

void MonitorSubscriber::reconnect(const CurveClientKeys& keys) {
    if (watch_) watch_->close();
    watch_.reset();
    sub_ = zmq::socket_t(context_, zmq::socket_type::sub);
    sub_.set(zmq::sockopt::subscribe, "");
    sub_.set(zmq::sockopt::linger, 0);
    applyCurveClient(sub_, keys);
    watch_.emplace(context_, sub_, address_);
    sub_.connect(address_);
}

nlohmann::json MonitorSubscriber::latest(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    nlohmann::json newest;
    zmq::pollitem_t items[] = {{sub_.handle(), 0, ZMQ_POLLIN, 0}};
    while (std::chrono::steady_clock::now() < deadline) {
        zmq::message_t frame;
        if (retryInterrupted([&] { return sub_.recv(frame, zmq::recv_flags::dontwait); })) {
            if (reader_.load(frame) && reader_.root().which() == wire::Message::MONITOR_SNAPSHOT) {
                newest = snapshotToJson(reader_.root().getMonitorSnapshot());
            }
            continue;
        }
        if (!newest.is_null()) return newest;
        pollOrInterrupted(items, 1, std::chrono::milliseconds(50));
    }
    throw std::runtime_error("no monitor snapshot from " + address_);
}

}  // namespace scaler
