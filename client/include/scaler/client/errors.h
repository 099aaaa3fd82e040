#pragma once
// What a task's future throws. All derive from scaler::Error.

#include <stdexcept>
#include <string>

namespace scaler {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The task's function raised; what() is the remote message.
class TaskFailedError : public Error {
public:
    using Error::Error;
};

// The workers running the task died more often than the scheduler's retry limit.
class WorkerDiedError : public Error {
public:
    using Error::Error;
};

class TaskCancelledError : public Error {
public:
    using Error::Error;
};

class TaskTimeoutError : public Error {
public:
    using Error::Error;
};

// The scheduler refused the task (full queue, duplicate id, invalid capabilities).
class TaskRejectedError : public Error {
public:
    using Error::Error;
};

// submit() waited ClientOptions::submitTimeoutSeconds for room in this client's share of the scheduler's
// queue (--max-queued-tasks, --max-queued-bytes) and none came; nothing was submitted.
class SubmitTimeoutError : public Error {
public:
    using Error::Error;
};

// No answer from the scheduler within the client's timeout, or it lost this client's state.
class SchedulerUnreachableError : public Error {
public:
    using Error::Error;
};

}  // namespace scaler

namespace scaler {

// The scheduler's object store refused an object (over its memory limit, a clash of ids).
class ObjectStoreError : public Error {
public:
    using Error::Error;
};

// A graph the client cannot send: a cycle, an unknown key, a duplicate key. Thrown before anything is sent.
class GraphError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

}  // namespace scaler
