#pragma once
// A FrameSink that keeps every message a session sends, for the session classes' tests.

#include <functional>
#include <vector>

#include <capnp/serialize.h>

#include "scaler/protocol/frame_sink.h"
#include "scaler/wire/message.capnp.h"

namespace scaler::testing {

class RecordingSink : public FrameSink {
public:
    bool send(capnp::MessageBuilder& message) override {
        frames_.push_back(capnp::messageToFlatArray(message));
        return true;
    }
    size_t size() const { return frames_.size(); }
    void clear() { frames_.clear(); }
    // Calls `visit` with each sent message of kind `which`, oldest first; returns how many there were.
    size_t each(wire::Message::Which which,
                const std::function<void(wire::Message::Reader)>& visit = {}) const {
        size_t n = 0;
        for (const auto& frame : frames_) {
            capnp::FlatArrayMessageReader reader(frame.asPtr());
            const auto message = reader.getRoot<wire::Message>();
            if (message.which() != which) continue;
            ++n;
            if (visit) visit(message);
        }
        return n;
    }

private:
    std::vector<kj::Array<capnp::word>> frames_;
};

// A message to feed a session: build it with the lambda, read it as received.
class IncomingMessage {
public:
    template <typename Build>
    explicit IncomingMessage(Build&& build) {
        build(builder_.initRoot<wire::Message>());
    }
    wire::Message::Reader reader() { return builder_.getRoot<wire::Message>().asReader(); }

private:
    capnp::MallocMessageBuilder builder_;
};

}  // namespace scaler::testing
