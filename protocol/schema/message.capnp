@0xeb775ff23e5cd25e;
# The scaler-cpp wire protocol: one Message per ZeroMQ frame. docs/protocol.md explains every member.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("scaler::wire");

# Bumped on any change that an older peer cannot understand. Heartbeats carry it; the scheduler answers a
# mismatch with ProtocolError instead of silence.
const protocolVersion :UInt32 = 1;

struct Capability {
  name @0 :Text;
  value @1 :Int64;  # -1: present with no quantity ("linux"); otherwise a quantity ("gpu=2")
}

struct Resource {
  cpuPermille @0 :UInt16;  # 1000 = one core fully used
  rssBytes @1 :UInt64;
}

# ---- task path -------------------------------------------------------------------------------------

# One argument of a task: bytes carried in the message, a shared object, or (in a graph) another node's
# result. A task with arguments leaves `payload` empty.
struct TaskArgument {
  union {
    data @0 :Data;
    object @1 :UInt64;  # client->scheduler: the client's object id; scheduler->worker: the store's handle
    node @2 :UInt64;    # client->scheduler in a graph: the key of the node whose result this is
  }
  objectSize @3 :UInt64;  # scheduler->worker with `object`: its size in bytes
}

struct Task {
  # Client -> scheduler: an id the client chose, unique among that client's live tasks.
  # Scheduler -> worker: the scheduler's own task handle; the worker answers with it.
  taskId @0 :UInt64;
  functionName @1 :Text;
  payload @2 :Data;
  capabilities @3 :List(Capability);
  timeoutMs @4 :UInt32;  # 0: no timeout
  priority @5 :Int32;    # higher runs first within its capability set; -32768..32767, default 0
  profiling @6 :Bool;    # the worker measures CPU time and peak memory for the result
  args @7 :List(TaskArgument);  # when not empty, the task's arguments (payload unused)
  # Client -> scheduler: non-zero keeps the result in the object store under this client object id; the
  # client is sent an empty success (or the failure) instead of the bytes.
  resultObjectId @8 :UInt64;
}

# ---- shared objects --------------------------------------------------------------------------------

# Client -> scheduler, one chunk of an object, in order. The first chunk (offset 0) creates the object.
struct ObjectPut {
  objectId @0 :UInt64;   # the client's id, unique among its live objects
  name @1 :Text;         # for logs and the monitor
  totalSize @2 :UInt64;
  offset @3 :UInt64;
  data @4 :Data;
}

# Scheduler -> client: a chunk was stored (`receivedBytes` so far), or the object was refused (`error`).
struct ObjectPutAck {
  objectId @0 :UInt64;
  receivedBytes @1 :UInt64;
  error @2 :Text;
}

struct ObjectDelete {
  objectIds @0 :List(UInt64);
  all @1 :Bool;  # every object of this client (Client::clear)
}

# Worker -> scheduler: send me bytes [offset, offset + length) of an object.
struct ObjectRequest {
  objectId @0 :UInt64;  # the store's handle, from TaskArgument.object
  offset @1 :UInt64;
  length @2 :UInt64;
}

# Scheduler -> worker: the bytes asked for, or why not (the object is gone).
struct ObjectChunk {
  objectId @0 :UInt64;
  totalSize @1 :UInt64;
  offset @2 :UInt64;
  data @3 :Data;
  error @4 :Text;
}

# ---- graphs and nesting ----------------------------------------------------------------------------

# Client -> scheduler: a DAG in one message. Each node is a Task whose taskId is its key; its arguments may
# name other nodes. Only `outputs` are answered (as TaskResults under their keys); nodes no output needs are
# not run. A cycle or an unknown key rejects every output with the reason.
struct TaskGraph {
  nodes @0 :List(Task);
  outputs @1 :List(UInt64);
}

# Worker -> scheduler: a running task waits (or stopped waiting) for tasks it submitted. While it waits its
# slot is lent to the next task, so parents waiting on children can never hold every slot.
struct TaskWaiting {
  taskId @0 :UInt64;
  waiting @1 :Bool;
}

