#include "scaler/scheduler/graphs/task_graphs.h"

#include "scaler/scheduler/slot_allocation.h"

namespace scaler::scheduler {

uint32_t TaskGraphs::add(ClientSlot client, std::vector<GraphNode> nodes) {
    const uint32_t index = takeSlot(graphs_, free_);
    TaskGraph& graph = graphs_[index];
    graph.client = client;
    graph.live = true;
    graph.nodes = std::move(nodes);
    graph.unfinished = static_cast<uint32_t>(graph.nodes.size());
    for (uint32_t i = 0; i < graph.nodes.size(); ++i) {
        GraphNode& node = graph.nodes[i];
        node.unreleasedDependents = static_cast<uint32_t>(node.dependents.size());
        for (uint32_t d : node.dependents) ++graph.nodes[d].pendingInputs;
        byKey_[ClientKey{client, node.key}] = GraphNodeRef{index, i};
    }
    waitingNodes_ += graph.nodes.size();
    ++live_;
    return index;
}

const GraphNodeRef* TaskGraphs::findKey(ClientSlot client, uint64_t key) const {
    auto found = byKey_.find(ClientKey{client, key});
    return found == byKey_.end() ? nullptr : &found->second;
}

bool TaskGraphs::nodeEnded(GraphNodeRef ref, GraphNodeState how) {
    TaskGraph& graph = graphs_[ref.graph];
    GraphNode& node = graph.nodes[ref.node];
    if (node.state == GraphNodeState::waiting) --waitingNodes_;
    node.state = how;
    return --graph.unfinished == 0;
}

void TaskGraphs::markCapabilitySets(std::vector<uint8_t>& used) const {
    for (const TaskGraph& graph : graphs_) {
        if (!graph.live) continue;
        for (const GraphNode& node : graph.nodes) {
            if (node.state != GraphNodeState::waiting) continue;
            if (node.capabilitySet >= used.size()) used.resize(node.capabilitySet + 1, 0);
            used[node.capabilitySet] = 1;
        }
    }
}

void TaskGraphs::remove(uint32_t index) {
    TaskGraph& graph = graphs_[index];
    if (!graph.live) return;
    for (const GraphNode& node : graph.nodes) {
        if (node.state == GraphNodeState::waiting) --waitingNodes_;
        byKey_.erase(ClientKey{graph.client, node.key});
    }
    graph = TaskGraph{};
    free_.push_back(index);
    --live_;
}

std::vector<uint32_t> TaskGraphs::graphsOf(ClientSlot client) const {
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < graphs_.size(); ++i) {
        if (graphs_[i].live && graphs_[i].client == client) out.push_back(i);
    }
    return out;
}

}  // namespace scaler::scheduler
