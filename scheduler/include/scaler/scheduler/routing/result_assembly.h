#pragma once
// Results too large for one message arrive in parts (TaskResult.totalSize > 0): each is appended in order to
// the task's buffer, reserved whole on the first part and charged against the object store's limit, until
// the last completes it. A part out of order, a failed status or a result that cannot fit refuses the task's
// result and drops what came.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "scaler/protocol/result.h"

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

    // `storeCharged`, `storeLimit`: the object store's bytes and limit, which the parts' buffers share.
    // The whole result once this part completes it, nullopt before; refused (what came is dropped) for a part
    // out of order, a failed status, or a result that cannot fit.
    Result<std::optional<std::string>> add(const Part& part, uint64_t storeCharged, uint64_t storeLimit);
    // The task ended or left its worker: its parts will not be finished.
    void drop(uint64_t taskHandle);
    uint64_t bytes() const { return bytes_; }

private:
    std::unordered_map<uint64_t, std::string> parts_;  // by task handle
    uint64_t bytes_ = 0;                               // reserved for them
};

}  // namespace scaler::scheduler
