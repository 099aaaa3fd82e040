// SchedulerCore's object messages: clients' chunks in, workers' requests answered, references held by
// tasks. The store itself is ObjectStore; docs/architecture.md#objects.

#include "scaler/common/log.h"
#include "scaler/common/printable.h"
#include "scaler/protocol/wire_bytes.h"
#include "scaler/scheduler/routing/scheduler_core.h"
#include "scaler/scheduler/routing/task_arguments.h"

namespace scaler::scheduler {
namespace {
constexpr uint64_t kMaxObjectChunkBytes = 8u << 20;
}

void SchedulerCore::onObjectPut(ClientSlot client, wire::ObjectPut::Reader put) {
    const auto data = asStringView(put.getData());
    const auto name = asStringView(put.getName());
    const ObjectStore::PutOutcome outcome =
        objects_.put(client, put.getObjectId(), name, put.getTotalSize(), put.getOffset(), data, now_);
    if (!outcome.error.empty()) {
        logRefusal(clients_[client].identity, "object",
                   "object " + std::to_string(put.getObjectId()) + ": " + outcome.error);
    } else if (outcome.complete) {
        log::tasks().debug("client '{}': object {} '{}' stored, {} ({} in the store)",
                           printable(clients_[client].identity), put.getObjectId(), printable(name),
                           formatBytes(put.getTotalSize()), formatBytes(objects_.bytes()));
    }
    outbox_.sendObjectPutAck(clients_[client].peer, put.getObjectId(), outcome.receivedBytes, outcome.error);
}

void SchedulerCore::onObjectDelete(ClientSlot client, wire::ObjectDelete::Reader request) {
    if (request.getAll()) {
        const size_t n = objects_.removeClient(client);
        log::tasks().info("client '{}' cleared its {} objects ({} in the store)",
                          printable(clients_[client].identity), n, formatBytes(objects_.bytes()));
    }
    for (uint64_t id : request.getObjectIds()) objects_.remove(client, id);
}

bool SchedulerCore::workerNeedsObject(WorkerSlot worker, uint64_t handle) const {
    for (TaskIndex i = workers_[worker].assigned.head; i != kNone; i = tasks_[i].queueLinks.next) {
        const TaskRecord& record = tasks_[i];
        if (!record.hasArguments) continue;
        bool found = false;
        forEachArgument(record.payload(), [&](const EncodedArgument& argument) {
            found = found || (argument.kind == EncodedArgument::Kind::object && argument.handle == handle);
        });
        if (found) return true;
    }
    return false;
}

void SchedulerCore::onObjectRequest(WorkerSlot worker, wire::ObjectRequest::Reader request) {
    const uint64_t handle = request.getObjectId();
    WorkerRecord& record = workers_[worker];
    // handles are guessable (slot and generation): only an object one of its tasks uses, else "not in the
    // store"
    if (record.grantedObject != handle) {
        if (!workerNeedsObject(worker, handle)) {
            logRefusal(record.identity, "object request",
                       "object " + std::to_string(handle) + " for no task this worker holds");
            outbox_.sendObjectChunk(record.peer, handle, 0, request.getOffset(), {},
                                    "object " + std::to_string(handle) + " is not in the store (deleted)");
            return;
        }
        record.grantedObject = handle;
    }
    const auto slice = objects_.read(handle, request.getOffset(),
                                     std::min<uint64_t>(request.getLength(), kMaxObjectChunkBytes));
    if (!slice) {
        outbox_.sendObjectChunk(workers_[worker].peer, handle, 0, request.getOffset(), {},
                                "object " + std::to_string(handle) + " is not in the store (deleted)");
        return;
    }
    outbox_.sendObjectChunk(workers_[worker].peer, handle, slice->totalSize, request.getOffset(),
                            slice->bytes, {});
}

Status SchedulerCore::encodeArguments(ClientSlot client, capnp::List<wire::TaskArgument>::Reader args,
                                      const std::unordered_map<uint64_t, uint32_t>* nodeIndex,
                                      std::string& out) {
    TaskArgumentsWriter writer;
    std::vector<ObjectHandle> acquired;
    const auto refuseReleasing = [&](std::string why) -> Status {
        for (ObjectHandle handle : acquired) objects_.release(handle);
        return refuse(std::move(why));
    };
    for (wire::TaskArgument::Reader arg : args) {
        switch (arg.which()) {
            case wire::TaskArgument::DATA:
                writer.addBytes(asStringView(arg.getData()));
                break;
            case wire::TaskArgument::OBJECT: {
                const auto handle = objects_.find(client, arg.getObject());
                if (!handle) {
                    return refuseReleasing(
                        "object " + std::to_string(arg.getObject()) +
                        " is not in the store: it was deleted, never sent, or belongs to another client");
                }
                objects_.acquire(*handle);
                acquired.push_back(*handle);
                writer.addObject(*handle, *objects_.sizeOf(*handle));
                break;
            }
            case wire::TaskArgument::NODE: {
                if (nodeIndex == nullptr) return refuseReleasing("a node argument outside a graph");
                const auto found = nodeIndex->find(arg.getNode());
                if (found == nodeIndex->end())
                    return refuseReleasing("unknown key " + std::to_string(arg.getNode()));
                writer.addNode(found->second);
                break;
            }
        }
    }
    out = std::move(writer.text());
    return {};
}

void SchedulerCore::releaseArgumentObjects(std::string_view encoded) {
    forEachArgument(encoded, [this](const EncodedArgument& argument) {
        if (argument.kind == EncodedArgument::Kind::object) objects_.release(argument.handle);
    });
}

}  // namespace scaler::scheduler
