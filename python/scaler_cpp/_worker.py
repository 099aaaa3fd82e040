"""Runs one Python task in a worker's Python processor (_processor.py). Not for users."""

import collections
import types

from . import _serialization
from ._serialization import Input

_MAX_FUNCTIONS = 256
# pickled function bytes -> function, unpickled once per processor. Only plain functions and module-level
# built-ins: a callable object or a bound method (a list's append too) is unpickled afresh for every task, so
# state one task leaves in it never reaches the next.
_functions = collections.OrderedDict()


def _cacheable(fn):
    if type(fn) is types.FunctionType:
        return True
    return type(fn) is types.BuiltinFunctionType and isinstance(getattr(fn, "__self__", None), types.ModuleType)


def _function(data):
    if type(data) is not bytes:  # a large pickle arrives as a bytearray
        data = bytes(data)
    fn = _functions.get(data)
    if fn is None:
        fn = _serialization.loads(data)
        if _cacheable(fn):
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
    """arguments: [function bytes, call, inputs...] -> (ok, bytes)."""
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
