"""The Python processor: a child of scaler_worker that runs its Python tasks, one at a time. Not for users.

A task that ends its process (os._exit, a segfault in C code, the OOM killer) costs this process, not the
worker: the worker reports the task's worker death (the scheduler's retry limit applies) and starts another
processor for the next task. The worker asks a task to stop with SIGUSR1 (cancel) or SIGUSR2 (timeout), raised
here as InterruptedError or TimeoutError in the task's code; a blocking time.sleep is interrupted too.
Frames: worker/include/scaler/worker/python_processor.h.
"""

import os
import resource
import signal
import socket
import struct
import sys
import time
import types

_running = False  # the signal handlers raise only inside a task


def _stop(exception_type, message):
    def handler(signum, frame):  # noqa: ARG001
        if _running:
            raise exception_type(message)

    return handler


class _Channel:
    def __init__(self, fd):
        self._socket = socket.socket(fileno=fd)
        self._file = self._socket.makefile("rb", buffering=1 << 16)

    def read_exact(self, n):
        data = self._file.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    def send(self, data):
        self._socket.sendall(data)


def _waiting_hooks(channel):
    """The module `_scaler_cpp_worker` that scaler_cpp.client imports: a task waiting on its nested futures
    tells the worker, which lends its slot meanwhile."""
    module = types.ModuleType("_scaler_cpp_worker")

    def waiting(now_waiting):
        channel.send(b"W" + (b"\x01" if now_waiting else b"\x00"))

    module.waiting = waiting
    return module


def main():
    global _running
    channel = _Channel(int(sys.argv[1]))
    sys.modules["_scaler_cpp_worker"] = _waiting_hooks(channel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when a task ends, not a terminal's Ctrl-C
    signal.signal(signal.SIGUSR1, _stop(InterruptedError, "task cancelled"))
    signal.signal(signal.SIGUSR2, _stop(TimeoutError, "task exceeded its timeout"))
    from . import _worker

    read_exact = channel.read_exact
    while True:
        try:
            kind = read_exact(1)
        except EOFError:
            return  # the worker is gone or done with us
        if kind != b"T":
            raise SystemExit(f"scaler_cpp._processor: unknown frame {kind!r}")
        (count,) = struct.unpack("<I", read_exact(4))
        arguments = []
        for _ in range(count):
            (length,) = struct.unpack("<Q", read_exact(8))
            arguments.append(read_exact(length))
        started = time.thread_time_ns()
        _running = True
        try:
            ok, result = _worker.run_task(arguments)
        except BaseException as exc:  # noqa: BLE001 - a stop signal that landed outside the task's own code
            from . import _serialization

            ok, result = False, _serialization.encode_exception(exc).encode("ascii")
        finally:
            _running = False
        cpu_us = (time.thread_time_ns() - started) // 1000
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        channel.send(b"R" + struct.pack("<BQQQ", 1 if ok else 0, cpu_us, peak_rss, len(result)))
        channel.send(result)


if __name__ == "__main__":
    os.environ.pop("PYTHONSTARTUP", None)
    main()
