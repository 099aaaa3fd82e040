// SchedulerCore's graph messages: a graph is checked, pruned to what its outputs need, and each node made a
// task once its inputs exist. TaskGraphs holds the state; docs/architecture.md#graphs.

#include <chrono>
#include <utility>

#include "scaler/common/log.h"
#include "scaler/common/printable.h"
#include "scaler/protocol/graph_plan.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/routing/scheduler_core.h"
#include "scaler/scheduler/routing/task_arguments.h"

namespace scaler::scheduler {
namespace {
// Graph results up to this size travel inside their dependents' task messages; larger ones stay in the store
// and the workers that need them fetch them.
constexpr size_t kInlineResultBytes = 64u << 10;

GraphNodeState nodeStateOf(TaskState terminal) {
    switch (terminal) {
        case TaskState::succeeded:
            return GraphNodeState::succeeded;
        case TaskState::cancelled:
            return GraphNodeState::cancelled;
        default:
            return GraphNodeState::failed;
    }
}

struct GraphShape {
    std::unordered_map<uint64_t, uint32_t> indexOf;   // key -> node
    std::vector<std::vector<uint32_t>> dependencies;  // node -> the nodes it reads
    std::vector<uint32_t> outputIndex;                // the nodes asked for
};

// The graph's keys, edges and outputs; why it is refused when a key repeats or is in use, or an edge or an
// output names no node.
template <typename KeyInUse>
Status readGraphShape(wire::TaskGraph::Reader graph, const KeyInUse& keyInUse, GraphShape& shape) {
    const auto wireNodes = graph.getNodes();
    const auto n = static_cast<uint32_t>(wireNodes.size());
    shape.indexOf.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        const uint64_t key = wireNodes[i].getTaskId();
        if (!shape.indexOf.emplace(key, i).second)
            return refuse("key " + std::to_string(key) + " appears twice");
        if (keyInUse(key)) return refuse("key " + std::to_string(key) + " is already used by a live task");
    }
    shape.dependencies.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
        for (wire::TaskArgument::Reader arg : wireNodes[i].getArgs()) {
            if (arg.which() != wire::TaskArgument::NODE) continue;
            const auto found = shape.indexOf.find(arg.getNode());
            if (found == shape.indexOf.end()) {
                return refuse("node " + std::to_string(wireNodes[i].getTaskId()) + " needs key " +
                              std::to_string(arg.getNode()) + ", which is not in the graph");
            }
            shape.dependencies[i].push_back(found->second);
        }
    }
    for (uint64_t key : graph.getOutputs()) {
        const auto found = shape.indexOf.find(key);
        if (found == shape.indexOf.end())
            return refuse("output key " + std::to_string(key) + " is not a node of the graph");
        shape.outputIndex.push_back(found->second);
    }
    return {};
}
}  // namespace

