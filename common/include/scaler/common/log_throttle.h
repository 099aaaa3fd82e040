#pragma once
// How often one kind of line about one peer is written: the first few in a window, then a count of what was
// held back with the next line written. A hostile or broken peer's refusals then cost a few lines a window,
// not one line each. Fed the time (no clock inside), so it is table-tested.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace scaler {

class LogThrottle {
public:
    using Clock = std::chrono::steady_clock;

    explicit LogThrottle(Clock::duration window = std::chrono::seconds(10), uint32_t linesPerWindow = 5,
                         size_t maxKeys = 4096);

    // Whether a line for `key` ("peer/kind") may be written now; when it may, how many of its lines were held
    // back since the last one written (say so in the line).
    std::optional<uint64_t> admit(std::string_view key, Clock::time_point now);

    size_t keys() const { return entries_.size(); }

private:
    struct Entry {
        Clock::time_point windowStart;
        uint32_t written = 0;
        uint64_t heldBack = 0;
    };
    void forgetQuietKeys(Clock::time_point now);

    Clock::duration window_;
    uint32_t linesPerWindow_;
    size_t maxKeys_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace scaler