enum TaskResultStatus {
  success @0;
  failed @1;        # the function raised; `error` holds its message
  workerDied @2;    # S->C: the task's workers died more often than the retry limit allows; W->S: the process
                    # the worker ran the task in died (its Python processor), counted as a worker death
  timedOut @3;      # the task ran longer than its timeout
  rejected @4;      # the scheduler refused the task (bad capability, duplicate id, over the queue limit)
}

struct TaskResult {
  taskId @0 :UInt64;
  status @1 :TaskResultStatus;
  payload @2 :Data;
  error @3 :Text;
  durationUs @4 :UInt64;  # wall time the worker spent running it
  cpuTimeUs @5 :UInt64;     # with Task.profiling: CPU time of the thread that ran it (0: not measured)
  peakRssBytes @6 :UInt64;  # with Task.profiling: the worker process's peak resident memory while it ran
  # A success result too large for one message travels in parts, in order, each a TaskResult of its own:
  # totalSize is the whole result's size and offset this part's place (0 both: payload is the whole result).
  totalSize @7 :UInt64;
  offset @8 :UInt64;
}

struct TaskCancel {
  taskId @0 :UInt64;
  force @1 :Bool;  # false: only cancel if not yet running (load balancing); true: stop it if running
}

enum CancelConfirmKind {
  cancelled @0;
  cancelFailed @1;  # it was running and could not be stopped; its result follows
  notFound @2;
}

struct TaskCancelConfirm {
  taskId @0 :UInt64;
  kind @1 :CancelConfirmKind;
}

# ---- liveness --------------------------------------------------------------------------------------

struct ClientHeartbeat {
  protocolVersion @0 :UInt32;
  resource @1 :Resource;
  latencyUs @2 :UInt32;
  # The incarnation of the scheduler this peer's state is with (from its echoes, or from a stateLost
  # answer); 0: none yet. Workers and adapters carry it too, with freshSession. A scheduler that does not
  # know the peer registers it when this is 0, or when freshSession is set and this is its own incarnation;
  # any other heartbeat is answered with ProtocolError.stateLost: what the peer sent before went to a
  # scheduler, or a session, that is gone.
  schedulerIncarnation @3 :UInt64;
  # The peer holds nothing it sent before this heartbeat: it dropped it, or resends it after. Set until the
  # first echo of the new registration.
  freshSession @4 :Bool;
}

struct ClientHeartbeatEcho {
  protocolVersion @0 :UInt32;
  maxMessageBytes @1 :UInt64;  # the scheduler's --max-message-bytes: a larger task could never arrive
  schedulerIncarnation @2 :UInt64;  # random, non-zero, new each time a scheduler process starts
  # This client's share of the scheduler's --max-queued-tasks and --max-queued-bytes: submitting waits while
  # the client's unfinished tasks fill it. 0: no limit (an older scheduler leaves them unset).
  clientTaskShare @3 :UInt64;
  clientByteShare @4 :UInt64;
}

struct WorkerHeartbeat {
  protocolVersion @0 :UInt32;
  resource @1 :Resource;
  queueSize @2 :UInt32;      # how many tasks the worker accepts at once (running + queued)
  queuedTasks @3 :UInt32;
  runningTasks @4 :UInt32;
  completedTasks @5 :UInt64;
  capabilities @6 :List(Capability);
  latencyUs @7 :UInt32;
  adapterId @8 :Text;        # empty for a worker no adapter started
  workerGroupId @9 :Text;
  pid @10 :UInt32;
  hostname @11 :Text;
  objectsFetched @12 :UInt64;      # objects this worker fetched from the store since it started
  objectBytesFetched @13 :UInt64;
  objectCacheBytes @14 :UInt64;    # bytes its object cache holds now
  schedulerIncarnation @15 :UInt64;  # as in ClientHeartbeat
  freshSession @16 :Bool;
  memoryLimitBytes @17 :UInt64;      # what this worker may use (--memory-limit); 0: unknown
}

struct WorkerHeartbeatEcho {
  protocolVersion @0 :UInt32;
  maxMessageBytes @1 :UInt64;  # likewise for a result
  schedulerIncarnation @2 :UInt64;
}

enum ClientDisconnectKind {
  disconnect @0;
  shutdown @1;  # also ask the scheduler to shut the cluster down (refused with --protected)
}

