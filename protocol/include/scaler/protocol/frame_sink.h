#pragma once
// Where a session class (WorkerSession, AdapterSession, ClientSession) sends its messages: a
// DealerConnection in the processes, a recording sink in the unit tests.

#include <capnp/message.h>

namespace scaler {

class FrameSink {
public:
    virtual ~FrameSink() = default;
    // Never blocks. False when the message could not be queued (no connection yet).
    virtual bool send(capnp::MessageBuilder& message) = 0;
};

}  // namespace scaler
