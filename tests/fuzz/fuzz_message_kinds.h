#pragma once
// Structure-aware fuzzing, one target per kind of message the scheduler accepts: the input is a source of
// choices from which well-formed messages of that kind are built (ids that meet, sizes at the limits, parts
// out of order, handles the scheduler really gave out) and sent by two clients, two workers and an adapter
// into a SchedulerCore through the wire encoding. After every message the store stays within its limit and
// no live task count wraps; under the clang fuzz build, ASan and UBSan watch the rest. Raw frame decoding has
// its own target (runMessageConversation).

#include <cstddef>
#include <cstdint>

namespace scaler::fuzz {

enum class MessageKind { objects, graphs, tasks, heartbeats };
inline constexpr MessageKind kMessageKinds[] = {MessageKind::objects, MessageKind::graphs, MessageKind::tasks,
                                                MessageKind::heartbeats};

// What a run reached, summed over runs: so a fuzzing run can show it got past the front door.
struct KindReach {
    uint64_t messages = 0;
    uint64_t tasksSucceeded = 0, tasksFailed = 0, tasksCancelled = 0, tasksRejected = 0;
    uint64_t tasksSentToWorkers = 0;
    uint64_t objectsStored = 0;  // live at the end of a run
};

const char* messageKindName(MessageKind kind);
void runMessageKind(MessageKind kind, const uint8_t* data, size_t size, KindReach* reach = nullptr);

}  // namespace scaler::fuzz
