"""SchedulerClusterCombo: a local scheduler and workers from scaler-cpp's binaries, for tests and notebooks."""

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import weakref
from typing import Dict, List, Optional


def _binary(name: str) -> str:
    """$SCALER_CPP_BIN_DIR, then the build tree this package sits in, then the bin directory of the environment
    pip installed scaler_cpp into, then PATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = (
        os.environ.get("SCALER_CPP_BIN_DIR"),
        os.path.join(here, "..", "..", "bin"),
        sysconfig.get_path("scripts"),
        os.path.dirname(sys.executable),
    )
    for directory in candidates:
        if directory and os.access(os.path.join(directory, name), os.X_OK):
            return os.path.normpath(os.path.join(directory, name))
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: set SCALER_CPP_BIN_DIR or put it on PATH")
    return found


def _free_port_pair() -> int:
    """A port P with P and P + 2 (the monitor) free when checked."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 2 > 65535:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 2))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair on 127.0.0.1")


def _capabilities_text(capabilities: Optional[Dict[str, int]]) -> str:
    if not capabilities:
        return ""
    return ",".join(name if value is None or value < 0 else f"{name}={value}" for name, value in capabilities.items())


def _worker_environment() -> Dict[str, str]:
    """This process's environment with its sys.path as PYTHONPATH: a task's function that is sent by reference
    imports on a local worker just as it did here. (Workers also start in this process's working directory.)"""
    env = dict(os.environ)
    path = [os.path.abspath(entry) if entry else os.getcwd() for entry in sys.path]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    return env


