#include "scaler/scheduler/server/curve_authenticator.h"

#include <array>
#include <vector>

#include "scaler/common/log.h"

namespace scaler::scheduler {

CurveAuthenticator::CurveAuthenticator(zmq::context_t& context, AllowLists allowLists)
    : allowLists_(std::move(allowLists)), socket_(context, zmq::socket_type::rep) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
    thread_ = std::thread([this] { serve(); });
}

CurveAuthenticator::~CurveAuthenticator() {
    stop_ = true;
    thread_.join();
}

std::pair<std::string, std::string> CurveAuthenticator::decide(const std::string& domain,
                                                               const std::string& mechanism,
                                                               const std::string& keyZ85,
                                                               const std::string& address) {
    const auto list = allowLists_.find(domain);
    if (mechanism == "CURVE" && list != allowLists_.end()) {
        const auto entry = list->second.find(keyZ85);
        // the User-Id carries the key too: the scheduler binds an identity to the key that registered it
        if (entry != list->second.end()) return {"200", entry->second + " " + keyZ85};
    }
    ++refusals_;
    const uint64_t seen = ++refusalsByKey_[keyZ85];
    if (seen == 1 || seen % 1000 == 0) {  // a refused peer retries every few hundred ms
        log::security().warn(
            "refused a {} connection from {} to '{}': key {} is on no allow-list for it ({} attempts)",
            mechanism, address, domain, keyZ85.empty() ? "(none)" : keyZ85, seen);
    }
    return {"400", ""};
}

void CurveAuthenticator::serve() {
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    while (!stop_) {
        try {
            zmq::poll(items, 1, std::chrono::milliseconds(100));
            std::vector<zmq::message_t> request;
            for (;;) {
                zmq::message_t part;
                if (!socket_.recv(part, request.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none))
                    break;
                const bool more = part.more();
                request.push_back(std::move(part));
                if (!more) break;
            }
            if (request.empty()) continue;
            // version, request id, domain, address, identity, mechanism, credentials...
            std::string keyZ85;
            if (request.size() >= 7 && request[6].size() == 32) {
                std::array<char, 41> text{};
                zmq_z85_encode(text.data(), static_cast<const uint8_t*>(request[6].data()), 32);
                keyZ85 = text.data();
            }
            const auto field = [&](size_t i) {
                return i < request.size() ? request[i].to_string() : std::string();
            };
            const auto [status, userId] = decide(field(2), field(5), keyZ85, field(3));
            const std::array<std::string, 6> reply{
                "1.0", field(1), status, status == "200" ? "OK" : "not allowed", userId, ""};
            for (size_t i = 0; i < reply.size(); ++i) {
                socket_.send(zmq::buffer(reply[i]),
                             i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
            }
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            if (e.num() != EINTR) log::security().error("authentication handler: {}", e.what());
        }
    }
}

}  // namespace scaler::scheduler
