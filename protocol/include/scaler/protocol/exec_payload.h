#pragma once
// Encoding of command tasks: the payload the `exec` built-in takes and the result it returns.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scaler {

struct ExecRequest {
    std::vector<std::string> argv;
    std::string workingDirectory;
    std::string stdinData;
};

struct ExecResult {
    int32_t exitCode = 0;  // -1 when killed by a signal
    int32_t signal = 0;
    std::string stdoutData;
    std::string stderrData;
    bool outputTruncated = false;
};

std::string encodeExecRequest(const ExecRequest& request);
std::string encodeExecResult(const ExecResult& result);
// Both throw std::invalid_argument when the bytes are not a valid encoding.
ExecRequest decodeExecRequest(std::string_view bytes);
ExecResult decodeExecResult(std::string_view bytes);

}  // namespace scaler
