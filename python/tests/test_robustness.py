"""Issue 29: a Python client that never hangs, never leaves processes behind, never answers from a stale
function. Real scheduler and worker processes; every wait has a deadline."""

import concurrent.futures
import _thread
import dataclasses
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import cloudpickle

from scaler_cpp import (
    Client,
    DefaultSerializer,
    DisconnectedError,
    ObjectStoreFullError,
    SchedulerClusterCombo,
    SubmitTimeoutError,
    WorkerDiedError,
)
from scaler_cpp.cluster import _binary, _free_port_pair

from combo_case import ComboTestCase


def add(a, b):
    return a + b


def sleep_then(x, seconds):
    time.sleep(seconds)
    return x


def digest(data, salt=b""):
    import hashlib

    return hashlib.sha256(bytes(data) + salt).hexdigest()


def divide(a, b):
    return a // b


def interpreter():
    return os.path.realpath(sys.executable)


class Scaled:
    def __init__(self):
        self.k = 1

    def f(self, x):
        return x + self.k


@dataclasses.dataclass
class Adder:  # eq=True makes it unhashable
    k: int

    def __call__(self, x):
        return x + self.k


def wait_until(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def process_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")  # a zombie nobody reaps is gone too
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or reaped between open and read
        return True


class FunctionsAreWhatTheCallerPassedTest(ComboTestCase):

    def test_a_bound_method_runs_with_its_instance_as_it_is_at_each_submit(self):
        a = Scaled()
        self.assertEqual(self.client.submit(a.f, 1).result(timeout=30), 2)
        a.k = 100
        self.assertEqual(self.client.submit(a.f, 1).result(timeout=30), 101)
        a.k = 7
        self.assertEqual(self.client.map(a.f, [1, 2]), [8, 9])

    def test_an_unhashable_callable_object_can_be_submitted(self):
        adder = Adder(5)
        self.assertEqual(self.client.submit(adder, 1).result(timeout=30), 6)
        adder.k = 10
        self.assertEqual(self.client.submit(adder, 1).result(timeout=30), 11)
        self.assertEqual(self.client.starmap(Adder(1), [(1,), (2,)]), [2, 3])

    def test_changes_to_cloudpickles_by_value_registry_are_honoured_at_the_next_submit(self):
        with tempfile.TemporaryDirectory() as folder:
            # a module only this process can import: by reference the worker cannot load it
            with open(os.path.join(folder, "only_here_29.py"), "w") as f:
                f.write("VALUE = 41\n\ndef value_plus_one():\n    return VALUE + 1\n")
            sys.path.insert(0, folder)
            try:
                import only_here_29

                # the user's own module: by value without being asked (issue 30)
                self.assertEqual(self.client.submit(only_here_29.value_plus_one).result(timeout=30), 42)
                cloudpickle.unregister_pickle_by_value(only_here_29)  # the caller opts out: by reference
                with self.assertRaises(ModuleNotFoundError):
                    self.client.submit(only_here_29.value_plus_one).result(timeout=30)
                cloudpickle.register_pickle_by_value(only_here_29)
                try:
                    self.assertEqual(self.client.submit(only_here_29.value_plus_one).result(timeout=30), 42)
                finally:
                    cloudpickle.unregister_pickle_by_value(only_here_29)
            finally:
                sys.path.remove(folder)
                sys.modules.pop("only_here_29", None)

    def test_map_raises_a_tasks_failure_and_the_client_goes_on(self):
        with self.assertRaises(ZeroDivisionError):
            self.client.map(divide, [1, 2, 3], [1, 0, 1])
        self.assertEqual(self.client.map(divide, [4, 9], [2, 3]), [2, 3])
        self.assertEqual(self.client.map(add, [], []), [])

    def test_a_plain_function_is_sent_once(self):
        before = len(self.client._function_bytes)
        for i in range(20):
            self.client.submit(add, i, 1).result(timeout=30)
        self.assertLessEqual(len(self.client._function_bytes) - before, 1)


def combo_script(ending):
    return textwrap.dedent(
        f"""
        import os, sys, time
        from scaler_cpp import SchedulerClusterCombo
        combo = SchedulerClusterCombo(n_workers=2)
        pids = [combo._processes.scheduler.pid] + [w.pid for w in combo._processes.workers]
        print(" ".join(map(str, pids)), flush=True)
        ending = {ending!r}
        if ending == "raise":
            raise RuntimeError("the script failed")
        if ending in ("interrupt", "kill"):
            time.sleep(120)
        """
    )


class SharedObjectsReachProcessorsTest(ComboTestCase):
    """Objects of 1 MiB and more reach a worker's Python processors as shared memory (a memfd), not a copy."""

    def test_a_large_object_arrives_whole_in_every_task_and_position(self):
        data = bytes(range(256)) * (16 << 10)  # 4 MiB
        ref = self.client.send_object(data)
        expected = digest(data)
        self.assertEqual(self.client.map(digest, [ref] * 8), [expected] * 8)
        self.assertEqual(self.client.submit(digest, ref, salt=b"!").result(timeout=60), digest(data, b"!"))
        small = self.client.send_object(b"abc")
        self.assertEqual(self.client.submit(digest, small).result(timeout=60), digest(b"abc"))

    def test_a_hundred_mebibyte_object_used_by_many_tasks(self):
        ref = self.client.send_object(b"x" * (100 << 20))
        self.assertEqual(self.client.map(len, [ref, ref]), [100 << 20] * 2)  # cached on both workers
        started = time.perf_counter()
        self.assertEqual(self.client.map(len, [ref] * 40), [100 << 20] * 40)
        seconds = time.perf_counter() - started
        print(f"\n40 tasks on a cached 100 MiB object: {seconds:.2f} s ({seconds / 40 * 1000:.1f} ms a task)",
              file=sys.stderr)


class ProcessesEndWithTheScriptTest(unittest.TestCase):
    """Without shutdown(): the combo's scheduler and workers are gone once the script is."""

    def run_script(self, ending, signal_number=None):
        script = subprocess.Popen(
            [sys.executable, "-c", combo_script(ending)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=os.environ, text=True,
        )
        try:
            pids = [int(p) for p in script.stdout.readline().split()]
            self.assertEqual(len(pids), 3)
            if signal_number is not None:
                time.sleep(0.3)  # let the children start watching their pipe: the test is of the end, not the start
                script.send_signal(signal_number)
            script.wait(timeout=60)
            started = time.monotonic()
            wait_until(lambda: all(process_gone(p) for p in pids), 30, f"processes {pids} gone after '{ending}'")
            print(f"\n{ending}: children gone {time.monotonic() - started:.2f} s after the script", file=sys.stderr)
        finally:
            if script.poll() is None:
                script.kill()
            script.stdout.close()

    def test_a_script_that_ends_normally(self):
        self.run_script("normal")

    def test_a_script_that_raises(self):
        self.run_script("raise")

    def test_a_script_interrupted_outside_a_with(self):
        self.run_script("interrupt", signal.SIGINT)

    def test_a_script_killed_with_sigkill(self):
        self.run_script("kill", signal.SIGKILL)

    def test_a_combo_nobody_references_is_stopped(self):
        combo = SchedulerClusterCombo(n_workers=1)
        pids = [combo._processes.scheduler.pid] + [w.pid for w in combo._processes.workers]
        del combo
        wait_until(lambda: all(process_gone(p) for p in pids), 30, "the collected combo's processes gone")

    def test_workers_are_not_respawned_for_a_scheduler_that_is_gone(self):
        with SchedulerClusterCombo(n_workers=1, death_timeout_seconds=1) as combo:
            combo._processes.scheduler.kill()
            worker = combo._processes.workers[0]
            wait_until(lambda: worker.poll() is not None, 30, "the worker leaving its lost scheduler")
            time.sleep(0.5)  # the keeper polls every 0.1 s: it had five chances to respawn
            self.assertEqual(combo.replaced_workers, 0)


class StandaloneCluster:
    """A scheduler and workers on a fixed address, to kill and start again."""

    def __init__(self, workers=1, scheduler_args=()):
        self.address = f"tcp://127.0.0.1:{_free_port_pair()}"
        self.scheduler = None
        self.scheduler_args = list(scheduler_args)
        self.start_scheduler()
        self.workers = [
            subprocess.Popen([_binary("scaler_worker"), self.address, "--heartbeat-interval-seconds", "0.5",
                              "--logging-level", "error"])
            for _ in range(workers)
        ]

    def start_scheduler(self):
        self.scheduler = subprocess.Popen([_binary("scaler_scheduler"), self.address, "--logging-level", "error",
                                           *self.scheduler_args])

    def kill_scheduler(self):
        self.scheduler.kill()
        self.scheduler.wait()

    def stop(self):
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait()


def kinds(*args, **kwargs):
    return [type(a).__name__ for a in args] + [type(v).__name__ for v in kwargs.values()]


def echo(value):
    return value


def make_structure(n):
    return {"data": bytearray(make_bytes(n)), "after": list(range(1000)), "text": "x" * 100}


def make_bytes(n):
    return bytes(range(256)) * (n // 256)


class BackpressureTest(unittest.TestCase):
    """A client past its share of the scheduler's --max-queued-tasks waits in submit (other threads running
    meanwhile), raises SubmitTimeoutError after submit_timeout_seconds, and a map larger than the share runs."""

    def test_a_full_share_waits_lets_other_threads_run_and_times_out(self):
        with SchedulerClusterCombo(n_workers=0, max_queued_tasks=20) as cluster:  # one client: a share of 10
            with Client(address=cluster.get_address(), submit_timeout_seconds=0.5) as client:
                futures = [client.submit(add, i, 1) for i in range(10)]
                ticks = []
                stop = threading.Event()

                def tick():
                    while not stop.is_set():
                        ticks.append(1)
                        time.sleep(0.01)

                ticker = threading.Thread(target=tick)
                ticker.start()
                started = time.monotonic()
                with self.assertRaises(SubmitTimeoutError) as raised:
                    client.submit(add, 10, 1)
                waited = time.monotonic() - started
                stop.set()
                ticker.join()
                self.assertIn("10 unfinished tasks of 10", str(raised.exception))
                self.assertGreaterEqual(waited, 0.45)
                self.assertGreater(len(ticks), 10, "the GIL was held while submit waited")
                with self.assertRaises(TimeoutError):  # SubmitTimeoutError is one
                    client.map(add, range(5), range(5))
                with self.assertRaises(SubmitTimeoutError):  # a graph waits for room as submit does
                    client.get({"a": 1, "two": 2, "b": (add, "a", "two")}, keys=["b"])

    def test_a_map_larger_than_the_share_runs_whole(self):
        with SchedulerClusterCombo(n_workers=2, max_queued_tasks=50) as cluster:
            with Client(address=cluster.get_address()) as client:
                self.assertEqual(client.map(add, range(2000), range(2000)), [2 * i for i in range(2000)])


class LargeResultsTest(unittest.TestCase):
    """Results larger than the scheduler's message limit travel in parts (issue 29 item 7)."""

    def test_results_over_the_message_limit_come_back_whole(self):
        cluster = StandaloneCluster(scheduler_args=["--max-message-bytes", str(1 << 20)])
        try:
            with Client(address=cluster.address) as client:
                n = 24 << 20
                expected = make_bytes(n)
                self.assertEqual(client.submit(make_bytes, n).result(timeout=120), expected)
                # and as an argument and a result at once, beside small ones
                futures = [client.submit(digest, expected), client.submit(add, 1, 2)]
                self.assertEqual(futures[1].result(timeout=120), 3)
                self.assertEqual(len(futures[0].result(timeout=120)), 64)
                self.assertEqual(client.map(make_bytes, [n, 1024]), [expected, make_bytes(1024)])
                # read part by part by pickle.load: containers, a bytearray, and a value after the large one
                value = client.submit(make_structure, n).result(timeout=120)
                self.assertEqual(value, make_structure(n))
                self.assertIs(type(value["data"]), bytearray)
                # large bytes arguments travel raw, lent to the native client: they arrive as bytes, and the
                # client lets go of them once their task is done
                payload = make_bytes(n)
                references = sys.getrefcount(payload)
                self.assertEqual(client.submit(kinds, payload, 1, key=payload).result(timeout=120),
                                 ["bytes", "int", "bytes"])
                self.assertEqual(client.submit(echo, payload).result(timeout=120), payload)
                deadline = time.monotonic() + 10
                while sys.getrefcount(payload) > references and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(sys.getrefcount(payload), references)
            # the readers that want the result in one buffer get it so
            with Client(address=cluster.address, stream_output=True) as client:
                self.assertEqual(client.submit(make_bytes, n).result(timeout=120), expected)
            with Client(address=cluster.address, serializer=DefaultSerializer()) as client:
                self.assertEqual(client.submit(make_bytes, n).result(timeout=120), expected)
        finally:
            cluster.stop()


class NoHangAfterTheSchedulerIsLostTest(unittest.TestCase):
    TIMEOUT = 3

    def setUp(self):
        self.cluster = StandaloneCluster()
        self.client = Client(address=self.cluster.address, timeout_seconds=self.TIMEOUT, heartbeat_interval_seconds=0.5)

    def tearDown(self):
        self.client.disconnect()
        self.cluster.stop()

    def in_thread(self, call):
        """call() in a thread; its outcome, or AssertionError if it hangs."""
        outcome = {}

        def run():
            try:
                outcome["value"] = call()
            except BaseException as e:  # noqa: BLE001
                outcome["error"] = e

        thread = threading.Thread(target=run, daemon=True)
        started = time.monotonic()
        thread.start()
        thread.join(self.TIMEOUT * 3 + 10)
        self.assertFalse(thread.is_alive(), "the call hangs")
        outcome["seconds"] = time.monotonic() - started
        return outcome

    def test_killed_and_not_restarted_every_call_fails_with_disconnected_within_the_timeout(self):
        self.assertEqual(self.client.submit(add, 1, 2).result(timeout=30), 3)
        pending = self.client.submit(sleep_then, 1, 60)
        self.cluster.kill_scheduler()
        with self.assertRaises(DisconnectedError):
            pending.result(timeout=self.TIMEOUT * 3)
        # after the client knows it is lost: new work must not wait forever
        late = self.in_thread(lambda: self.client.submit(add, 2, 3).result())
        self.assertIsInstance(late.get("error"), DisconnectedError)
        mapped = self.in_thread(lambda: self.client.map(add, [1, 2], [3, 4]))
        self.assertIsInstance(mapped.get("error"), DisconnectedError)
        sent = self.in_thread(lambda: self.client.send_object(b"x" * 1000))
        self.assertIsInstance(sent.get("error"), DisconnectedError)
        self.assertNotIsInstance(sent.get("error"), ObjectStoreFullError)
        first = self.in_thread(lambda: self.client.submit(interpreter).result())  # a function never sent
        self.assertIsInstance(first.get("error"), DisconnectedError)
        for outcome in (late, mapped, sent, first):
            self.assertLess(outcome["seconds"], self.TIMEOUT + 3)

    def test_killed_and_restarted_within_the_timeout_every_call_completes(self):
        self.assertEqual(self.client.submit(add, 1, 2).result(timeout=30), 3)
        self.cluster.kill_scheduler()
        restart = threading.Timer(1.0, self.cluster.start_scheduler)
        restart.start()
        try:
            submitted = self.in_thread(lambda: self.client.submit(add, 20, 22).result())
            self.assertEqual(submitted.get("value"), 42, submitted.get("error"))
            mapped = self.in_thread(lambda: self.client.map(add, [1, 2], [3, 4]))
            self.assertEqual(mapped.get("value"), [4, 6], mapped.get("error"))
            ref = self.in_thread(lambda: self.client.send_object(b"abc"))
            self.assertIn("value", ref, ref.get("error"))
            self.assertEqual(self.client.submit(len, ref["value"]).result(timeout=30), 3)
        finally:
            restart.join()


def crash_in_c():
    import ctypes

    return ctypes.string_at(0)  # reads address 0: SIGSEGV in C code


def die_once_then(marker, value):
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(7)
    return value


def ignore_stops(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except (InterruptedError, TimeoutError):
            pass  # a task that will not stop
    return "finished"


class ATaskThatEndsItsProcessKeepsTheWorkerTest(unittest.TestCase):
    """Hand-started workers (no combo to replace them): the worker stays connected and serves on."""

    def setUp(self):
        self.cluster = StandaloneCluster(workers=1)
        self.client = Client(address=self.cluster.address)
        self.worker_pid = self.cluster.workers[0].pid

    def tearDown(self):
        self.client.disconnect()
        self.cluster.stop()

    def assert_worker_serves(self):
        self.assertEqual(self.client.submit(add, 20, 22).result(timeout=60), 42)
        self.assertIsNone(self.cluster.workers[0].poll())
        self.assertEqual(self.cluster.workers[0].pid, self.worker_pid)

    def test_a_segfault_in_c_code_fails_the_task_naming_the_signal(self):
        with self.assertRaises(WorkerDiedError) as caught:
            self.client.submit(crash_in_c).result(timeout=60)
        self.assertIn("signal 11 (SIGSEGV)", str(caught.exception))
        self.assertIn("retry limit 3", str(caught.exception))
        self.assert_worker_serves()

    def test_os_exit_fails_the_task_naming_the_exit_code(self):
        with self.assertRaises(WorkerDiedError) as caught:
            self.client.submit(os._exit, 3).result(timeout=60)
        self.assertIn("exit code 3", str(caught.exception))
        self.assert_worker_serves()

    def test_a_task_whose_process_died_once_is_retried(self):
        with tempfile.TemporaryDirectory() as folder:
            marker = os.path.join(folder, "died")
            self.assertEqual(self.client.submit(die_once_then, marker, "second try").result(timeout=60), "second try")
        self.assert_worker_serves()

    def test_a_task_that_ignores_its_cancel_is_killed_with_its_process(self):
        future = self.client.submit(ignore_stops, 60)
        time.sleep(0.5)
        started = time.monotonic()
        self.assertTrue(future.cancel())
        seconds = time.monotonic() - started
        print(f"\ncancel of a task that ignores it: {seconds:.2f} s", file=sys.stderr)
        self.assertLess(seconds, 10)
        self.assert_worker_serves()


def wait_for_other(future):
    return future.result(timeout=60)


class CallbacksNeverStopDeliveryTest(ComboTestCase):

    def test_a_callback_that_waits_on_another_future_of_the_same_client(self):
        first = self.client.submit(add, 1, 1)
        second = self.client.submit(sleep_then, 2, 0.5)
        seen = []
        first.add_done_callback(lambda f: seen.append(second.result(timeout=60)))
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(value=self.client.map(add, range(10), range(10))))
        thread.start()
        thread.join(30)
        self.assertFalse(thread.is_alive(), "an unrelated map waits behind a callback")
        self.assertEqual(outcome["value"], [2 * i for i in range(10)])
        wait_until(lambda: seen == [2], 30, "the waiting callback got its result")

    def test_a_callback_that_raises_does_not_stop_others(self):
        seen = []
        futures = [self.client.submit(add, i, 0) for i in range(3)]
        futures[0].add_done_callback(lambda f: 1 / 0)
        for f in futures[1:]:
            f.add_done_callback(lambda f: seen.append(f.result()))
        wait_until(lambda: sorted(seen) == [1, 2], 30, "callbacks after a failing one")


class CallersTakeTheirOwnResultsTest(ComboTestCase):
    """A caller waiting for its future takes the task's completion itself (one thread woken, not two); only one
    caller at a time does, the others and the dispatcher deliver as before."""

    def test_many_threads_waiting_at_once_each_get_their_own_results(self):
        outcomes = {}

        def caller(k):
            outcomes[k] = [self.client.submit(add, i, 1000 * k).result(timeout=60) for i in range(100)]

        threads = [threading.Thread(target=caller, args=(k,)) for k in range(6)]
        mapped = {}
        threads.append(threading.Thread(target=lambda: mapped.update(value=self.client.map(add, range(500), range(500)))))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
            self.assertFalse(thread.is_alive(), "a caller still waits")
        for k in range(6):
            self.assertEqual(outcomes[k], [i + 1000 * k for i in range(100)])
        self.assertEqual(mapped["value"], [2 * i for i in range(500)])

    def test_a_timeout_counts_once_and_the_result_comes_later(self):
        future = self.client.submit(sleep_then, 7, 1.0)
        began = time.monotonic()
        with self.assertRaises(concurrent.futures.TimeoutError):
            future.result(timeout=0.3)
        self.assertLess(time.monotonic() - began, 0.9, "the timeout was waited twice")
        self.assertEqual(future.result(timeout=60), 7)

    def test_a_ctrl_c_while_waiting_loses_no_result(self):
        """_thread.interrupt_main is a SIGINT for Python: a KeyboardInterrupt at any moment of the wait, as the
        result arrives, or as it is delivered; the future still finishes with its own result."""
        rng = random.Random(7)
        in_wait = after = 0
        for i in range(300):
            future = self.client.submit(sleep_then, i, 0.002)
            timer = threading.Timer(rng.uniform(0, 0.006), _thread.interrupt_main)
            returned = False
            try:
                timer.start()
                try:
                    future.result(timeout=60)
                    returned = True
                finally:
                    timer.join()
                for _ in range(1000):  # bytecode boundaries, for an interrupt still pending
                    pass
            except KeyboardInterrupt:
                if returned:
                    after += 1
                else:
                    in_wait += 1
            self.assertEqual(future.result(timeout=60), i, f"round {i}")
        print(f"of 300 waits, {in_wait} interrupted while waiting, {after} after", file=sys.stderr)
        self.assertGreater(in_wait, 0, "no wait was interrupted: the test tested nothing")


class UsableAfterAnErrorTest(unittest.TestCase):
    def test_a_refused_shutdown_leaves_the_client_working(self):
        with SchedulerClusterCombo(n_workers=1, protected=True) as cluster, Client(address=cluster.get_address()) as c:
            with self.assertRaises(ValueError):
                c.shutdown()
            self.assertEqual(c.submit(add, 1, 2).result(timeout=30), 3)
            self.assertEqual(c.map(add, [1], [1]), [2])

    def test_an_accepted_shutdown_stops_the_cluster_and_the_client(self):
        with SchedulerClusterCombo(n_workers=1, protected=False) as cluster:
            client = Client(address=cluster.get_address())
            self.assertEqual(client.submit(add, 1, 2).result(timeout=30), 3)
            client.shutdown()
            wait_until(lambda: cluster._processes.scheduler.poll() is not None, 30, "the scheduler exiting")
            with self.assertRaises(DisconnectedError):
                client.submit(add, 1, 2)


class SmallerItemsTest(unittest.TestCase):
    def test_a_task_asking_for_a_capability_never_runs_where_it_is_missing(self):
        with SchedulerClusterCombo(n_workers=1) as cluster, Client(address=cluster.get_address()) as client:
            gpu = client.submit_verbose(add, (1, 2), {}, capabilities={"gpu": 1})
            self.assertEqual(client.submit(add, 2, 2).result(timeout=30), 4)
            done, _ = concurrent.futures.wait([gpu], timeout=1.5)
            self.assertFalse(done, "a gpu task ran on a worker without gpu")
            worker = subprocess.Popen([_binary("scaler_worker"), cluster.get_address(), "--per-worker-capabilities",
                                       "gpu", "--logging-level", "error"])
            try:
                self.assertEqual(gpu.result(timeout=30), 3)
            finally:
                worker.terminate()
                worker.wait()

    def test_sys_executable_in_a_task_is_the_interpreter_it_runs_in(self):
        with tempfile.TemporaryDirectory() as folder:
            decoy = os.path.join(folder, "python3")
            with open(decoy, "w") as f:
                f.write("#!/bin/sh\nexit 3\n")
            os.chmod(decoy, 0o755)
            path = os.environ["PATH"]
            os.environ["PATH"] = folder + os.pathsep + path  # as a pyenv shim first on PATH
            try:
                with SchedulerClusterCombo(n_workers=1) as cluster, Client(address=cluster.get_address()) as c:
                    remote = c.submit(interpreter).result(timeout=30)
            finally:
                os.environ["PATH"] = path
        self.assertEqual(remote, os.path.realpath("/usr/bin/python3"))

    def test_cancelling_a_task_in_time_sleep_is_quick_and_keeps_the_worker(self):
        with SchedulerClusterCombo(n_workers=1) as cluster, Client(address=cluster.get_address()) as client:
            future = client.submit(sleep_then, 1, 30)
            time.sleep(0.5)  # let it start sleeping
            started = time.monotonic()
            self.assertTrue(future.cancel())
            seconds = time.monotonic() - started
            print(f"\ncancel of a task in time.sleep(30): {seconds:.3f} s", file=sys.stderr)
            self.assertLess(seconds, 2)
            self.assertEqual(client.submit(add, 1, 1).result(timeout=30), 2)
            self.assertEqual(cluster.replaced_workers, 0)

    def test_a_worker_started_with_no_python_refuses_python_tasks(self):
        address = f"tcp://127.0.0.1:{_free_port_pair()}"
        scheduler = subprocess.Popen([_binary("scaler_scheduler"), address, "--logging-level", "error"])
        worker = subprocess.Popen([_binary("scaler_worker"), address, "--no-python", "--logging-level", "error"])
        try:
            with Client(address=address) as client:
                with self.assertRaises(RuntimeError) as caught:
                    client.submit(add, 1, 2).result(timeout=30)
                self.assertIn("--no-python", str(caught.exception))
        finally:
            for process in (worker, scheduler):
                process.terminate()
                process.wait()


def mark_then_sleep(marker, seconds):
    with open(marker, "w"):
        pass
    time.sleep(seconds)
    return "slept"


def make_folder(path):
    os.mkdir(path)
    return path


class TasksHandedAheadToTheProcessorTest(ComboTestCase):
    """One worker holding several tasks: those queued behind a running task are already in its processor, and
    cancels and results still reach exactly the task they belong to."""

    combo_options = {"n_workers": 1, "per_worker_task_queue_size": 8}

    def test_a_task_cancelled_while_it_waits_behind_a_running_one_never_begins(self):
        with tempfile.TemporaryDirectory() as folder:
            marker, made = os.path.join(folder, "began"), os.path.join(folder, "made")
            running = self.client.submit(mark_then_sleep, marker, 1.5)
            waiting = self.client.submit(make_folder, made)
            after = [self.client.submit(add, i, 1) for i in range(5)]
            wait_until(lambda: os.path.exists(marker), 30, "the first task began")
            self.assertTrue(waiting.cancel())
            self.assertEqual(running.result(timeout=60), "slept")
            self.assertEqual([f.result(timeout=60) for f in after], [1, 2, 3, 4, 5])
            self.assertTrue(waiting.cancelled())
            self.assertFalse(os.path.exists(made), "the cancelled task ran")

    def test_results_belong_to_their_tasks_across_failures(self):
        futures = [self.client.submit(divide, 10, i % 3) for i in range(60)]  # every third divides by zero
        for i, future in enumerate(futures):
            if i % 3 == 0:
                self.assertIsInstance(future.exception(timeout=60), ZeroDivisionError)
            else:
                self.assertEqual(future.result(timeout=60), 10 // (i % 3))


if __name__ == "__main__":
    unittest.main()