void SchedulerCore::onTaskGraph(ClientSlot client, wire::TaskGraph::Reader graph) {
    const auto wireNodes = graph.getNodes();
    const auto outputs = graph.getOutputs();
    const auto refuseAll = [&](const std::string& why) {
        logRefusal(clients_[client].identity, "graph",
                   "graph of " + std::to_string(wireNodes.size()) + " nodes: " + printable(why, 300));
        // each output is answered (its future waits for it), with a bounded text and no line of its own
        const std::string answer = "graph refused: " + printable(why, 1000);
        for (uint64_t key : outputs) answerRejected(client, key, answer);
    };
    if (outputs.size() ==
        0) {  // nothing asked for, nothing to run: kept, it would live until its client left
        logRefusal(clients_[client].identity, "graph",
                   "graph of " + std::to_string(wireNodes.size()) + " nodes names no outputs");
        return;
    }
    const auto n = static_cast<uint32_t>(wireNodes.size());
    GraphShape shape;
    const auto keyInUse = [&](uint64_t key) {
        return clientTaskIndex_.find(client, key) != kNone || graphs_.findKey(client, key) != nullptr;
    };
    if (const Status read = readGraphShape(graph, keyInUse, shape); !read) return refuseAll(read.why());
    const auto& dependencies = shape.dependencies;
    const auto& outputIndex = shape.outputIndex;
    const GraphPlan plan = planGraph(dependencies, outputIndex,
                                     [&](uint32_t i) { return std::to_string(wireNodes[i].getTaskId()); });
    if (!plan.error.empty()) return refuseAll(plan.error);

    // the nodes to run, renumbered in plan order; node arguments point at the new numbers
    std::unordered_map<uint64_t, uint32_t> neededIndex;
    neededIndex.reserve(plan.order.size());
    for (uint32_t k = 0; k < plan.order.size(); ++k)
        neededIndex.emplace(wireNodes[plan.order[k]].getTaskId(), k);
    std::vector<GraphNode> nodes(plan.order.size());
    const auto releaseEncoded = [&](uint32_t upTo) {
        for (uint32_t k = 0; k < upTo; ++k) releaseArgumentObjects(nodes[k].arguments);
    };
    CapabilitySetId previousSet = 0;
    for (uint32_t k = 0; k < plan.order.size(); ++k) {
        wire::Task::Reader task = wireNodes[plan.order[k]];
        GraphNode& node = nodes[k];
        node.key = task.getTaskId();
        const std::string keyText = "node " + std::to_string(node.key);
        NewTask fields;
        Status made = checkTask(client, task, previousSet, fields);
        if (made) made = encodeArguments(client, task.getArgs(), &neededIndex, node.arguments);
        if (!made) {
            releaseEncoded(k);
            return refuseAll(keyText + ": " + made.why());
        }
        node.functionName = std::string(fields.functionName);
        node.capabilitySet = fields.capabilitySet;
        node.timeoutMs = fields.timeoutMs;
        node.priority = fields.priority;
        node.profiling = fields.profiling;
        for (uint32_t d : dependencies[plan.order[k]])
            nodes[neededIndex.at(wireNodes[d].getTaskId())].dependents.push_back(k);
    }
    for (uint32_t i : outputIndex) nodes[neededIndex.at(wireNodes[i].getTaskId())].output = true;

    const uint32_t id = graphs_.add(client, std::move(nodes));
    log::tasks().debug("client '{}': graph of {} nodes, {} to run for {} outputs",
                       printable(clients_[client].identity), n, plan.order.size(), outputs.size());
    for (uint32_t k = 0; k < graphs_[id].nodes.size() && graphs_[id].live; ++k) {
        const GraphNode& node = graphs_[id].nodes[k];
        if (node.state == GraphNodeState::waiting && node.pendingInputs == 0) releaseGraphNode(id, k);
    }
}

void SchedulerCore::forgetInputs(uint32_t graphId, uint32_t nodeIndex) {
    TaskGraph& graph = graphs_[graphId];
    forEachArgument(graph.nodes[nodeIndex].arguments, [&](const EncodedArgument& argument) {
        if (argument.kind != EncodedArgument::Kind::node) return;
        GraphNode& input = graph.nodes[argument.node];
        if (input.unreleasedDependents > 0 && --input.unreleasedDependents == 0) dropNodeResult(input);
    });
}

