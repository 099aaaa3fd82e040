"""How Python calls travel as scaler-cpp tasks (docs/python.md#wire-format).

A Python task is the worker function "python" with arguments [function, call, inputs...]: the function is
cloudpickled once per client and sent as a shared object; the call is a cloudpickle of (args, kwargs) in which
each ObjectReference is replaced by an Input naming one of the task's further arguments; results are
cloudpickled; a failure travels as "python-exception:" + base64 of the pickled (exception, traceback text).
"""

import base64
import pickle
import struct
import traceback

import cloudpickle

from ._user_modules import USER_MODULES

EXCEPTION_PREFIX = "python-exception:"

try:  # the modules cloudpickle.register_pickle_by_value named: functions from them pickle differently after
    from cloudpickle.cloudpickle import _PICKLE_BY_VALUE_MODULES as BY_VALUE_MODULES
except ImportError:  # an older cloudpickle without the registry
    BY_VALUE_MODULES = frozenset()


class Input:
    """Placeholder in a call for the task argument at `index` among the inputs."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __reduce__(self):
        return (Input, (self.index,))


class RawInput:
    """Placeholder in a call for a large bytes argument sent as the task argument at `index` among the inputs,
    as it is: not copied into the call's pickle on the client (the worker makes it bytes again)."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __reduce__(self):
        return (RawInput, (self.index,))


# bytes arguments this large travel raw (RawInput): the client lends them to the C++ client instead of copying
RAW_BYTES = 1 << 20


class TaskFunction:
    """A function with the options of the client that sent it, for the processor: a custom serializer for its
    arguments and result, and whether its prints go back to the client. Sent only when an option is set."""

    __slots__ = ("fn", "serializer", "stream_output")

    def __init__(self, fn, serializer, stream_output):
        self.fn = fn
        self.serializer = serializer
        self.stream_output = stream_output

    def __reduce__(self):
        return (TaskFunction, (self.fn, self.serializer, self.stream_output))


# A result that carries the task's prints (stream_output) starts with this, then u32 length + stdout, u32 length +
# stderr (UTF-8), then the result's own bytes. Pickles start with b"\x80".
OUTPUT_MAGIC = b"\x00scaler-cpp-output\x00"
_LENGTH = struct.Struct("<I")


def with_output(result: bytes, out: str, err: str) -> bytes:
    out_bytes, err_bytes = out.encode("utf-8", "replace"), err.encode("utf-8", "replace")
    return b"".join((OUTPUT_MAGIC, _LENGTH.pack(len(out_bytes)), out_bytes, _LENGTH.pack(len(err_bytes)), err_bytes,
                     result))


def split_output(payload):
    """(result bytes, stdout, stderr) of a result that may carry a task's prints."""
    if payload[:len(OUTPUT_MAGIC)] != OUTPUT_MAGIC:  # bytes, bytearray or a mapped object's memoryview
        return payload, "", ""
    at = len(OUTPUT_MAGIC)
    (n,) = _LENGTH.unpack_from(payload, at)
    out = bytes(payload[at + 4:at + 4 + n]).decode("utf-8", "replace")
    at += 4 + n
    (n,) = _LENGTH.unpack_from(payload, at)
    err = bytes(payload[at + 4:at + 4 + n]).decode("utf-8", "replace")
    return payload[at + 4 + n:], out, err


def dumps(value):
    return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def dumps_fast(value):
    """A call's (args, kwargs) or a result: the C pickler when it can (several times faster per task), cloudpickle for
    what it cannot (lambdas, local classes). Both load with pickle.loads."""
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - anything plain pickle refuses, cloudpickle may take
        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def dumps_call(value):
    """A call's (args, kwargs) from a client: as dumps_fast, but through cloudpickle when the plain pickle names
    the caller's __main__ or one of the user's modules (their classes travel by value: a worker may not have them).
    """
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - anything plain pickle refuses, cloudpickle may take
        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    if USER_MODULES.mentioned_in(data):
        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return data


def loads(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return pickle.loads(data)
    # a large result as the parts it came in (_native.ResultReader): read part by part, each freed as it is read,
    # so a 1 GiB bytes result never sits in memory twice
    return pickle.load(data)


def encode_exception(exc):
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        payload = dumps((exc, text))
        pickle.loads(payload)  # an exception that pickles but cannot be rebuilt fails here, not at the client
    except Exception:  # noqa: BLE001 - any exception must reach the client somehow
        payload = dumps((RuntimeError(f"{type(exc).__name__}: {exc}"), text))
    return base64.b64encode(payload).decode("ascii")


def decode_exception(message):
    """The exception a task raised, with its remote traceback as a note; None if `message` holds none. A
    graph node failed by a failed input carries that input's exception after the scheduler's explanation."""
    at = message.find(EXCEPTION_PREFIX)
    if at < 0:
        return None
    exc, text = pickle.loads(base64.b64decode(message[at + len(EXCEPTION_PREFIX):]))
    if hasattr(exc, "add_note"):
        if at > 0:
            exc.add_note(message[:at].rstrip(": ").strip())
        exc.add_note("remote traceback (most recent call last):\n" + text)
    return exc
