#pragma once
// Moves objects to the scheduler in chunks, one object at a time and a few chunks ahead of the
// acknowledgements, so a large object neither floods the scheduler's socket nor blocks other traffic.
// Owned by ClientSession (I/O thread); user threads wait on an UploadState.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "scaler/client/byte_source.h"
#include "scaler/protocol/frame_sink.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::detail {

struct UploadState {
    std::mutex mutex;
    std::condition_variable changed;
    bool done = false;
    std::string error;         // non-empty: refused or lost
    bool unreachable = false;  // lost with the scheduler, not refused by its store

    void finish(std::string why, bool lost = false) {
        {
            std::lock_guard lock(mutex);
            if (done) return;
            done = true;
            error = std::move(why);
            unreachable = lost;
        }
        changed.notify_all();
    }
};

struct ObjectUpload {
    uint64_t id = 0;
    std::string name;
    std::shared_ptr<const ByteSource> bytes;
    std::shared_ptr<UploadState> state;
};

class ObjectUploader {
public:
    static constexpr uint64_t kChunkBytes = 4u << 20;
    static constexpr uint64_t kChunksAhead = 4;

    explicit ObjectUploader(FrameSink& out) : out_(out) {}

    void add(ObjectUpload upload);
    void onAck(wire::ObjectPutAck::Reader ack);
    // Sends what the window allows; call after add, acks and reconnects.
    void pump(uint64_t schedulerMessageLimit);
    // Fails every upload (the scheduler is gone or refused us).
    void failAll(const std::string& why);
    // Fails one upload that the scheduler did not take in time; gone from the queue, not from the session.
    void fail(uint64_t id, const std::string& why);
    // A restarted scheduler: sends these (every live object, in order) again from their first byte, instead
    // of what was queued. Their states may be done already (nobody waits); a refusal then only drops the
    // object.
    void restart(std::vector<ObjectUpload> uploads);
    // Objects the scheduler refused, or that could not be sent, since the last call.
    std::vector<uint64_t> takeRefused() { return std::exchange(refused_, {}); }
    bool idle() const { return queue_.empty(); }

private:
    FrameSink& out_;
    std::deque<ObjectUpload> queue_;  // the front is moving
    uint64_t sent_ = 0;               // bytes of the front sent
    uint64_t acknowledged_ = 0;
    bool firstSent_ = false;
    std::vector<uint64_t> refused_;
};

}  // namespace scaler::detail
