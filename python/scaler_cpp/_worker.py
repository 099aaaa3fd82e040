"""Runs one Python task in a worker's Python processor (_processor.py). Not for users."""

import collections
import contextlib
import io
import types

from . import _serialization
from ._serialization import Input, RawInput, TaskFunction

_MAX_FUNCTIONS = 256
# pickled function bytes -> function, unpickled once per processor. Only plain functions and module-level
# built-ins: a callable object or a bound method (a list's append too) is unpickled afresh for every task, so
# state one task leaves in it never reaches the next.
_functions = collections.OrderedDict()


def _cacheable(fn):
    if type(fn) is TaskFunction:
        return _cacheable(fn.fn)
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
        return _serialization.loads(_serialization.split_output(inputs[value.index])[0])
    if isinstance(value, RawInput):
        data = inputs[value.index]
        return data if type(data) is bytes else bytes(data)
    return value


def _call(arguments, load):
    """(args, kwargs) of a task; `load` turns an argument's bytes into its value (None: they are values)."""
    args, kwargs = _serialization.loads(arguments[1])
    inputs = arguments[2:]
    if load is not None:
        def value(item):
            if isinstance(item, Input):  # an object or a graph input: an earlier result may carry prints
                return load(_serialization.split_output(inputs[item.index])[0])
            return load(item)

        return [value(a) for a in args], {k: value(v) for k, v in kwargs.items()}
    if inputs:
        args = [_resolve(a, inputs) for a in args]
        kwargs = {k: _resolve(v, inputs) for k, v in kwargs.items()}
    return args, kwargs


def _run_with_options(options, arguments):
    serializer = options.serializer
    args, kwargs = _call(arguments, serializer.deserialize if serializer is not None else None)
    if not options.stream_output:
        return serializer.serialize(options.fn(*args, **kwargs))
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = options.fn(*args, **kwargs)
    except BaseException as exc:
        try:
            exc.scaler_cpp_output = (out.getvalue(), err.getvalue())  # the client prints it before raising
        except AttributeError:  # an exception type with __slots__: its prints are lost, its error is not
            pass
        raise
    data = serializer.serialize(result) if serializer is not None else _serialization.dumps_fast(result)
    return _serialization.with_output(data, out.getvalue(), err.getvalue())


def run_task(arguments):
    """arguments: [function bytes, call, inputs...] -> (ok, bytes)."""
    try:
        fn = _function(arguments[0])
        if type(fn) is TaskFunction:
            return True, _run_with_options(fn, arguments)
        args, kwargs = _call(arguments, None)
        return True, _serialization.dumps_fast(fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - the client re-raises it with its own type
        return False, _serialization.encode_exception(exc).encode("ascii")
