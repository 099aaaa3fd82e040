"""The Python processor: a child of scaler_worker that runs its Python tasks, one at a time. Not for users.

A task that ends its process (os._exit, a segfault in C code, the OOM killer) costs this process, not the
worker: the worker reports the task's worker death (the scheduler's retry limit applies) and starts another
processor for the next task. The worker asks a task to stop with SIGUSR1 (cancel) or SIGUSR2 (timeout), raised
here as InterruptedError or TimeoutError in the task's code; a blocking time.sleep is interrupted too. The
worker may send the next task while one runs, so a signal names its task in the stop word (a page shared
with the worker): a signal meant for a task that has ended is ignored, and a task whose stop was asked
before it began does not run.
Frames: worker/include/scaler/worker/python_processor.h.
"""

import array
import collections
import mmap
import os
import resource
import signal
import socket
import struct
import sys
import time
import types

_running = False  # the signal handlers raise only inside a task
_current = 0  # the running task's handle
_stop_word = None  # the worker's stop requests: u64 task handle, u8 kind (1 cancel, 2 timeout)
_worker = _serialization = None  # imported once the waiting hooks are in place
# A processor with nothing to do this long exits, so the processors of executor threads that nested tasks once
# needed do not linger; the worker replaces one idle for PythonProcessor::kIdleRestart (50 s) before using it.
IDLE_EXIT_SECONDS = 60
_TASK = struct.Struct("<cQI")  # 'T', task handle, argument count
_ARGUMENT = struct.Struct("<BQ")
_RESULT = struct.Struct("<cBQQQ")
_STOP = struct.Struct("<QB")
_STOPS = {1: (InterruptedError, "task cancelled"), 2: (TimeoutError, "task exceeded its timeout")}


def _stop_requested():
    """The running task's stop request, (exception type, message), or None."""
    handle, kind = _STOP.unpack_from(_stop_word, 0)
    return _STOPS.get(kind) if handle == _current else None


def _on_stop_signal(signum, frame):  # noqa: ARG001
    """SIGUSR1 and SIGUSR2: the stop word says which task and why; a late signal for the task before is
    ignored."""
    stop = _stop_requested() if _running else None
    if stop is not None:
        raise stop[0](stop[1])


class _Idle(Exception):
    """No frame began within IDLE_EXIT_SECONDS."""


class _Channel:
    """Frames from the worker, read into one buffer of a megabyte (no allocation per read: this is the per-task
    path); a large argument goes straight into its own buffer. Reads block in the kernel with a timeout
    (SO_RCVTIMEO), not in select, which would cost a system call per read."""

    _CHUNK = 1 << 20
    _ANCILLARY = socket.CMSG_SPACE(256 * 4)  # up to 256 descriptors with one read

    # Shared objects kept mapped (by their memfd's inode), most recently used last; a mapping keeps its pages
    # alive after the worker's cache lets the object go, so both the count and the bytes are bounded.
    _MAPPINGS = 32
    _MAPPED_BYTES = 2 << 30

    def __init__(self, fd):
        self._socket = socket.socket(fileno=fd)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", IDLE_EXIT_SECONDS, 0))
        self._buffer = bytearray(self._CHUNK)
        self._view = memoryview(self._buffer)
        self._start = 0
        self._end = 0
        self._fds = collections.deque()  # descriptors that came with frames, in argument order
        self._mappings = collections.OrderedDict()
        self._mapped_bytes = 0

    def _compact(self):
        """The unread bytes moved to the front of the buffer."""
        tail = bytes(self._view[self._start:self._end])
        self._view[:len(tail)] = tail
        self._start, self._end = 0, len(tail)

    def _fill(self):
        """Reads what has arrived (at least a byte) after the buffered bytes."""
        if self._end == self._CHUNK or self._start == self._end:
            self._compact()
        try:
            n, ancillary, _, _ = self._socket.recvmsg_into([self._view[self._end:]], self._ANCILLARY)
        except BlockingIOError:
            raise _Idle from None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                self._fds.extend(array.array("i", data[:len(data) - len(data) % 4]))
        if n == 0:
            raise EOFError
        self._end += n

    def unpack(self, layout):
        """The next fields, by a struct.Struct."""
        while self._end - self._start < layout.size:
            self._fill()
        values = layout.unpack_from(self._buffer, self._start)
        self._start += layout.size
        return values

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
        available = self._end - self._start
        if available >= n:
            out = bytes(self._view[self._start:self._start + n])
            self._start += n
            return out
        if n > self._CHUNK // 2:  # a large argument: straight into its own buffer, no second copy
            out = bytearray(n)
            view = memoryview(out)
            view[:available] = self._view[self._start:self._end]
            self._start = self._end = 0
            filled = available
            while filled < n:
                try:
                    got = self._socket.recv_into(view[filled:])
                except BlockingIOError:
                    raise _Idle from None
                if got == 0:
                    raise EOFError
                filled += got
            return out
        while self._end - self._start < n:
            if self._CHUNK - self._start < n:  # it would not fit after the unread bytes
                self._compact()
            self._fill()
        return self.read_exact(n)

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


def _run(arguments):
    """(ok, result bytes) of one task: the task's own, or its stop if that was asked before it began."""
    global _running
    try:
        try:
            _running = True
            stop = _stop_requested()
            if stop is not None:
                raise stop[0](stop[1])
            return _worker.run_task(arguments)
        finally:
            _running = False  # a stop signal raises only up to here, where the outer clause catches it
    except BaseException as exc:  # noqa: BLE001 - a stop signal that landed outside the task's own code
        return False, _serialization.encode_exception(exc).encode("ascii")


def main():
    global _current, _stop_word, _worker, _serialization
    channel = _Channel(int(sys.argv[1]))
    _stop_word = mmap.mmap(int(sys.argv[2]), _STOP.size, prot=mmap.PROT_READ)
    sys.modules["_scaler_cpp_worker"] = _waiting_hooks(channel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when a task ends, not a terminal's Ctrl-C
    signal.signal(signal.SIGUSR1, _on_stop_signal)
    signal.signal(signal.SIGUSR2, _on_stop_signal)
    # the worker starts us with these blocked, so one sent before the handlers were in place did not end us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2})
    from . import _serialization, _worker

    read_exact, unpack = channel.read_exact, channel.unpack
    while True:
        try:
            kind, _current, count = unpack(_TASK)
        except _Idle:
            return  # idle: the worker starts another when it needs one (PythonProcessor::kIdleRestart)
        except EOFError:
            return  # the worker is gone or done with us
        if kind != b"T":
            raise SystemExit(f"scaler_cpp._processor: unknown frame {kind!r}")
        arguments = []
        for _ in range(count):
            kind, length = unpack(_ARGUMENT)
            if kind == 1:
                arguments.append(channel.shared(length))
            else:
                arguments.append(read_exact(length))
        started = time.thread_time_ns()
        ok, result = _run(arguments)
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
