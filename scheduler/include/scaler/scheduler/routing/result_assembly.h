#pragma once
// Results too large for one message arrive in parts (TaskResult.totalSize > 0): each is appended in order to
// the task's buffer, reserved whole on the first part and charged against the object store's limit, until
// the last completes it. A part out of order, a failed status or a result that cannot fit refuses the task's
// result and drops what came.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace scaler::scheduler {

class ResultAssembly {
public:
    struct Part {
        uint64_t taskHandle;
        uint64_t totalSize;
        uint64_t offset;
        std::string_view data;
        bool succeeded;
    };
    enum class Step { incomplete, whole, refused };

    // `storeCharged`, `storeLimit`: the object store's bytes and limit, which the parts' buffers share.
    // whole: `out` holds the result; refused: `out` says why.
    Step add(const Part& part, uint64_t storeCharged, uint64_t storeLimit, std::string& out);
    // The task ended or left its worker: its parts will not be finished.
    void drop(uint64_t taskHandle);
    uint64_t bytes() const { return bytes_; }

private:
    std::unordered_map<uint64_t, std::string> parts_;  // by task handle
    uint64_t bytes_ = 0;                               // reserved for them
};

}  // namespace scaler::scheduler