class _Processes:
    """The combo's children and the thread that replaces dead workers. Holds no reference to the combo, so a
    combo nobody uses is collected and its finaliser stops them."""

    def __init__(self, log):
        self.log = log
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.scheduler: Optional[subprocess.Popen] = None
        self.workers: List[subprocess.Popen] = []
        self.worker_args: List[str] = []
        self.worker_env: Optional[Dict[str, str]] = None
        self.replaced_workers = 0
        self.stopped = False
        # Children read this pipe's read end; the write end lives only in this process, so when it ends in any
        # way (SIGKILL included) the children see end of file and shut down (--exit-when-fd-closes).
        self.pipe_read, self.pipe_write = os.pipe()

    def spawn(self, args, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        args = [*args, "--exit-when-fd-closes", str(self.pipe_read)]
        return subprocess.Popen(  # noqa: S603 - our own binaries
            args, stdout=self.log, stderr=self.log, pass_fds=(self.pipe_read,), start_new_session=True, env=env
        )

    def spawn_worker(self) -> subprocess.Popen:
        return self.spawn(self.worker_args, self.worker_env)

    def keep_workers(self):
        while not self.stopping.wait(0.1):
            with self.lock:
                if self.scheduler.poll() is not None:
                    return  # a worker would only wait for a scheduler that is gone
                for i, worker in enumerate(self.workers):
                    if worker.poll() is not None and not self.stopping.is_set():
                        self.workers[i] = self.spawn_worker()
                        self.replaced_workers += 1

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        self.stopping.set()
        with self.lock:  # once it is ours, the keeper starts nothing more
            workers = list(self.workers)
        # workers first, while the scheduler can still answer their goodbye; then the scheduler
        for group in (workers, [self.scheduler] if self.scheduler is not None else []):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + 10
            for process in group:
                try:
                    process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for fd in (self.pipe_read, self.pipe_write):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.log is not None:
            self.log.close()


class SchedulerClusterCombo:
    """Starts a scheduler and `n_workers` workers; a worker process that exits is replaced while the scheduler
    lives.

    The processes end with this object: at shutdown(), when it is garbage collected, when the interpreter
    exits, and (through a pipe they watch) when this process is killed."""

    def __init__(
        self,
        n_workers: int,
        address: Optional[str] = None,
        per_worker_capabilities: Optional[Dict[str, int]] = None,
        per_worker_task_queue_size: int = 1000,
        max_number_of_tasks_waiting: int = -1,
        max_queued_tasks: Optional[int] = None,
        heartbeat_interval_seconds: float = 2,
        client_timeout_seconds: float = 60,
        worker_timeout_seconds: float = 10,
        death_timeout_seconds: float = 300,
        load_balance_seconds: float = 1,
        protected: bool = True,
        policy_content: str = "allocate=even_load; scaling=no",
        logging_level: str = "WARNING",
        logging_paths=("/dev/stdout",),
        **kwargs,
    ):
        monitor_address = kwargs.pop("monitor_address", None)
        load_balance_trigger_times = kwargs.pop("load_balance_trigger_times", 2)
        policy_content = _policy_content(kwargs.pop("scaler_policy", None), policy_content)
        _check_reference_only_options(kwargs)
        self._address = address or f"tcp://127.0.0.1:{_free_port_pair()}"
        log = None if logging_paths == ("/dev/stdout",) else open(logging_paths[0], "ab")  # noqa: SIM115
        scheduler_args = [
            _binary("scaler_scheduler"), self._address,
            "--client-timeout-seconds", str(client_timeout_seconds),
            "--worker-timeout-seconds", str(worker_timeout_seconds),
            "--load-balance-seconds", str(load_balance_seconds),
            "--load-balance-trigger-times", str(int(load_balance_trigger_times)),
            "--max-number-of-tasks-waiting", str(max_number_of_tasks_waiting),
            "--policy-content", policy_content,
            "--logging-level", logging_level,
        ]
        if max_queued_tasks is not None:
            scheduler_args += ["--max-queued-tasks", str(int(max_queued_tasks))]
        if protected:
            scheduler_args.append("--protected")
        if monitor_address is not None:
            scheduler_args += ["--monitor-address", str(monitor_address)]
        worker_args = [
            _binary("scaler_worker"), self._address,
            "--per-worker-task-queue-size", str(per_worker_task_queue_size),
            "--heartbeat-interval-seconds", str(heartbeat_interval_seconds),
            "--death-timeout-seconds", str(death_timeout_seconds),
            "--logging-level", logging_level,
            # this interpreter imports scaler_cpp (and whatever the caller has installed)
            "--python", sys.executable,
        ]
        capabilities = _capabilities_text(per_worker_capabilities)
        if capabilities:
            worker_args += ["--per-worker-capabilities", capabilities]
        processes = _Processes(log)
        # registered first: whatever fails below, what was started is stopped with this object or at exit
        self._finalizer = weakref.finalize(self, processes.stop)
        self._processes = processes
        processes.worker_args = worker_args
        processes.worker_env = _worker_environment()
        processes.scheduler = processes.spawn(scheduler_args)
        with processes.lock:
            processes.workers = [processes.spawn_worker() for _ in range(n_workers)]
        self._keeper = threading.Thread(target=processes.keep_workers, name="scaler_cpp-combo", daemon=True)
        self._keeper.start()

    @property
    def replaced_workers(self) -> int:
        return self._processes.replaced_workers

    def get_address(self) -> str:
        return self._address

    def shutdown(self) -> None:
        self._finalizer()  # processes.stop, once
        self._keeper.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown()


# The reference's options for parts scaler-cpp does not have: its default value (what scaler-cpp does anyway) is
# accepted; any other raises TypeError saying why, never silently ignored.
_REFERENCE_ONLY_OPTIONS = {
    "object_storage_address": (None, "objects live in the scheduler; there is no object storage server"),
    "worker_io_threads": (1, "a worker has one I/O thread"),
    "scheduler_io_threads": (1, "the scheduler has one I/O thread"),
    "object_retention_seconds": (60, "an object lives until its client deletes it, clears or disconnects"),
    "task_timeout_seconds": (0, "give tasks a timeout with the C++ client's SubmitOptions.timeoutSeconds"),
    "garbage_collect_interval_seconds": (30, "objects are freed when their client lets them go, not by a sweep"),
    "trim_memory_threshold_bytes": (1 << 30, "the scheduler returns freed memory to the system by itself"),
    "hard_processor_suspend": (False, "a waiting task lends its slot; its processor is never suspended"),
    "event_loop": ("builtin", "the scheduler is C++ with its own event loop"),
    "logging_config_file": (None, "use logging_level and logging_paths"),
}


def _check_reference_only_options(options: Dict[str, object]) -> None:
    for name, value in options.items():
        if name not in _REFERENCE_ONLY_OPTIONS:
            raise TypeError(f"SchedulerClusterCombo got an option neither scaler_cpp nor the reference takes: {name}")
        default, why = _REFERENCE_ONLY_OPTIONS[name]
        if value != default:
            raise TypeError(f"SchedulerClusterCombo({name}={value!r}): scaler_cpp takes only {default!r}: {why}")


def _policy_content(scaler_policy, policy_content: str) -> str:
    """The reference's scaler_policy (a PolicyConfig with policy_content, or its text) is policy_content."""
    if scaler_policy is None:
        return policy_content
    text = scaler_policy if isinstance(scaler_policy, str) else getattr(scaler_policy, "policy_content", None)
    if not isinstance(text, str):
        raise TypeError(
            f"SchedulerClusterCombo(scaler_policy={scaler_policy!r}): give policy_content='allocate=...; scaling=...'"
        )
    return text
