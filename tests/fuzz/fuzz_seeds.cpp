// Writes the starting corpus for the fuzz targets: real conversations (register, submit, results, cancels,
// adapter inventory) and typical configuration text, so the fuzzer starts from valid input and mutates it.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <capnp/message.h>

#include "fuzz_input.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/protocol/wire_bytes.h"

using namespace scaler;

namespace {

std::string frameOf(capnp::MallocMessageBuilder& builder) {
    zmq::message_t frame = encodeFrame(builder);
    return frame.to_string();
}

void write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string conversation() {
    std::string out;
    {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setQueueSize(4);
        const auto caps = parseCapabilities("gpu=2,linux");
        capabilitiesToWire(caps, hb.initCapabilities(static_cast<unsigned>(caps.size())));
        fuzz::appendFrame(out, 0x81, frameOf(b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<wire::Message>().initClientHeartbeat().setProtocolVersion(wire::PROTOCOL_VERSION);
        fuzz::appendFrame(out, 0x80, frameOf(b));
    }
    {
        capnp::MallocMessageBuilder b;
        auto tasks = b.initRoot<wire::Message>().initTasks(3);
        for (unsigned i = 0; i < 3; ++i) {
            tasks[i].setTaskId(i);
            tasks[i].setFunctionName("echo");
            tasks[i].setPayload(asData(std::string("payload")));
            tasks[i].setTimeoutMs(i * 100);
        }
        const auto caps = parseCapabilities("gpu");
        capabilitiesToWire(caps, tasks[2].initCapabilities(1));
        fuzz::appendFrame(out, 0x80, frameOf(b));
    }
    {
        capnp::MallocMessageBuilder b;
        auto results = b.initRoot<wire::Message>().initTaskResults(2);
        results[0].setTaskId(0);
        results[0].setPayload(asData(std::string("payload")));
        results[1].setTaskId(1);
        results[1].setStatus(wire::TaskResultStatus::FAILED);
        results[1].setError("boom");
        fuzz::appendFrame(out, 0x81, frameOf(b));
    }
    {
        capnp::MallocMessageBuilder b;
        auto cancel = b.initRoot<wire::Message>().initTaskCancels(1)[0];
        cancel.setTaskId(2);
        cancel.setForce(true);
        fuzz::appendFrame(out, 0x80, frameOf(b));
    }
    {
        capnp::MallocMessageBuilder b;
        auto confirm = b.initRoot<wire::Message>().initTaskCancelConfirms(1)[0];
        confirm.setTaskId(2);
        confirm.setKind(wire::CancelConfirmKind::CANCELLED);
        fuzz::appendFrame(out, 0xc1, frameOf(b));  // and a few seconds pass
    }
    {
        capnp::MallocMessageBuilder b;
        auto hb = b.initRoot<wire::Message>().initWorkerAdapterHeartbeat();
        hb.setProtocolVersion(wire::PROTOCOL_VERSION);
        hb.setMaxWorkerGroups(4);
        hb.setWorkersPerGroup(2);
        fuzz::appendFrame(out, 0x82, frameOf(b));
    }
    {
        capnp::MallocMessageBuilder b;
        b.initRoot<wire::Message>().initDisconnectRequest();
        fuzz::appendFrame(out, 0x81, frameOf(b));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: scaler_fuzz_seeds CORPUS_ROOT\n";
        return 2;
    }
    const std::filesystem::path root = argv[1];
    write(root / "message_decoder", "seed-conversation", conversation());
    write(root / "message_decoder", "seed-garbage", std::string("\x80\x10\0\0\0garbage-bytes-here", 21));
    const std::pair<const char*, std::string> configs[] = {
        {"policy", std::string(1, '\0') + "allocate=capability; scaling=capability; upper_task_ratio=8"},
        {"policy-fixed", std::string(1, '\0') + "allocate=even_load; scaling=fixed_elastic; primary_max=2"},
        {"capabilities", std::string(1, '\1') + "gpu=2,linux,mem=64"},
        {"toml", std::string(1, '\2') +
                     "[scheduler]\nworker_timeout_seconds = 5\npolicy-content = \"allocate=capability\"\n"},
        {"address", std::string(1, '\3') + "tcp://127.0.0.1:8516"},
    };
    for (const auto& [name, text] : configs)
        write(root / "config_parsers", std::string("seed-") + name, text);
    return 0;
}
