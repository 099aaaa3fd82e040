#pragma once
// Graphs whose nodes are still to run. A node waits here until its inputs exist, then SchedulerCore makes it
// a task; its result is held here (small ones inline, larger ones as an unnamed store object) until every
// dependent has been released. Pure state: the core decides and acts.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "scaler/scheduler/ids.h"
#include "scaler/scheduler/objects/object_store.h"

namespace scaler::scheduler {

enum class GraphNodeState : uint8_t { waiting, released, succeeded, failed, cancelled };

struct GraphNode {
    uint64_t key = 0;  // the client's task id for it
    std::string functionName;
    std::string arguments;  // TaskArgumentsWriter encoding; node references by index in the graph
    CapabilitySetId capabilitySet = 0;
    uint32_t timeoutMs = 0;
    int16_t priority = 0;
    bool profiling = false;
    bool output = false;  // the client asked for its result
    GraphNodeState state = GraphNodeState::waiting;
    uint32_t pendingInputs = 0;
    uint32_t unreleasedDependents = 0;  // the result is dropped when this reaches 0
    std::vector<uint32_t> dependents;
    // the result, for dependents
    std::string inlineResult;
    ObjectHandle resultObject = 0;  // 0: inline
};

struct TaskGraph {
    ClientSlot client = kNone;
    bool live = false;
    uint32_t unfinished = 0;  // nodes not yet succeeded, failed or cancelled
    std::vector<GraphNode> nodes;
};

struct GraphNodeRef {
    uint32_t graph = kNone;
    uint32_t node = kNone;
};

class TaskGraphs {
public:
    // Takes nodes whose node references and `dependents` are filled in; counts their inputs.
    uint32_t add(ClientSlot client, std::vector<GraphNode> nodes);
    TaskGraph& operator[](uint32_t graph) { return graphs_[graph]; }
    // The graph whose output (or any node) has this key, while the graph lives.
    const GraphNodeRef* findKey(ClientSlot client, uint64_t key) const;
    // A node reached an end: one fewer unfinished. True when none remain (the caller then drops the graph).
    bool nodeEnded(GraphNodeRef ref, GraphNodeState how);
    void remove(uint32_t graph);
    std::vector<uint32_t> graphsOf(ClientSlot client) const;

    // Sets used[id] for the capability set of every node still waiting in a live graph (grows `used`).
    void markCapabilitySets(std::vector<uint8_t>& used) const;

    size_t liveGraphs() const { return live_; }
    uint64_t waitingNodes() const { return waitingNodes_; }
    void noteReleased() { --waitingNodes_; }

private:
    std::vector<TaskGraph> graphs_;
    std::vector<uint32_t> free_;
    std::unordered_map<ClientKey, GraphNodeRef, ClientKeyHash> byKey_;
    size_t live_ = 0;
    uint64_t waitingNodes_ = 0;
};

}  // namespace scaler::scheduler
