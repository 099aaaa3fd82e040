#pragma once
// A task's arguments as the scheduler keeps them in its record (after the function name): inline bytes,
// object references (the store's handle and size) and, in a graph node still waiting, references to other
// nodes. A compact private encoding: one kind byte, then the value.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace scaler::scheduler {

struct EncodedArgument {
    enum class Kind : uint8_t { bytes, object, node };
    Kind kind = Kind::bytes;
    std::string_view bytes;  // Kind::bytes
    uint64_t handle = 0;     // Kind::object
    uint64_t size = 0;       // Kind::object
    uint32_t node = 0;       // Kind::node: index in the graph
};

class TaskArgumentsWriter {
public:
    void addBytes(std::string_view bytes) {
        put(EncodedArgument::Kind::bytes);
        put(static_cast<uint64_t>(bytes.size()));
        out_.append(bytes);
    }
    void addObject(uint64_t handle, uint64_t size) {
        put(EncodedArgument::Kind::object);
        put(handle);
        put(size);
    }
    void addNode(uint32_t node) {
        put(EncodedArgument::Kind::node);
        put(static_cast<uint64_t>(node));
    }
    std::string& text() { return out_; }

private:
    void put(EncodedArgument::Kind kind) { out_.push_back(static_cast<char>(kind)); }
    void put(uint64_t value) { out_.append(reinterpret_cast<const char*>(&value), sizeof value); }
    std::string out_;
};

// Calls f(const EncodedArgument&) for each argument, in order. The encoding is the scheduler's own, so it
// is trusted.
template <typename F>
void forEachArgument(std::string_view encoded, F&& f) {
    const auto take = [&encoded]() {
        uint64_t value;
        std::memcpy(&value, encoded.data(), sizeof value);
        encoded.remove_prefix(sizeof value);
        return value;
    };
    while (!encoded.empty()) {
        EncodedArgument argument;
        argument.kind = static_cast<EncodedArgument::Kind>(encoded.front());
        encoded.remove_prefix(1);
        switch (argument.kind) {
            case EncodedArgument::Kind::bytes: {
                const uint64_t size = take();
                argument.bytes = encoded.substr(0, size);
                encoded.remove_prefix(size);
                break;
            }
            case EncodedArgument::Kind::object:
                argument.handle = take();
                argument.size = take();
                break;
            case EncodedArgument::Kind::node:
                argument.node = static_cast<uint32_t>(take());
                break;
        }
        f(argument);
    }
}

}  // namespace scaler::scheduler
