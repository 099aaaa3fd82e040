#include "scaler/scheduler/routing/peer_refusal_log.h"

#include <string>

#include "scaler/common/log.h"
#include "scaler/common/printable.h"

namespace scaler::scheduler {
namespace {
constexpr uint64_t kLoggedDropsBeforeSampling = 20;  // then every 1,000th
}  // namespace

void PeerRefusalLog::drop(std::string_view identity, std::string_view why) {
    ++dropped_;
    if (dropped_ <= kLoggedDropsBeforeSampling || dropped_ % 1000 == 0) {
        log::transport().warn("dropped a message from '{}': {} ({} dropped so far)", printable(identity),
                              printable(why, 200), dropped_);
    }
}

void PeerRefusalLog::refuse(std::string_view identity, std::string_view kind, std::string_view text,
                            LogThrottle::Clock::time_point now) {
    std::string key(identity);
    key += '/';
    key += kind;
    const auto heldBack = throttle_.admit(key, now);
    if (!heldBack) return;
    if (*heldBack > 0) {
        log::tasks().warn("'{}': {} refused: {} ({} more like it not logged)", printable(identity), kind,
                          printable(text, 300), *heldBack);
    } else {
        log::tasks().warn("'{}': {} refused: {}", printable(identity), kind, printable(text, 300));
    }
}

}  // namespace scaler::scheduler
