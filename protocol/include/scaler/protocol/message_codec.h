#pragma once
// One Cap'n Proto Message per ZeroMQ frame, standard (unpacked) encoding with a segment table.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <zmq.hpp>

#include "scaler/protocol/result.h"
#include "scaler/wire/message.capnp.h"

namespace scaler {

inline constexpr size_t kDefaultMaxMessageBytes = size_t{256} << 20;

// Serialises straight into the frame's buffer (one copy).
zmq::message_t encodeFrame(capnp::MessageBuilder& builder);

// Sends one message from a DEALER peer without ever blocking. With an unlimited send queue the send fails
// only when there is no connection to queue on (e.g. the scheduler refused the CURVE handshake); the
// caller's timeouts then report the scheduler unreachable instead of the process hanging in send.
bool sendFrame(zmq::socket_t& socket, capnp::MessageBuilder& builder);

// Holds one received frame and a validated reader over it. Reused across frames so a steady stream of
// messages allocates nothing once the buffers have grown.
class FrameReader {
public:
    explicit FrameReader(size_t maxMessageBytes = kDefaultMaxMessageBytes) : maxBytes_(maxMessageBytes) {}
    FrameReader(const FrameReader&) = delete;
    FrameReader& operator=(const FrameReader&) = delete;

    // Takes the frame. Refused when it is too large, of a misaligned length, or malformed (bad segment table,
    // pointers outside the message, nesting or traversal limits exceeded).
    Status load(zmq::message_t& frame);
    wire::Message::Reader root() const { return root_; }
    // Hands over the frame the current message was read from, so that views into it (a large result's part)
    // outlive the next load; the same pointer for every call until then. Views may point into a copy instead
    // (a misaligned frame): check that they lie within the frame.
    std::shared_ptr<const zmq::message_t> keepFrame();

private:
    size_t maxBytes_;
    zmq::message_t frame_;
    std::shared_ptr<const zmq::message_t> kept_;  // frame_, once handed over
    std::vector<uint64_t> aligned_;               // capnp::word is not copyable for every standard library
    std::optional<capnp::FlatArrayMessageReader> reader_;
    wire::Message::Reader root_;
};

}  // namespace scaler
