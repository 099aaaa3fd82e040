#pragma once
// How large one message may be, shared by the peers that build them. The scheduler tells clients and workers
// its --max-message-bytes in every heartbeat echo (0 until the first).

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace scaler {

// Cap'n Proto's largest Data or Text value.
inline constexpr uint64_t kLargestBlobBytes = (uint64_t{1} << 29) - 1;
// Room for one task's or result's fields besides its payload.
inline constexpr uint64_t kEnvelopeBytes = 4096;
// A batch of tasks or results closes before this many payload bytes, or half the scheduler's limit.
inline constexpr size_t kMaxBatchBytes = 32u << 20;

// The most one message may carry: the scheduler's limit, or Cap'n Proto's when it is larger or unknown.
inline uint64_t messageLimit(uint64_t schedulerLimit) {
    return schedulerLimit == 0 ? kLargestBlobBytes : std::min(kLargestBlobBytes, schedulerLimit);
}

// Whether a payload (plus its other variable fields) fits in one message.
inline bool fitsInOneMessage(uint64_t variableBytes, uint64_t schedulerLimit) {
    return variableBytes + kEnvelopeBytes <= messageLimit(schedulerLimit);
}

// A result larger than this travels in parts of this size (TaskResult.totalSize/offset), worker to scheduler
// and scheduler to client, so no result is bounded by the message limit.
inline constexpr size_t kResultPartBytes = 8u << 20;

// The part size for a result under a scheduler's message limit.
inline size_t resultPartBytes(uint64_t schedulerLimit) {
    const uint64_t room = messageLimit(schedulerLimit);
    return static_cast<size_t>(std::min<uint64_t>(
        kResultPartBytes, room > 2 * kEnvelopeBytes ? room - kEnvelopeBytes : kEnvelopeBytes));
}

inline size_t batchBudget(uint64_t schedulerLimit) {
    return schedulerLimit == 0 ? kMaxBatchBytes : std::min<size_t>(kMaxBatchBytes, schedulerLimit / 2);
}

}  // namespace scaler