struct ClientDisconnect {
  kind @0 :ClientDisconnectKind;
}

struct ClientShutdownResponse {
  accepted @0 :Bool;
}

struct DisconnectRequest {}   # worker -> scheduler: leaving; re-queue what I hold, do not count it as a death
struct DisconnectResponse {}  # scheduler -> worker

enum ProtocolErrorCode {
  versionMismatch @0;
  notRegistered @1;      # a message from an identity that has not sent a heartbeat
  roleMismatch @2;       # e.g. a client identity sending worker messages
  malformed @3;
  notAuthorized @4;      # CURVE: the connection's key is not on the allow-list of this message's role
  # A heartbeat named a scheduler incarnation (claimedIncarnation) this scheduler holds nothing for: it
  # restarted, or it timed the peer out. The peer drops what it held, or resends it after a heartbeat with
  # this scheduler's incarnation and freshSession. A peer ignores an answer whose claimedIncarnation is not
  # what it claims now (an answer to a heartbeat sent before it started afresh).
  stateLost @5;
}

struct ProtocolError {
  code @0 :ProtocolErrorCode;
  message @1 :Text;
  schedulerProtocolVersion @2 :UInt32;
  schedulerIncarnation @3 :UInt64;
  claimedIncarnation @4 :UInt64;  # with stateLost: the incarnation the heartbeat named
}

# ---- worker adapters (scaling controller) ----------------------------------------------------------

enum WorkerGroupState {
  starting @0;
  running @1;
  draining @2;
  stopping @3;
  failed @4;
}

struct WorkerGroupInfo {
  workerGroupId @0 :Text;
  state @1 :WorkerGroupState;
  capabilities @2 :List(Capability);
  workerIds @3 :List(Text);
  message @4 :Text;  # failed: why its start failed after the start was answered
}

struct WorkerAdapterHeartbeat {
  protocolVersion @0 :UInt32;
  maxWorkerGroups @1 :UInt32;
  workersPerGroup @2 :UInt32;
  capabilities @3 :List(Capability);
  kind @4 :Text;                      # native, container, ecs
  groups @5 :List(WorkerGroupInfo);  # the adapter's current inventory
  priority @6 :UInt32;               # tier: demand fills lower numbers first and drains higher ones first
  schedulerIncarnation @7 :UInt64;   # as in ClientHeartbeat
  freshSession @8 :Bool;
  billing @9 :Text;                  # how its groups are billed (--billing, BillingModel spec); empty: by kind
}

struct WorkerAdapterHeartbeatEcho {
  protocolVersion @0 :UInt32;
  schedulerIncarnation @1 :UInt64;
}

enum WorkerAdapterCommandType {
  startWorkerGroup @0;
  shutdownWorkerGroup @1;
}

struct WorkerAdapterCommand {
  requestId @0 :UInt64;
  command @1 :WorkerAdapterCommandType;
  workerGroupId @2 :Text;  # empty for a start: the adapter assigns it
  capabilities @3 :List(Capability);
  # The scheduler's wall clock (Unix ms) after which it has given up on the command: an adapter that receives it
  # later (a partition delayed it) refuses it instead of starting a group nobody waits for. 0: none.
  deadlineUnixMs @4 :UInt64;
}

enum WorkerAdapterCommandStatus {
  success @0;
  workerGroupTooMuch @1;
  workerGroupIdNotFound @2;
  capabilitiesNotSupported @3;
  launchFailed @4;
  expired @5;  # received after its deadline: not carried out
}

struct WorkerAdapterCommandResponse {
  requestId @0 :UInt64;
  workerGroupId @1 :Text;
  command @2 :WorkerAdapterCommandType;
  status @3 :WorkerAdapterCommandStatus;
  workerIds @4 :List(Text);
  capabilities @5 :List(Capability);
  message @6 :Text;
}

# ---- monitor feed (PUB) ----------------------------------------------------------------------------

struct TaskCounts {
  # gauges: tasks in that state now
  queued @0 :UInt64;
  running @1 :UInt64;     # assigned to a worker (queued there or executing)
  cancelling @2 :UInt64;
  # counters: tasks that reached that end since the scheduler started
  succeeded @3 :UInt64;
  failed @4 :UInt64;
  cancelled @5 :UInt64;
  workerDied @6 :UInt64;
  timedOut @7 :UInt64;
  rejected @8 :UInt64;
}

