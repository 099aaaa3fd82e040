#pragma once
// The C++ client: submit tasks to a scaler_scheduler and collect their results.
//
//     scaler::Client client("tcp://127.0.0.1:8516");
//     scaler::Future f = client.submit("echo", "hello");
//     std::string result = f.get();
//
// Thread-safe. A background I/O thread owns the connection, batches submissions (many tasks per message)
// and keeps heartbeats going.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scaler/client/arguments.h"
#include "scaler/client/errors.h"
#include "scaler/client/future.h"
#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/exec_payload.h"

namespace scaler {

struct ClientOptions {
    double heartbeatIntervalSeconds = 2;
    // While no task or graph is unfinished, heartbeats come this often instead (never more often than the
    // above), so thousands of idle clients cost the scheduler little; keep it well under the scheduler's
    // client timeout (60 s by default). A submission brings the next heartbeat back within the busy interval.
    double idleHeartbeatIntervalSeconds = 15;
    // Pending futures fail with SchedulerUnreachableError after this long without hearing the scheduler.
    double timeoutSeconds = 60;
    // The constructor throws SchedulerUnreachableError if the scheduler does not answer within this.
    double connectTimeoutSeconds = 30;
    // The scheduler gives each client a share of its queue (--max-queued-tasks and --max-queued-bytes over
    // the clients connected, told in every heartbeat echo); submit, map and submitGraph wait while this
    // client's unfinished tasks fill it. After this long they throw SubmitTimeoutError instead, having
    // submitted nothing more; 0: wait as long as it takes (while the scheduler is heard from).
    double submitTimeoutSeconds = 0;
    std::string name;       // part of the client's identity, for logs
    CurveClientKeys curve;  // set to connect to a scheduler that requires CURVE (loadCurveClientKeys)
};

struct SubmitOptions {
    std::string capabilities;   // the reference's syntax: "gpu" or "linux,gpu=1"; empty: any worker
    double timeoutSeconds = 0;  // from submission to result; 0: none
    // Higher runs first among queued tasks with the same capabilities; equal priorities first in, first out.
    // -32768..32767.
    int32_t priority = 0;
    // The worker measures the task's CPU time and peak memory: Future::profile().
    bool profiling = false;
    // The result stays in the cluster as an object: the future's value is empty and Future::keptObject()
    // names the object, to pass to later tasks without bringing the bytes back here.
    bool keepResult = false;
};

class TaskGraph;

class Client {
public:
    explicit Client(const std::string& address, ClientOptions options = {});
    ~Client();  // disconnects
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Throws std::invalid_argument for bad capabilities, SchedulerUnreachableError once disconnected.
    Future submit(const std::string& function, std::string payload, const SubmitOptions& options = {});
    // A task with several arguments (bytes, objects); the worker's function reads TaskContext::arguments().
    Future submit(const std::string& function, Arguments arguments, const SubmitOptions& options = {});
    // Many such tasks in one hand-over to the I/O thread (as map does for payloads).
    std::vector<Future> map(const std::string& function, std::vector<Arguments> arguments,
                            const SubmitOptions& options = {});
    // A command task: runs argv on a worker; decode the result with decodeExecResult(future.get()).
    Future submitExec(const std::vector<std::string>& argv, const SubmitOptions& options = {});
    std::vector<Future> map(const std::string& function, std::vector<std::string> payloads,
                            const SubmitOptions& options = {});
    // Results in order; throws the first failure.
    static std::vector<std::string> gather(const std::vector<Future>& futures);

    // Sends a graph in one message; futures for the requested keys only. Throws GraphError for a cycle, an
    // unknown key or an output that is not a node, before anything is sent. Cancelling any of the futures
    // cancels the whole graph.
    std::map<std::string, Future> submitGraph(const TaskGraph& graph,
                                              const std::vector<std::string>& outputs);

    // Stores bytes in the scheduler once, for any number of tasks to take as an argument; each worker fetches
    // an object at most once while it stays in its cache. Blocks until stored (large objects move in chunks).
    // Throws ObjectStoreError when the store refuses (over its memory limit), SchedulerUnreachableError when
    // the scheduler is not heard from within the client's timeout.
    ObjectRef sendObject(std::string bytes, std::string name = {});
    // As above, for bytes the client borrows (mapFile): kept until the object is deleted, never copied whole.
    ObjectRef sendObject(std::shared_ptr<const ByteSource> bytes, std::string name = {});
    // The scheduler frees the object once no queued or running task uses it. Unknown objects are ignored.
    void deleteObject(const ObjectRef& object);
    // Deletes every object this client sent or kept.
    void clear();

    // Leaves: the scheduler cancels this client's unfinished tasks; their futures fail with
    // TaskCancelledError. Idempotent.
    void disconnect();
    // Asks the scheduler to shut the cluster down, then disconnects. Throws scaler::Error when the
    // scheduler is protected (the client stays connected and usable), SchedulerUnreachableError when no
    // answer comes within 10 s (or the client's timeout, if shorter).
    void shutdown();

    const std::string& identity() const;
    size_t pendingTasks() const;
    // Whether submitting `tasks` tasks of `bytes` in all would wait now for room in this client's share of
    // the scheduler's queue (for a caller holding a lock other threads need, as the Python binding the GIL).
    bool submitWouldWait(size_t tasks, size_t bytes) const;
    // Results that arrived for tasks this client no longer waited for (already finished, cancelled or timed
    // out here). The scheduler delivers each result once, so outside client-side timeouts this stays 0.
    uint64_t unmatchedResults() const;

private:
    std::shared_ptr<detail::ClientCore> core_;
};

}  // namespace scaler
