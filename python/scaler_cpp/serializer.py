"""The reference's Serializer interface: how a client's task arguments, shared objects and results are turned into
bytes and back (`Client(serializer=...)`). Functions and exceptions always travel with cloudpickle."""

import abc
import pickle
from typing import Any

import cloudpickle


class Serializer(metaclass=abc.ABCMeta):
    """Subclass with two static methods. The instance is cloudpickled and sent with the client's functions, so
    workers use the same code (it must be importable there, or defined in one of the caller's own modules)."""

    @staticmethod
    @abc.abstractmethod
    def serialize(obj: Any) -> bytes:
        raise NotImplementedError()

    @staticmethod
    @abc.abstractmethod
    def deserialize(payload: bytes) -> Any:
        raise NotImplementedError()


class DefaultSerializer(Serializer):
    """cloudpickle, as the reference's default. `Client()` without a serializer behaves the same and is faster
    (plain pickle where it can)."""

    @staticmethod
    def serialize(obj: Any) -> bytes:
        return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def deserialize(payload: bytes) -> Any:
        return pickle.loads(payload)
