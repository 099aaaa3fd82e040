"""Runs Python tasks inside scaler_worker (loaded by libscaler_python_worker.so). Not for users."""

import collections
import threading
import time
import types

from . import _serialization
from ._serialization import Input

_MAX_FUNCTIONS = 256
# pickled function bytes -> function, unpickled once per worker. Only plain functions: a callable object or a
# bound method is unpickled afresh for every task, so state one task leaves in it never reaches the next.
_functions = collections.OrderedDict()
_CACHED_TYPES = (types.FunctionType, types.BuiltinFunctionType)


def _function(data):
    fn = _functions.get(data)
    if fn is None:
        fn = _serialization.loads(data)
        if type(fn) in _CACHED_TYPES:
            _functions[data] = fn
            if len(_functions) > _MAX_FUNCTIONS:
                _functions.popitem(last=False)
    else:
        _functions.move_to_end(data)
    return fn


def _resolve(value, inputs):
    if isinstance(value, Input):
        return _serialization.loads(inputs[value.index])
    return value


# time.sleep inside a task waits on an event that a cancel or timeout sets (wake), so the InterruptedError or
# TimeoutError the worker raises in the task lands at once instead of when the sleep would have ended.
_original_sleep = time.sleep
_wakers = {}  # thread id -> Event, for threads running a task


def _sleep(seconds):
    event = _wakers.get(threading.get_ident())
    if event is None:
        return _original_sleep(seconds)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    event.wait(seconds)
    return None


def wake(thread_id):
    """Called by the worker (holding the GIL) after it raised an exception in the task on `thread_id`."""
    event = _wakers.get(thread_id)
    if event is not None:
        event.set()


def install(executable):
    """Once, when the worker's interpreter starts."""
    import sys

    time.sleep = _sleep
    if executable:
        sys.executable = executable  # an embedded interpreter guesses python3 from PATH otherwise


def run_task(arguments):
    """arguments: [function bytes, call (memoryview), inputs (memoryviews)...] -> (ok, bytes)."""
    thread_id = threading.get_ident()
    event = _wakers.get(thread_id)
    if event is None:
        event = _wakers[thread_id] = threading.Event()
    else:
        event.clear()
    try:
        fn = _function(arguments[0])
        args, kwargs = _serialization.loads(arguments[1])
        inputs = arguments[2:]
        if inputs:
            args = [_resolve(a, inputs) for a in args]
            kwargs = {k: _resolve(v, inputs) for k, v in kwargs.items()}
        return True, _serialization.dumps_fast(fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - the client re-raises it with its own type
        return False, _serialization.encode_exception(exc).encode("ascii")
