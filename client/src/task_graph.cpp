#include "scaler/client/task_graph.h"

namespace scaler {

void TaskGraph::add(std::string key, std::string function, Arguments arguments, SubmitOptions options) {
    if (index_.count(key) != 0) throw GraphError("key '" + key + "' is already in the graph");
    index_.emplace(key, nodes_.size());
    nodes_.push_back({std::move(key), std::move(function), std::move(arguments), std::move(options)});
}

}  // namespace scaler
