#pragma once
// What a task takes when it takes more than one byte string: each argument is bytes carried with the task,
// a shared object already in the cluster (Client::sendObject, or a result kept there), or, in a TaskGraph,
// another node's result. The worker's function sees them in order as TaskContext::arguments().

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "scaler/client/byte_source.h"

namespace scaler {

// An object in the scheduler's store. Valid until the client deletes it, clears, or disconnects.
struct ObjectRef {
    uint64_t id = 0;
    uint64_t size = 0;
    std::string name;
    bool valid() const { return id != 0; }
};

// In a TaskGraph: the result of the node with this key.
struct GraphKey {
    std::string key;
};

// Bytes: owned (std::string), or borrowed from a source (a mapped file) that the client keeps until the task
// ends.
using Argument = std::variant<std::string, ObjectRef, GraphKey, std::shared_ptr<const ByteSource>>;

struct Arguments {
    Arguments() = default;
    Arguments(std::initializer_list<Argument> list) : items(list) {}
    explicit Arguments(std::vector<Argument> list) : items(std::move(list)) {}
    std::vector<Argument> items;
};

}  // namespace scaler