void SchedulerCore::releaseGraphNode(uint32_t graphId, uint32_t nodeIndex) {
    TaskGraph& graph = graphs_[graphId];
    GraphNode& node = graph.nodes[nodeIndex];
    TaskArgumentsWriter writer;
    forEachArgument(node.arguments, [&](const EncodedArgument& argument) {
        switch (argument.kind) {
            case EncodedArgument::Kind::bytes:
                writer.addBytes(argument.bytes);
                break;
            case EncodedArgument::Kind::object:
                writer.addObject(argument.handle, argument.size);  // the node's reference passes to the task
                break;
            case EncodedArgument::Kind::node: {
                const GraphNode& input = graph.nodes[argument.node];
                if (input.resultObject != 0) {
                    objects_.acquire(input.resultObject);
                    writer.addObject(input.resultObject, objects_.sizeOf(input.resultObject).value_or(0));
                } else {
                    writer.addBytes(input.inlineResult);
                }
                break;
            }
        }
    });
    forgetInputs(graphId, nodeIndex);
    node.arguments.clear();
    node.arguments.shrink_to_fit();
    node.state = GraphNodeState::released;
    graphs_.noteReleased();

    NewTask fields;
    fields.clientTaskId = node.key;
    fields.functionName = node.functionName;
    fields.body = writer.text();
    fields.hasArguments = true;
    fields.capabilitySet = node.capabilitySet;
    fields.timeoutMs = node.timeoutMs;
    fields.priority = node.priority;
    fields.profiling = node.profiling;
    fields.arrivedMs = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now_ - startedAt_).count());
    const Result<TaskIndex> made = createTask(graph.client, fields);
    if (!made) {
        releaseArgumentObjects(writer.text());
        if (node.output) {
            rejectTask(graph.client, node.key, made.why());
        } else {
            counts_.enter(TaskState::rejected);
        }
        return onGraphNodeFinished({graphId, nodeIndex}, TaskState::rejected, made.why(), {});
    }
    tasks_[made.value()].inGraph = true;
    graphNodeOfTask_[made.value()] = GraphNodeRef{graphId, nodeIndex};
}

void SchedulerCore::onTaskEnding(const TaskRecord& record, TaskEnd& end) {
    if (!record.inGraph) return;
    const auto found = graphNodeOfTask_.find(end.index);
    if (found == graphNodeOfTask_.end()) return;
    endingNode_ = found->second;
    graphNodeOfTask_.erase(found);
    end.answerClient = graphs_[endingNode_.graph].nodes[endingNode_.node].output;
}

void SchedulerCore::onTaskEnded(const TaskEnd& end) {
    if (endingNode_.graph == kNone) return;
    // the record is gone: the dependents it frees may become tasks, in its slot too
    const GraphNodeRef node = std::exchange(endingNode_, GraphNodeRef{});
    onGraphNodeFinished(node, end.terminal, std::string(end.outcome.error), end.outcome.payload);
}

void SchedulerCore::onGraphNodeFinished(GraphNodeRef ref, TaskState terminal, const std::string& error,
                                        std::string_view payload) {
    TaskGraph& graph = graphs_[ref.graph];
    if (!graph.live) return;
    GraphNode& node = graph.nodes[ref.node];
    if (terminal != TaskState::succeeded) {
        failDependents(ref, terminal, error);
        if (graph.live && graphs_.nodeEnded(ref, nodeStateOf(terminal))) dropGraph(ref.graph);
        return;
    }
    if (node.unreleasedDependents > 0) {
        if (payload.size() <= kInlineResultBytes) {
            node.inlineResult = std::string(payload);
        } else {
            node.resultObject =
                objects_.store(graph.client, 0, "result of node " + std::to_string(node.key), payload);
            objects_.acquire(node.resultObject);  // the graph's reference, until every dependent is released
        }
    }
    std::vector<uint32_t> ready;
    for (uint32_t d : node.dependents) {
        GraphNode& dependent = graph.nodes[d];
        if (--dependent.pendingInputs == 0 && dependent.state == GraphNodeState::waiting) ready.push_back(d);
    }
    if (graphs_.nodeEnded(ref, GraphNodeState::succeeded)) return dropGraph(ref.graph);
    for (uint32_t d : ready) {
        if (!graphs_[ref.graph].live) return;
        releaseGraphNode(ref.graph, d);
    }
}