struct WorkerRow {
  workerId @0 :Text;
  capabilities @1 :List(Capability);
  queueSize @2 :UInt32;
  assigned @3 :UInt32;    # the scheduler's count of tasks it gave this worker
  queued @4 :UInt32;      # from the worker's heartbeat
  running @5 :UInt32;
  completed @6 :UInt64;
  resource @7 :Resource;
  lastHeartbeatAgeMs @8 :UInt64;
  adapterId @9 :Text;
  workerGroupId @10 :Text;
  pid @11 :UInt32;
  hostname @12 :Text;
  objectsFetched @13 :UInt64;
  objectBytesFetched @14 :UInt64;
  objectCacheBytes @15 :UInt64;
  currentFunction @16 :Text;  # the oldest task the scheduler gave it (the one it runs, or runs next)
  memoryLimitBytes @17 :UInt64;
  memoryFull @18 :Bool;       # near its memory limit: given no new tasks until it recovers
}

struct AdapterRow {
  adapterId @0 :Text;
  kind @1 :Text;
  maxWorkerGroups @2 :UInt32;
  workersPerGroup @3 :UInt32;
  groupsInUse @4 :UInt32;
  capabilities @5 :List(Capability);
  lastHeartbeatAgeMs @6 :UInt64;
  priority @7 :UInt32;
  startupMs @8 :UInt32;  # start command to a group's first worker, smoothed; 0 until measured
  billing @9 :Text;         # its billing model, as a BillingModel spec
  costSoFar @10 :Float64;   # its groups' runs billed to now, ended ones included, in its price's currency
  costPerHour @11 :Float64; # what its running groups cost an hour
}

struct WorkerGroupRow {
  workerGroupId @0 :Text;
  adapterId @1 :Text;
  state @2 :WorkerGroupState;
  capabilities @3 :List(Capability);
  workerIds @4 :List(Text);
  ageMs @5 :UInt64;
}

struct ScalingEvent {
  timestampMs @0 :UInt64;  # unix time
  adapterId @1 :Text;
  action @2 :Text;
  workerGroupId @3 :Text;
  reason @4 :Text;
}

# A command the policy wanted and a stability rule or schedule held back at the latest evaluation.
struct HeldScalingCommand {
  adapterId @0 :Text;
  action @1 :Text;         # "start" or "shutdown"
  heldBecause @2 :Text;    # the rule that held it, with its numbers
  wantedBecause @3 :Text;  # the policy's reason for wanting it
}

# One capability set as the scaling controller saw it at the latest evaluation: the inputs behind its
# decision (the estimates come from DemandEstimator; desired/basis from policies that size, e.g. predictive).
struct DemandRow {
  capabilities @0 :Text;
  tasks @1 :UInt64;                # live: queued or on a worker
  queued @2 :UInt64;
  arrivalRate @3 :Float64;         # tasks/s, smoothed
  rateTrend @4 :Float64;           # tasks/s per s
  meanDurationSeconds @5 :Float64;
  supplyWorkers @6 :Float64;       # capable workers, booting included
  desiredWorkers @7 :Float64;      # what the policy sized for; 0 if it does not size
  basis @8 :Text;                  # how, with the numbers
}

# A task that finished on a worker, for the dashboard's task stream. The scheduler keeps the latest ones,
# sampled to at most 1,000 a second, and publishes them all in every snapshot: `sequence` tells new from seen.
struct TaskStreamEntry {
  sequence @0 :UInt64;
  workerId @1 :Text;
  functionName @2 :Text;
  startMs @3 :UInt64;  # unix time: the end less the worker's run time
  endMs @4 :UInt64;
  status @5 :Text;     # succeeded, failed, timedOut, workerDied
}

struct ClientRow {
  clientId @0 :Text;
  tasks @1 :UInt64;  # its tasks queued or on a worker
}

