#include "scaler/common/log_throttle.h"

namespace scaler {
namespace {
// Peers beyond maxKeys share one entry: identities are free to make, memory is not.
constexpr std::string_view kOverflowKey = "(many peers)";
}  // namespace

LogThrottle::LogThrottle(Clock::duration window, uint32_t linesPerWindow, size_t maxKeys)
    : window_(window), linesPerWindow_(linesPerWindow), maxKeys_(maxKeys) {}

std::optional<uint64_t> LogThrottle::admit(std::string_view key, Clock::time_point now) {
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) {
        if (entries_.size() >= maxKeys_) forgetQuietKeys(now);
        const std::string stored(entries_.size() >= maxKeys_ ? kOverflowKey : key);
        it = entries_.try_emplace(stored, Entry{now, 0, 0}).first;
    }
    Entry& entry = it->second;
    if (now - entry.windowStart >= window_) {
        entry.windowStart = now;
        entry.written = 0;
    }
    if (entry.written >= linesPerWindow_) {
        ++entry.heldBack;
        return std::nullopt;
    }
    ++entry.written;
    const uint64_t heldBack = entry.heldBack;
    entry.heldBack = 0;
    return heldBack;
}

void LogThrottle::forgetQuietKeys(Clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
        // a key whose window ended with nothing held back has nothing left to report
        if (now - it->second.windowStart >= window_ && it->second.heldBack == 0) {
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace scaler
