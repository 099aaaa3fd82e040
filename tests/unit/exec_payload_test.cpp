#include <gtest/gtest.h>

#include "scaler/protocol/exec_payload.h"

TEST(ExecPayload, RoundTrips) {
    scaler::ExecRequest request{{"sh", "-c", "echo hi"}, "/tmp", std::string("in\0put", 6)};
    const auto decoded = scaler::decodeExecRequest(scaler::encodeExecRequest(request));
    EXPECT_EQ(decoded.argv, request.argv);
    EXPECT_EQ(decoded.workingDirectory, "/tmp");
    EXPECT_EQ(decoded.stdinData, request.stdinData);

    scaler::ExecResult result{3, 0, "out", "err", true};
    const auto back = scaler::decodeExecResult(scaler::encodeExecResult(result));
    EXPECT_EQ(back.exitCode, 3);
    EXPECT_EQ(back.stdoutData, "out");
    EXPECT_EQ(back.stderrData, "err");
    EXPECT_TRUE(back.outputTruncated);
}

TEST(ExecPayload, GarbageIsRejected) {
    EXPECT_THROW(scaler::decodeExecRequest("not capnp"), std::invalid_argument);
    EXPECT_THROW(scaler::decodeExecRequest(std::string(16, '\xff')), std::invalid_argument);
}
