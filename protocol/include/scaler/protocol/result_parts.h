#pragma once
// A success result too large for one message travels in parts (TaskResult.totalSize/offset), in order, each a
// message of its own: written once for the worker (to the scheduler) and the scheduler (to the client).

#include <cstdint>
#include <string_view>

#include <capnp/message.h>

#include "scaler/protocol/wire_bytes.h"
#include "scaler/wire/message.capnp.h"

namespace scaler {

struct PartTimings {
    uint64_t durationUs = 0;
    uint64_t cpuTimeUs = 0;
    uint64_t peakRssBytes = 0;
};

// Builds each part of `payload` (at most `partBytes` of it) and hands the message to send(builder).
template <typename Send>
void sendResultInParts(uint64_t taskId, wire::TaskResultStatus status, std::string_view payload,
                       size_t partBytes, const PartTimings& timings, Send&& send) {
    for (size_t offset = 0; offset < payload.size(); offset += partBytes) {
        capnp::MallocMessageBuilder builder;
        auto result = builder.initRoot<wire::Message>().initTaskResults(1)[0];
        result.setTaskId(taskId);
        result.setStatus(status);
        result.setPayload(asData(payload.substr(offset, partBytes)));  // copied once, into the frame
        result.setTotalSize(payload.size());
        result.setOffset(offset);
        result.setDurationUs(timings.durationUs);
        result.setCpuTimeUs(timings.cpuTimeUs);
        result.setPeakRssBytes(timings.peakRssBytes);
        send(builder);
    }
}

}  // namespace scaler
