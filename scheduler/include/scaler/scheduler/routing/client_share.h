#pragma once
// Each client's share of the scheduler's --max-queued-tasks and --max-queued-bytes, told in every heartbeat
// echo: the limit over the clients connected + 1. The shares of all clients add up to less than the limit,
// leaving room for one more to arrive before the others have heard their smaller shares; a client waits to
// submit while its unfinished tasks fill its share, so a flood from one client neither fills the
// scheduler's memory nor holds another client's tasks behind more than its share.

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace scaler::scheduler {

struct ClientShare {
    uint64_t tasks = 0;  // 0: no limit
    uint64_t bytes = 0;
};

inline ClientShare clientShare(uint64_t maxQueuedTasks, uint64_t maxQueuedBytes, size_t clients) {
    const uint64_t parts = static_cast<uint64_t>(clients) + 1;
    ClientShare share;
    if (maxQueuedTasks != 0) share.tasks = std::max<uint64_t>(1, maxQueuedTasks / parts);
    if (maxQueuedBytes != 0) share.bytes = std::max<uint64_t>(1, maxQueuedBytes / parts);
    return share;
}

}  // namespace scaler::scheduler
