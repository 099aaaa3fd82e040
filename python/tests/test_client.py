"""The reference's client API on scaler_cpp, against a real local scheduler and workers (SchedulerClusterCombo)."""

import concurrent.futures
import graphlib
import math
import os
import time
import unittest

from scaler_cpp import (
    Client,
    DisconnectedError,
    MissingObjects,
    ObjectReference,
    ProcessorDiedError,
    SchedulerClusterCombo,
    WorkerDiedError,
)

from combo_case import ComboTestCase


def add(a, b):
    return a + b


def burn(seconds):
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass
    return seconds


def slow_identity(x, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # short sleeps: a cancel interrupts Python between them
        time.sleep(0.01)
    return x


class ReportedError(Exception):
    pass


def raise_reported(message):
    raise ReportedError(message)


def length(data):
    return len(data)


def fibonacci(n):
    if n < 2:
        return n
    with Client() as client:  # no address inside a task: the worker's scheduler
        a = client.submit(fibonacci, n - 1)
        b = client.submit(fibonacci, n - 2)
        return a.result() + b.result()


def inc(x):
    return x + 1


def nested_graph_sum(x):
    with Client() as client:
        graph = {"a": x, "b": (inc, "a"), "c": (add, "a", "b")}
        return client.get(graph, keys=["c"])["c"]


def passed_client_submit(client, x):
    return client.submit(inc, x).result()


class ClientTest(ComboTestCase):
    combo_options = {"n_workers": 2, "per_worker_task_queue_size": 4}

    def test_submit_returns_a_concurrent_future(self):
        future = self.client.submit(add, 2, b=40)
        self.assertIsInstance(future, concurrent.futures.Future)
        self.assertEqual(future.result(timeout=30), 42)
        self.assertTrue(future.done())
        self.assertIsNone(future.exception())

    def test_submit_verbose_with_capabilities(self):
        future = self.client.submit_verbose(add, (1, 2), {}, capabilities={})
        self.assertEqual(future.result(timeout=30), 3)

    def test_map_and_starmap_return_lists_in_order(self):
        self.assertEqual(self.client.map(add, range(50), range(50)), [2 * i for i in range(50)])
        self.assertEqual(self.client.starmap(add, [(i, 1) for i in range(20)]), list(range(1, 21)))
        self.assertEqual(self.client.map(math.sqrt, [4.0, 9.0]), [2.0, 3.0])

    def test_as_completed_and_wait_work_on_these_futures(self):
        futures = [self.client.submit(add, i, i) for i in range(20)]
        done = {f.result() for f in concurrent.futures.as_completed(futures, timeout=30)}
        self.assertEqual(done, {2 * i for i in range(20)})
        finished, pending = concurrent.futures.wait(futures, timeout=30)
        self.assertEqual(len(finished), 20)
        self.assertFalse(pending)

    def test_an_exception_keeps_its_type_and_the_remote_traceback(self):
        future = self.client.submit(raise_reported, "disk full")
        with self.assertRaises(ReportedError) as caught:
            future.result(timeout=30)
        self.assertIn("disk full", str(caught.exception))
        notes = "".join(getattr(caught.exception, "__notes__", []))
        self.assertIn("raise_reported", notes)
        self.assertIsInstance(future.exception(), ReportedError)

    def test_done_callbacks_run(self):
        seen = []
        future = self.client.submit(add, 1, 1)
        future.add_done_callback(lambda f: seen.append(f.result()))
        future.result(timeout=30)
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(seen, [2])

    def test_cancel_stops_a_running_task(self):
        future = self.client.submit(slow_identity, 1, 60)
        time.sleep(0.5)
        self.assertTrue(future.cancel())
        self.assertTrue(future.cancelled())
        with self.assertRaises(concurrent.futures.CancelledError):
            future.result(timeout=5)
        finished = self.client.submit(add, 1, 2)
        finished.result(timeout=30)
        self.assertFalse(finished.cancel())

    def test_send_object_is_an_argument_and_a_graph_data_node(self):
        ref = self.client.send_object(list(range(1000)), name="numbers")
        self.assertIsInstance(ref, ObjectReference)
        self.assertEqual(ref.name, "numbers")
        self.assertEqual(self.client.submit(length, ref).result(timeout=30), 1000)
        graph = {"data": ref, "n": (length, "data")}
        self.assertEqual(self.client.get(graph, keys=["n"]), {"n": 1000})

    def test_a_hundred_megabyte_argument(self):
        blob = b"x" * (100 * 1024 * 1024)
        self.assertEqual(self.client.submit(length, blob).result(timeout=120), len(blob))

    def test_graphs_culled_to_the_keys_asked_for(self):
        graph = {"a": 1, "b": 2, "c": (add, "a", "b"), "d": (add, "c", "c"), "unused": (raise_reported, "a")}
        self.assertEqual(self.client.get(graph, keys=["d", "a"]), {"d": 6, "a": 1})
        futures = self.client.get(graph, keys=["c"], block=False)
        self.assertEqual(futures["c"].result(timeout=30), 3)

    def test_graph_errors_are_raised_before_sending(self):
        with self.assertRaises(graphlib.CycleError):
            self.client.get({"a": (inc, "b"), "b": (inc, "a")}, keys=["a"])
        with self.assertRaises(KeyError):
            self.client.get({"a": (inc, "nowhere")}, keys=["a"])
        with self.assertRaises(KeyError):
            self.client.get({"a": 1}, keys=["b"])

    def test_a_failed_graph_node_fails_its_dependents_with_its_error(self):
        graph = {"a": "boom", "b": (raise_reported, "a"), "c": (inc, "b")}
        with self.assertRaises(Exception) as caught:
            self.client.get(graph, keys=["c"])
        self.assertIn("boom", str(caught.exception))

    def test_profiling_info(self):
        with Client(address=self.cluster.get_address(), profiling=True) as client:
            future = client.submit(slow_identity, 1, 0.05)
            future.result(timeout=30)
            info = future.profiling_info()
            self.assertGreaterEqual(info.duration_s, 0.04)
            self.assertGreater(info.memory_peak, 0)

    def test_profiles_of_tasks_handed_over_behind_others_have_their_cpu_and_memory(self):
        # the processor measures CPU time and peak memory only for profiled tasks ('P' frames), and the tasks
        # after the first go to it ahead of their turn: each must still carry its own
        with Client(address=self.cluster.get_address(), profiling=True) as client:
            futures = [client.submit(burn, 0.03) for _ in range(6)]
            for future in futures:
                future.result(timeout=60)
                info = future.profiling_info()
                self.assertGreaterEqual(info.cpu_time_s, 0.02)
                self.assertGreaterEqual(info.duration_s, 0.025)
                self.assertGreater(info.memory_peak, 0)
        unprofiled = self.client.submit(burn, 0.01)
        unprofiled.result(timeout=60)
        self.assertEqual(unprofiled.profiling_info().cpu_time_s, 0.0)  # not asked for: not measured

    def test_nested_submit_and_nested_get_from_inside_tasks(self):
        self.assertEqual(self.client.submit(fibonacci, 8).result(timeout=120), 21)
        self.assertEqual(self.client.submit(nested_graph_sum, 5).result(timeout=60), 11)
        self.assertEqual(self.client.submit(passed_client_submit, self.client, 9).result(timeout=60), 10)


class LifecycleTest(unittest.TestCase):
    def test_clear_then_missing_objects(self):
        with SchedulerClusterCombo(n_workers=1) as cluster, Client(address=cluster.get_address()) as client:
            ref = client.send_object(b"table")
            self.assertEqual(client.submit(length, ref).result(timeout=30), 5)
            client.clear()
            with self.assertRaises(MissingObjects):
                client.submit(length, ref).result(timeout=30)
            self.assertEqual(client.submit(add, 1, 1).result(timeout=30), 2)  # still usable

    def test_disconnect_is_idempotent_and_then_refuses_work(self):
        with SchedulerClusterCombo(n_workers=1) as cluster:
            client = Client(address=cluster.get_address())
            client.disconnect()
            client.disconnect()
            with self.assertRaises(DisconnectedError):
                client.submit(add, 1, 2)

    def test_shutdown_of_a_protected_scheduler_is_refused(self):
        with SchedulerClusterCombo(n_workers=1, protected=True) as cluster:
            client = Client(address=cluster.get_address())
            with self.assertRaises(ValueError):
                client.shutdown()

    def test_no_address_outside_a_worker_is_an_error(self):
        previous = os.environ.pop("SCALER_CPP_SCHEDULER_ADDRESS", None)
        try:
            with self.assertRaises(ValueError):
                Client()
        finally:
            if previous is not None:
                os.environ["SCALER_CPP_SCHEDULER_ADDRESS"] = previous

    def test_a_task_that_ends_its_process_fails_and_the_workers_stay(self):
        with SchedulerClusterCombo(n_workers=2, heartbeat_interval_seconds=0.5) as cluster:
            with Client(address=cluster.get_address()) as client:
                with self.assertRaises(WorkerDiedError) as caught:
                    client.submit(os._exit, 3).result(timeout=120)
                self.assertIn("exit code 3", str(caught.exception))
                self.assertIn("retry limit", str(caught.exception))
                self.assertIs(ProcessorDiedError, WorkerDiedError)
                self.assertEqual(client.submit(add, 20, 22).result(timeout=60), 42)
                self.assertEqual(cluster.replaced_workers, 0)  # the task's processor died, not the worker


if __name__ == "__main__":
    unittest.main()


class NativeStubTest(unittest.TestCase):
    def test_the_native_modules_stub_names_every_method_of_the_native_client(self):
        import ast

        import scaler_cpp._native as native

        with open(os.path.join(os.path.dirname(native.__file__), "_native.pyi")) as stub:
            tree = ast.parse(stub.read())
        stubbed = {
            node.name
            for cls in tree.body
            if isinstance(cls, ast.ClassDef) and cls.name == "NativeClient"
            for node in cls.body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
        }
        actual = {name for name in dir(native.NativeClient) if not name.startswith("_")}
        self.assertEqual(stubbed, actual)
