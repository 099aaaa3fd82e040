"""Exceptions with the reference's names (scaler.md section 8)."""


class DisconnectedError(ConnectionError):
    """The scheduler cannot be reached, stopped, or this client disconnected."""


class MissingObjects(KeyError):
    """A task named an object the scheduler no longer has (deleted, cleared, or never sent)."""


class WorkerDiedError(RuntimeError):
    """The workers running a task died more often than the scheduler's retry limit allows."""


ProcessorDiedError = WorkerDiedError  # the reference's older name for the same failure


class TaskRejectedError(ValueError):
    """The scheduler refused a task (full queue, bad capabilities); the message says why."""


class SubmitTimeoutError(TimeoutError):
    """submit, map or get with a graph waited Client(submit_timeout_seconds=...) for room in this client's share of the
    scheduler's queue (--max-queued-tasks, --max-queued-bytes) and none came; nothing more was submitted."""


class ObjectStoreFullError(MemoryError):
    """The scheduler's object store refused an object (over --object-memory-limit)."""
