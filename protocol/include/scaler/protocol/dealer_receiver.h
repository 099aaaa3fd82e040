#pragma once
// The receive side every DEALER peer (worker, adapter, client) shares: wait, then take every frame that is
// waiting, validate it and hand it on. A bad frame goes to `onDropped` and never stops the loop.

#include <chrono>
#include <string>

#include <kj/exception.h>
#include <zmq.hpp>

#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/retry_interrupted.h"

namespace scaler {

// zmq::poll that treats an interrupting signal as "nothing arrived" (the caller checks its shutdown flag).
inline void pollOrInterrupted(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout) {
    try {
        zmq::poll(items, count, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
}

// Calls handle(wire::Message::Reader) for each valid frame waiting on `socket`, onDropped(reason) for each
// invalid one; stops early when handle returns false.
template <typename Handle, typename OnDropped>
void receiveWaiting(zmq::socket_t& socket, FrameReader& reader, Handle&& handle, OnDropped&& onDropped) {
    for (;;) {
        zmq::message_t frame;
        if (!retryInterrupted([&] { return socket.recv(frame, zmq::recv_flags::dontwait); })) return;
        if (const Status loaded = reader.load(frame); !loaded) {
            onDropped(loaded.why());
            continue;
        }
        try {
            if (!handle(reader.root())) return;
        } catch (const kj::Exception& e) {
            onDropped(std::string("malformed message: ") + e.getDescription().cStr());
        }
    }
}

}  // namespace scaler