void SchedulerCore::failDependents(GraphNodeRef from, TaskState terminal, const std::string& error) {
    TaskGraph& graph = graphs_[from.graph];
    const std::string why = terminal == TaskState::cancelled
                                ? std::string()
                                : "a task it depends on (key " + std::to_string(graph.nodes[from.node].key) +
                                      ") failed: " + error;
    // every waiting node downstream, each once
    std::vector<uint32_t> stack(graph.nodes[from.node].dependents);
    std::vector<uint32_t> doomed;
    std::vector<uint8_t> seen(graph.nodes.size(), 0);
    while (!stack.empty()) {
        const uint32_t at = stack.back();
        stack.pop_back();
        if (seen[at] || graph.nodes[at].state != GraphNodeState::waiting) continue;
        seen[at] = 1;
        doomed.push_back(at);
        for (uint32_t d : graph.nodes[at].dependents) stack.push_back(d);
    }
    const TaskState end = terminal == TaskState::cancelled ? TaskState::cancelled : TaskState::failed;
    for (uint32_t at : doomed) {
        if (!graphs_[from.graph].live) return;
        endWaitingNode({from.graph, at}, end, why);
    }
}

void SchedulerCore::endWaitingNode(GraphNodeRef ref, TaskState terminal, const std::string& error) {
    TaskGraph& graph = graphs_[ref.graph];
    GraphNode& node = graph.nodes[ref.node];
    if (node.output) {
        const PeerId peer = clients_[graph.client].peer;
        if (terminal == TaskState::cancelled) {
            outbox_.sendTaskCancelConfirm(peer, node.key, wire::CancelConfirmKind::CANCELLED);
        } else {
            outbox_.sendTaskResult(peer, node.key, wire::TaskResultStatus::FAILED, {}, error, {});
        }
    }
    counts_.enter(terminal);
    forgetInputs(ref.graph, ref.node);
    releaseArgumentObjects(node.arguments);
    node.arguments.clear();
    if (graphs_.nodeEnded(ref, nodeStateOf(terminal))) dropGraph(ref.graph);
}

void SchedulerCore::dropNodeResult(GraphNode& node) {
    if (node.resultObject != 0) objects_.release(node.resultObject);
    node.resultObject = 0;
    node.inlineResult.clear();
    node.inlineResult.shrink_to_fit();
}

void SchedulerCore::cancelGraph(uint32_t graphId) {
    std::vector<uint32_t> waiting;
    std::vector<uint64_t> releasedKeys;
    const ClientSlot client = graphs_[graphId].client;
    for (uint32_t k = 0; k < graphs_[graphId].nodes.size(); ++k) {
        const GraphNode& node = graphs_[graphId].nodes[k];
        if (node.state == GraphNodeState::waiting) waiting.push_back(k);
        if (node.state == GraphNodeState::released) releasedKeys.push_back(node.key);
    }
    log::tasks().info("client '{}' cancelled a graph: {} nodes not started, {} running or queued",
                      printable(clients_[client].identity), waiting.size(), releasedKeys.size());
    for (uint32_t k : waiting) {
        if (!graphs_[graphId].live) return;
        if (graphs_[graphId].nodes[k].state == GraphNodeState::waiting) {
            endWaitingNode({graphId, k}, TaskState::cancelled, {});
        }
    }
    for (uint64_t key : releasedKeys) {
        const TaskIndex index = clientTaskIndex_.find(client, key);
        if (index != kNone) apply(index, TaskEvent::cancel, {});
    }
}

void SchedulerCore::dropGraph(uint32_t graphId) {
    TaskGraph& graph = graphs_[graphId];
    if (!graph.live) return;
    for (GraphNode& node : graph.nodes) {
        dropNodeResult(node);
        if (node.state == GraphNodeState::waiting) {
            releaseArgumentObjects(node.arguments);
            counts_.enter(TaskState::cancelled);
        } else if (node.state == GraphNodeState::released) {
            // still a task: it ends as a plain one (its client is leaving, so it is being cancelled)
            const TaskIndex index = clientTaskIndex_.find(graph.client, node.key);
            if (index != kNone) {
                graphNodeOfTask_.erase(index);
                tasks_[index].inGraph = false;
            }
        }
    }
    graphs_.remove(graphId);
}

}  // namespace scaler::scheduler
