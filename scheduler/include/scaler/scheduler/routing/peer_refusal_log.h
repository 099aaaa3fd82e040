#pragma once
// What the router drops or refuses, counted and logged so that a hostile or broken peer costs a few lines a
// window, not one per message. Shared by the router and its peer table.

#include <cstdint>
#include <string_view>

#include "scaler/common/log_throttle.h"

namespace scaler::scheduler {

class PeerRefusalLog {
public:
    // A message dropped unread or unhandled: counted; the first 20 logged, then every 1,000th.
    void drop(std::string_view identity, std::string_view why);
    // A refused request, logged a few times per peer and kind in a window; the next line says how many were
    // not.
    void refuse(std::string_view identity, std::string_view kind, std::string_view text,
                LogThrottle::Clock::time_point now);
    void countDrop() { ++dropped_; }
    uint64_t dropped() const { return dropped_; }

private:
    uint64_t dropped_ = 0;
    LogThrottle throttle_;
};

}  // namespace scaler::scheduler
