#include <gtest/gtest.h>

#include "scaler/protocol/message_codec.h"

using namespace scaler;

TEST(MessageCodec, RoundTripsAMessage) {
    capnp::MallocMessageBuilder builder;
    auto tasks = builder.initRoot<wire::Message>().initTasks(2);
    tasks[0].setTaskId(7);
    tasks[0].setFunctionName("echo");
    tasks[1].setTaskId(8);
    zmq::message_t frame = encodeFrame(builder);
    FrameReader reader;
    const Status loaded = reader.load(frame);
    ASSERT_TRUE(loaded) << loaded.why();
    ASSERT_EQ(reader.root().which(), wire::Message::TASKS);
    EXPECT_EQ(reader.root().getTasks()[1].getTaskId(), 8u);
    EXPECT_EQ(std::string(reader.root().getTasks()[0].getFunctionName().cStr()), "echo");
}

TEST(MessageCodec, RejectsGarbageTruncationAndOversize) {
    FrameReader reader(4096);
    zmq::message_t odd("abc", 3);
    EXPECT_FALSE(reader.load(odd));
    zmq::message_t garbage(std::string(64, '\xff').data(), 64);
    EXPECT_FALSE(reader.load(garbage));

    capnp::MallocMessageBuilder builder;
    builder.initRoot<wire::Message>().initTasks(1)[0].setPayload(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(std::string(10000, 'x').data()), 10000));
    zmq::message_t big = encodeFrame(builder);
    const Status oversize = reader.load(big);
    EXPECT_FALSE(oversize);
    EXPECT_NE(oversize.why().find("exceeds"), std::string::npos);

    capnp::MallocMessageBuilder small;
    small.initRoot<wire::Message>().initTasks(3);
    zmq::message_t whole = encodeFrame(small);
    zmq::message_t truncated(whole.data(), whole.size() - 8);
    EXPECT_FALSE(reader.load(truncated));
}
