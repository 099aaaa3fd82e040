"""The Python processor: a child of scaler_worker that runs its Python tasks, one at a time. Not for users.

A task that ends its process (os._exit, a segfault in C code, the OOM killer) costs this process, not the
worker: the worker reports the task's worker death (the scheduler's retry limit applies) and starts another
processor for the next task. The worker asks a task to stop with SIGUSR1 (cancel) or SIGUSR2 (timeout), raised
here as InterruptedError or TimeoutError in the task's code; a blocking time.sleep is interrupted too.
Frames: worker/include/scaler/worker/python_processor.h.
"""

import collections
import mmap
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
import types

_running = False  # the signal handlers raise only inside a task
# A processor with nothing to do this long exits, so the processors of executor threads that nested tasks once
# needed do not linger; the worker replaces one idle for PythonProcessor::kIdleRestart (50 s) before using it.
IDLE_EXIT_SECONDS = 60
_COUNT = struct.Struct("<I")
_ARGUMENT = struct.Struct("<BQ")
_RESULT = struct.Struct("<cBQQQ")


def _stop(exception_type, message):
    def handler(signum, frame):  # noqa: ARG001
        if _running:
            raise exception_type(message)

    return handler


class _Channel:
    """Frames from the worker, read a megabyte at a time; a large argument goes straight into its own buffer."""

    _CHUNK = 1 << 20

    # Shared objects kept mapped (by their memfd's inode), most recently used last; a mapping keeps its pages
    # alive after the worker's cache lets the object go, so both the count and the bytes are bounded.
    _MAPPINGS = 32
    _MAPPED_BYTES = 2 << 30

    def __init__(self, fd):
        self._socket = socket.socket(fileno=fd)
        self._buffer = bytearray()
        self._start = 0
        self._fds = collections.deque()  # descriptors that came with frames, in argument order
        self._mappings = collections.OrderedDict()
        self._mapped_bytes = 0

    def _receive(self):
        data, fds, _, _ = socket.recv_fds(self._socket, self._CHUNK, 256)
        self._fds.extend(fds)
        if not data:
            raise EOFError
        return data

    def shared(self, length):
        """A shared object's bytes: the next descriptor, mapped once and kept while it is used."""
        fd = self._fds.popleft()
        try:
            status = os.fstat(fd)
            key = (status.st_dev, status.st_ino)
            view = self._mappings.get(key)
            if view is None:
                view = memoryview(mmap.mmap(fd, status.st_size, prot=mmap.PROT_READ))
                self._mappings[key] = view
                self._mapped_bytes += len(view)
                while len(self._mappings) > 1 and (
                    len(self._mappings) > self._MAPPINGS or self._mapped_bytes > self._MAPPED_BYTES
                ):
                    _, evicted = self._mappings.popitem(last=False)
                    self._mapped_bytes -= len(evicted)
            else:
                self._mappings.move_to_end(key)
        finally:
            os.close(fd)
        return view[:length]

    def read_exact(self, n):
        available = len(self._buffer) - self._start
        if available >= n:
            out = bytes(self._buffer[self._start:self._start + n])
            self._start += n
            if self._start == len(self._buffer):
                self._buffer.clear()
                self._start = 0
            return out
        if n > self._CHUNK:  # a large argument: straight into its own buffer, no second copy
            out = bytearray(n)
            view = memoryview(out)
            view[:available] = self._buffer[self._start:]
            self._buffer.clear()
            self._start = 0
            filled = available
            while filled < n:
                got = self._socket.recv_into(view[filled:])
                if got == 0:
                    raise EOFError
                filled += got
            return out
        while len(self._buffer) - self._start < n:
            if self._start:
                del self._buffer[:self._start]
                self._start = 0
            self._buffer += self._receive()
        return self.read_exact(n)

    def idle_until_frame(self, seconds):
        """False when no frame began within `seconds`."""
        if self._start < len(self._buffer):
            return True
        readable, _, _ = select.select([self._socket], [], [], seconds)
        return bool(readable)

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
        if not channel.idle_until_frame(IDLE_EXIT_SECONDS):
            return  # idle: the worker starts another when it needs one (PythonProcessor::kIdleRestart)
        try:
            kind = read_exact(1)
        except EOFError:
            return  # the worker is gone or done with us
        if kind != b"T":
            raise SystemExit(f"scaler_cpp._processor: unknown frame {kind!r}")
        (count,) = _COUNT.unpack(read_exact(4))
        arguments = []
        for _ in range(count):
            kind, length = _ARGUMENT.unpack(read_exact(9))
            if kind == 1:
                arguments.append(channel.shared(length))
            else:
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
        header = _RESULT.pack(b"R", 1 if ok else 0, cpu_us, peak_rss, len(result))
        if len(result) < 65536:
            channel.send(header + result)  # one write, one wake-up of the worker
        else:
            channel.send(header)
            channel.send(result)


if __name__ == "__main__":
    os.environ.pop("PYTHONSTARTUP", None)
    main()
