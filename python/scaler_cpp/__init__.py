"""scaler_cpp: the reference's Python client API (Client, futures, graphs, objects) on scaler-cpp.

Code written for the reference runs after changing `scaler` to `scaler_cpp` in its imports; docs/python.md
lists what differs.
"""

from .client import Client, ObjectReference, ProfileResult, ScalerFuture
from .cluster import SchedulerClusterCombo
from .serializer import DefaultSerializer, Serializer
from .errors import (
    DisconnectedError,
    MissingObjects,
    ObjectStoreFullError,
    ProcessorDiedError,
    SubmitTimeoutError,
    TaskRejectedError,
    WorkerDiedError,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "DefaultSerializer",
    "DisconnectedError",
    "MissingObjects",
    "ObjectReference",
    "ObjectStoreFullError",
    "ProcessorDiedError",
    "ProfileResult",
    "ScalerFuture",
    "SchedulerClusterCombo",
    "Serializer",
    "SubmitTimeoutError",
    "TaskRejectedError",
    "WorkerDiedError",
]
