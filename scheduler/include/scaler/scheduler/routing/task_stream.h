#pragma once
// The latest tasks that finished on workers, for the dashboard's task stream: who ran what, when, and how
// it ended. Sampled to a budget per second so a million tasks a second cost a counter each, not a copy;
// bounded in memory by its capacity.

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace scaler::scheduler {

struct TaskStreamRecord {
    uint64_t sequence = 0;
    std::string workerId;
    std::string functionName;
    uint64_t startMs = 0, endMs = 0;  // unix time
    std::string_view status;          // a literal
};

class TaskStream {
public:
    static constexpr size_t kCapacity = 1000;
    static constexpr uint32_t kPerSecond = 1000;

    // Whether a task finishing at `unixMs` is sampled: call record() only then.
    bool wants(uint64_t unixMs) {
        if (unixMs / 1000 != second_) {
            second_ = unixMs / 1000;
            takenThisSecond_ = 0;
        }
        if (takenThisSecond_ < kPerSecond) return true;
        ++skipped_;
        return false;
    }
    void record(std::string_view workerId, std::string_view functionName, uint64_t startMs, uint64_t endMs,
                std::string_view status) {
        ++takenThisSecond_;
        if (records_.size() == kCapacity) records_.pop_front();
        records_.push_back(
            {++sequence_, std::string(workerId), std::string(functionName), startMs, endMs, status});
    }
    const std::deque<TaskStreamRecord>& records() const { return records_; }
    uint64_t skipped() const { return skipped_; }

private:
    std::deque<TaskStreamRecord> records_;
    uint64_t sequence_ = 0;
    uint64_t second_ = 0;
    uint32_t takenThisSecond_ = 0;
    uint64_t skipped_ = 0;
};

}  // namespace scaler::scheduler
