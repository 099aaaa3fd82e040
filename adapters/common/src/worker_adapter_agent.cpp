#include "scaler/adapters/worker_adapter_agent.h"

#include <chrono>

#include "scaler/adapters/adapter_session.h"
#include "scaler/common/log.h"
#include "scaler/common/shutdown_signal.h"
#include "scaler/protocol/dealer_connection.h"

namespace scaler::adapters {

WorkerAdapterAgent::WorkerAdapterAgent(WorkerAdapterSettings settings, WorkerGroupProvider& provider)
    : settings_(std::move(settings)), provider_(provider) {}

int WorkerAdapterAgent::run() {
    using Clock = AdapterSession::Clock;
    DealerConnection connection({settings_.adapterId, settings_.schedulerAddress, settings_.curve, 0});
    AdapterSession session(settings_, provider_, connection);
    session.start(Clock::now());
    bool exiting = false;
    for (;;) {
        if (!exiting && (shutdownRequested() || session.stopRequested())) {
            session.beginStop(Clock::now());
            exiting = true;
        }
        if (exiting && session.stopFinished(Clock::now())) break;
        // while exiting, notice groups that stopped sooner than the next message would wake us
        connection.wait(std::chrono::milliseconds(exiting ? 20 : 100));
        connection.receive(
            [&](wire::Message::Reader message) {
                const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch());
                session.onMessage(message, Clock::now(), static_cast<uint64_t>(wall.count()));
                return true;
            },
            [](const std::string& why) {
                log::adapter().warn("dropped a message from the scheduler: {}", why);
            });
        if (auto failure = connection.takeHandshakeFailure())
            session.onHandshakeFailure(*failure, Clock::now());
        session.onTick(Clock::now());
    }
    connection.setLinger(1000);  // let the last heartbeat leave
    return session.exitCode();
}

}  // namespace scaler::adapters
