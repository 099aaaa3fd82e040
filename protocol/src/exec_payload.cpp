#include "scaler/protocol/exec_payload.h"

#include <cstring>
#include <stdexcept>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "scaler/protocol/wire_bytes.h"
#include "scaler/wire/exec.capnp.h"

namespace scaler {
namespace {

std::string toBytes(capnp::MessageBuilder& builder) {
    const auto words = capnp::messageToFlatArray(builder);
    const auto bytes = words.asBytes();
    return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

template <typename Root, typename Fn>
auto fromBytes(std::string_view bytes, const char* what, Fn&& read) {
    if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
        throw std::invalid_argument(std::string("not a valid ") + what + " encoding");
    }
    std::vector<capnp::word> aligned(bytes.size() / sizeof(capnp::word));
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    try {
        capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(aligned.data(), aligned.size()));
        return read(reader.getRoot<Root>());
    } catch (const kj::Exception& e) {
        throw std::invalid_argument(std::string("not a valid ") + what +
                                    " encoding: " + e.getDescription().cStr());
    }
}

}  // namespace

std::string encodeExecRequest(const ExecRequest& request) {
    capnp::MallocMessageBuilder builder;
    auto root = builder.initRoot<wire::ExecRequest>();
    auto argv = root.initArgv(static_cast<unsigned>(request.argv.size()));
    for (unsigned i = 0; i < request.argv.size(); ++i) argv.set(i, request.argv[i]);
    root.setWorkingDirectory(request.workingDirectory);
    root.setStdin(asData(request.stdinData));
    return toBytes(builder);
}

std::string encodeExecResult(const ExecResult& result) {
    capnp::MallocMessageBuilder builder;
    auto root = builder.initRoot<wire::ExecOutput>();
    root.setExitCode(result.exitCode);
    root.setSignal(result.signal);
    root.setStdout(asData(result.stdoutData));
    root.setStderr(asData(result.stderrData));
    root.setOutputTruncated(result.outputTruncated);
    return toBytes(builder);
}

ExecRequest decodeExecRequest(std::string_view bytes) {
    return fromBytes<wire::ExecRequest>(bytes, "exec request", [](wire::ExecRequest::Reader r) {
        ExecRequest request;
        for (auto arg : r.getArgv()) request.argv.emplace_back(arg.cStr(), arg.size());
        request.workingDirectory = r.getWorkingDirectory();
        request.stdinData = std::string(asStringView(r.getStdin()));
        return request;
    });
}

ExecResult decodeExecResult(std::string_view bytes) {
    return fromBytes<wire::ExecOutput>(bytes, "exec result", [](wire::ExecOutput::Reader r) {
        ExecResult result;
        result.exitCode = r.getExitCode();
        result.signal = r.getSignal();
        result.stdoutData = std::string(asStringView(r.getStdout()));
        result.stderrData = std::string(asStringView(r.getStderr()));
        result.outputTruncated = r.getOutputTruncated();
        return result;
    });
}

}  // namespace scaler
