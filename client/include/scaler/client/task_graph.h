#pragma once
// A graph of tasks sent in one call (Client::submitGraph). Each node is a function with arguments that are
// bytes, objects or other nodes' results (GraphKey). The scheduler runs a node once its inputs exist and
// only the nodes the requested keys need; intermediate results stay in the cluster.
//
//     scaler::TaskGraph graph;
//     graph.add("a", "echo", {std::string("1")});
//     graph.add("b", "concat", {scaler::GraphKey{"a"}, std::string("2")});
//     auto futures = client.submitGraph(graph, {"b"});   // futures["b"].get() == "12"

#include <map>
#include <string>
#include <vector>

#include "scaler/client/arguments.h"
#include "scaler/client/client.h"

namespace scaler {

class TaskGraph {
public:
    struct Node {
        std::string key;
        std::string function;
        Arguments arguments;
        SubmitOptions options;  // capabilities, timeout, priority, profiling (keepResult is ignored)
    };

    // Throws GraphError when the key is already in the graph.
    void add(std::string key, std::string function, Arguments arguments = {}, SubmitOptions options = {});
    const std::vector<Node>& nodes() const { return nodes_; }
    size_t size() const { return nodes_.size(); }

private:
    std::vector<Node> nodes_;
    std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace scaler
