"""Runs Python tasks inside scaler_worker (loaded by libscaler_python_worker.so). Not for users."""

import collections

from . import _serialization
from ._serialization import Input

_MAX_FUNCTIONS = 256
_functions = collections.OrderedDict()  # pickled function bytes -> function: unpickled once per worker


def _function(data):
    fn = _functions.get(data)
    if fn is None:
        fn = _serialization.loads(data)
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


def run_task(arguments):
    """arguments: [function bytes, call (memoryview), inputs (memoryviews)...] -> (ok, bytes)."""
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
