#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/retry_interrupted.h"

#include <cstdint>
#include <cstring>

#include <kj/exception.h>

namespace scaler {

bool sendFrame(zmq::socket_t& socket, capnp::MessageBuilder& builder) {
    zmq::message_t frame = encodeFrame(builder);
    return retryInterrupted([&] { return socket.send(frame, zmq::send_flags::dontwait); }).has_value();
}

zmq::message_t encodeFrame(capnp::MessageBuilder& builder) {
    const auto segments = builder.getSegmentsForOutput();
    const size_t words = capnp::computeSerializedSizeInWords(segments);
    zmq::message_t frame(words * sizeof(capnp::word));
    kj::ArrayPtr<capnp::word> out(static_cast<capnp::word*>(frame.data()), words);
    // zmq buffers are malloc-aligned except for very small inline messages, which ArrayOutputStream handles.
    kj::ArrayOutputStream stream(out.asBytes());
    capnp::writeMessage(stream, segments);
    return frame;
}

std::shared_ptr<const zmq::message_t> FrameReader::keepFrame() {
    // a moved zmq message keeps its buffer where it was, so the reader's pointers stay valid
    if (!kept_) kept_ = std::make_shared<const zmq::message_t>(std::move(frame_));
    return kept_;
}

Status FrameReader::load(zmq::message_t& frame) {
    reader_.reset();
    kept_.reset();
    frame_.move(frame);
    const size_t size = frame_.size();
    if (size > maxBytes_) {
        return refuse("message of " + std::to_string(size) + " bytes exceeds the limit of " +
                      std::to_string(maxBytes_));
    }
    if (size == 0 || size % sizeof(capnp::word) != 0) {
        return refuse("message length " + std::to_string(size) + " is not a whole number of 8-byte words");
    }
    const capnp::word* words = static_cast<const capnp::word*>(frame_.data());
    if (reinterpret_cast<uintptr_t>(words) % alignof(capnp::word) != 0) {
        aligned_.resize(size / sizeof(capnp::word));
        std::memcpy(aligned_.data(), frame_.data(), size);
        words = reinterpret_cast<const capnp::word*>(aligned_.data());
    }
    capnp::ReaderOptions options;
    // A traversal limit proportional to the frame size stops amplification through shared pointers.
    options.traversalLimitInWords = size / sizeof(capnp::word) * 4 + 1024;
    options.nestingLimit = 32;
    try {
        reader_.emplace(kj::ArrayPtr<const capnp::word>(words, size / sizeof(capnp::word)), options);
        root_ = reader_->getRoot<wire::Message>();
        root_.totalSize();  // walks every pointer once, so handlers see a structurally valid message
        root_.which();
    } catch (const kj::Exception& e) {
        reader_.reset();
        return refuse(std::string("malformed message: ") + e.getDescription().cStr());
    }
    return {};
}

}  // namespace scaler
