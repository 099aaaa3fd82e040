"""The Python processor: a child of scaler_worker that runs its Python tasks, one at a time. Not for users.

A task that ends its process (os._exit, a segfault in C code, the OOM killer) costs this process, not the
worker: the worker reports the task's worker death (the scheduler's retry limit applies) and starts another
processor for the next task. The worker asks a task to stop with SIGUSR1 (cancel) or SIGUSR2 (timeout), raised
here as InterruptedError or TimeoutError in the task's code; a blocking time.sleep is interrupted too. The
worker may send the next task while one runs, so a signal names its task in the stop word (a page shared
with the worker): a signal meant for a task that has ended is ignored, and a task whose stop was asked
before it began does not run.
Results of short tasks after short ones, followed by tasks already sent, wait to go together (one write, one wake-up of the
worker's thread, for up to _HOLD_RESULTS of them); the page says when results wait, and a worker that has
waited a millisecond for one sends SIGUSR1, which sends them at once, so a long task does not hold back the
short ones before it.
Frames: worker/include/scaler/worker/python_processor.h.
"""

import _thread
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
_stop_word = None  # the worker's stop requests: u64 task handle, u8 kind (1 cancel, 2 timeout); then ours:
_HOLDING_AT = 16  # u8 at this offset: 1 while finished tasks' results wait in _held (the worker reads it)
_held = []  # finished tasks' result frames not sent yet
_send_lock = _thread.allocate_lock()  # one frame at a time: a task's threads send waiting notices too
_channel = None
# A result waits for the next task's only when its task took less than this, for at most this many, and not
# past the window after the first that waited: a no-op's result costs the worker's thread a wake-up of its own.
_HOLD_TASK_NS = 200_000  # PythonProcessor::kHeldTaskUs
_HOLD_RESULTS = 16
_HOLD_BYTES = 16384
_HOLD_WINDOW_NS = 500_000
_worker = _serialization = None  # imported once the waiting hooks are in place
# A processor with nothing to do this long exits, so the processors of executor threads that nested tasks once
# needed do not linger; the worker replaces one idle for PythonProcessor::kIdleRestart (50 s) before using it.
IDLE_EXIT_SECONDS = 60
_TASK = struct.Struct("<cQI")  # 'T', task handle, argument count
_ARGUMENT = struct.Struct("<BQ")
_RESULT = struct.Struct("<cBQQQQ")
_STOP = struct.Struct("<QB")
_STOPS = {1: (InterruptedError, "task cancelled"), 2: (TimeoutError, "task exceeded its timeout")}


def _stop_requested():
    """The running task's stop request, (exception type, message), or None."""
    handle, kind = _STOP.unpack_from(_stop_word, 0)
    return _STOPS.get(kind) if handle == _current else None


def _send(data=b"", wait=True):
    """The results that wait, then `data`, in one write. A signal handler does not wait (wait=False): the send
    it would wait for may be the one it interrupted, which goes on with the results anyway."""
    if not _send_lock.acquire(wait):
        return
    try:
        if _held:
            data = b"".join(_held) + data
            _held.clear()
            _stop_word[_HOLDING_AT] = 0
        if data:
            _channel.send(data)
    finally:
        _send_lock.release()


def _on_stop_signal(signum, frame):  # noqa: ARG001
    """SIGUSR1 and SIGUSR2: results that wait go now (the worker asks with SIGUSR1 when it has waited); then
    the stop word says which task to stop and why; a late signal for the task before is ignored."""
    if _held:
        _send(wait=False)
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
        """Reads what has arrived (at least a byte) after the buffered bytes; results that wait go first, as
        this may block."""
        if _held:
            _send()
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
                if _held:
                    _send()
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

    def buffered(self):
        """Bytes of the next frame have been read already."""
        return self._end > self._start


def _waiting_hooks(channel):
    """The module `_scaler_cpp_worker` that scaler_cpp.client imports: a task waiting on its nested futures
    tells the worker, which lends its slot meanwhile."""
    module = types.ModuleType("_scaler_cpp_worker")

    def waiting(now_waiting):
        _send(b"W" + (b"\x01" if now_waiting else b"\x00"))

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
    global _current, _stop_word, _worker, _serialization, _channel
    channel = _channel = _Channel(int(sys.argv[1]))
    _stop_word = mmap.mmap(int(sys.argv[2]), _HOLDING_AT + 1, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    sys.modules["_scaler_cpp_worker"] = _waiting_hooks(channel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker decides when a task ends, not a terminal's Ctrl-C
    signal.signal(signal.SIGUSR1, _on_stop_signal)
    signal.signal(signal.SIGUSR2, _on_stop_signal)
    # the worker starts us with these blocked, so one sent before the handlers were in place did not end us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2})
    from . import _serialization, _worker

    read_exact, unpack = channel.read_exact, channel.unpack
    short = False  # the task before ran under _HOLD_TASK_NS
    while True:
        try:
            kind, _current, count = unpack(_TASK)
        except _Idle:
            return  # idle: the worker starts another when it needs one (PythonProcessor::kIdleRestart)
        except EOFError:
            return  # the worker is gone or done with us
        if kind != b"T" and kind != b"P":
            raise SystemExit(f"scaler_cpp._processor: unknown frame {kind!r}")
        profiled = kind == b"P"
        arguments = []
        for _ in range(count):
            kind, length = unpack(_ARGUMENT)
            if kind == 1:
                arguments.append(channel.shared(length))
            else:
                arguments.append(read_exact(length))
        if profiled:  # three system calls, more than a no-op task costs: only when the client asked
            began, started = time.perf_counter_ns(), time.thread_time_ns()
            ok, result = _run(arguments)
            ended = time.perf_counter_ns()
            cpu_us = (time.thread_time_ns() - started) // 1000
            peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        else:
            began = time.perf_counter_ns()
            ok, result = _run(arguments)
            ended = time.perf_counter_ns()
            cpu_us = peak_rss = 0
        header = _RESULT.pack(b"R", 1 if ok else 0, cpu_us, (ended - began) // 1000, peak_rss, len(result))
        short, after_short = ended - began < _HOLD_TASK_NS, short
        if len(result) >= 65536:
            _send(header)
            channel.send(result)
            continue
        if not _held:
            held_since = ended
        # after a short task only: the worker waits for a result with a timer only then (kAskForHeldAfter)
        if (short and after_short and len(result) < _HOLD_BYTES and len(_held) + 1 < _HOLD_RESULTS
                and channel.buffered() and ended - held_since < _HOLD_WINDOW_NS):
            _stop_word[_HOLDING_AT] = 1  # before the result: a flush in between must not leave it set
            _held.append(header + result)  # the next task is here already: this result goes with its
        else:
            _send(header + result)


if __name__ == "__main__":
    os.environ.pop("PYTHONSTARTUP", None)
    main()