struct MonitorSnapshot {
  timestampMs @0 :UInt64;  # unix time
  schedulerAddress @1 :Text;
  uptimeMs @2 :UInt64;
  resource @3 :Resource;
  clients @4 :UInt32;
  tasks @5 :TaskCounts;
  workers @6 :List(WorkerRow);
  adapters @7 :List(AdapterRow);
  workerGroups @8 :List(WorkerGroupRow);
  scalingEvents @9 :List(ScalingEvent);
  allocatePolicy @10 :Text;
  scalingPolicy @11 :Text;
  droppedMessages @12 :UInt64;  # malformed or misdirected messages dropped since start
  unschedulable @13 :List(Text);  # capability sets tasks wait for that no worker or adapter can provide
  heldScaling @14 :List(HeldScalingCommand);
  demand @15 :List(DemandRow);
  objects @16 :UInt64;           # objects in the store (client objects and kept results)
  objectBytes @17 :UInt64;
  objectMemoryLimit @18 :UInt64;
  graphs @19 :UInt64;            # graphs with nodes still to run
  graphNodesWaiting @20 :UInt64; # nodes waiting for their inputs
  taskStream @21 :List(TaskStreamEntry);
  taskStreamSkipped @22 :UInt64;  # finished tasks not sampled into the stream since start
  clientRows @23 :List(ClientRow);
  latencyP50Seconds @24 :Float64;  # arrival to result, every task since start (bucket upper bounds)
  latencyP99Seconds @25 :Float64;
  incarnation @26 :UInt64;
  framesReceived @27 :UInt64;  # ZeroMQ messages taken from the scheduler's socket since start
  framesSent @28 :UInt64;      # and sent on it: frames per task show how well batching works
  admission @29 :Admission;
}

# How full the scheduler is against --max-queued-tasks and --max-queued-bytes, and each client's share of
# them (docs/reliability.md#overload). A limit or share of 0 means none.
struct Admission {
  unfinishedTasks @0 :UInt64;      # live tasks, queued to running
  unfinishedTaskBytes @1 :UInt64;  # the bytes they carry
  maxQueuedTasks @2 :UInt64;
  maxQueuedBytes @3 :UInt64;
  clientTaskShare @4 :UInt64;      # what each client may have unfinished before its submits wait
  clientByteShare @5 :UInt64;
}

# ---- the frame -------------------------------------------------------------------------------------

struct Message {
  union {
    tasks @0 :List(Task);                      # C->S submit, S->W execute (batched)
    taskResults @1 :List(TaskResult);          # W->S, S->C (batched)
    taskCancels @2 :List(TaskCancel);          # C->S, S->W
    taskCancelConfirms @3 :List(TaskCancelConfirm);  # W->S, S->C
    clientHeartbeat @4 :ClientHeartbeat;
    clientHeartbeatEcho @5 :ClientHeartbeatEcho;
    workerHeartbeat @6 :WorkerHeartbeat;
    workerHeartbeatEcho @7 :WorkerHeartbeatEcho;
    clientDisconnect @8 :ClientDisconnect;     # C->S
    clientShutdownResponse @9 :ClientShutdownResponse;
    disconnectRequest @10 :DisconnectRequest;  # W->S
    disconnectResponse @11 :DisconnectResponse;
    protocolError @12 :ProtocolError;          # S->any
    monitorSnapshot @13 :MonitorSnapshot;      # S->monitor subscribers
    workerAdapterHeartbeat @14 :WorkerAdapterHeartbeat;
    workerAdapterHeartbeatEcho @15 :WorkerAdapterHeartbeatEcho;
    workerAdapterCommand @16 :WorkerAdapterCommand;
    workerAdapterCommandResponse @17 :WorkerAdapterCommandResponse;
    schedulerShutdown @18 :Void;               # S->W: the cluster is shutting down, exit now
    schedulerStopping @19 :Text;               # S->C,W: this scheduler stops (SIGTERM) and forgets its tasks; why
    objectPut @20 :ObjectPut;                  # C->S
    objectPutAck @21 :ObjectPutAck;            # S->C
    objectDelete @22 :ObjectDelete;            # C->S
    objectRequest @23 :ObjectRequest;          # W->S
    objectChunk @24 :ObjectChunk;              # S->W
    taskGraph @25 :TaskGraph;                  # C->S
    taskWaiting @26 :TaskWaiting;              # W->S
  }
}
