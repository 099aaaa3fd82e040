#include "scaler/scheduler/routing/result_assembly.h"

#include "scaler/common/printable.h"
#include "scaler/scheduler/objects/object_store.h"  // formatBytes

namespace scaler::scheduler {

Result<std::optional<std::string>> ResultAssembly::add(const Part& part, uint64_t storeCharged,
                                                       uint64_t storeLimit) {
    auto found = parts_.find(part.taskHandle);
    const uint64_t have = found == parts_.end() ? 0 : found->second.size();
    std::string problem;
    if (!part.succeeded) {
        problem = "a failed result sent in parts";
    } else if (part.offset != have || part.data.size() > part.totalSize - have ||
               (found != parts_.end() && found->second.capacity() < part.totalSize)) {
        problem = "a result part out of order (offset " + std::to_string(part.offset) + ", expected " +
                  std::to_string(have) + ")";
    } else if (found == parts_.end() &&
               (part.totalSize > storeLimit || bytes_ + storeCharged > storeLimit - part.totalSize)) {
        problem = "the task's result of " + formatBytes(part.totalSize) +
                  " does not fit in the scheduler's object store (" + formatBytes(storeLimit) +
                  ", --object-memory-limit)";
    }
    if (!problem.empty()) {
        drop(part.taskHandle);
        return refuse(std::move(problem));
    }
    if (found == parts_.end()) {
        found = parts_.try_emplace(part.taskHandle).first;
        found->second.reserve(part.totalSize);
        bytes_ += found->second.capacity();
    }
    found->second.append(part.data);
    if (found->second.size() < part.totalSize) return std::optional<std::string>();
    std::string whole = std::move(found->second);
    bytes_ -= whole.capacity();
    parts_.erase(found);
    return std::optional<std::string>(std::move(whole));
}

void ResultAssembly::drop(uint64_t taskHandle) {
    if (parts_.empty()) return;
    if (auto found = parts_.find(taskHandle); found != parts_.end()) {
        bytes_ -= found->second.capacity();
        parts_.erase(found);
    }
}

}  // namespace scaler::scheduler
