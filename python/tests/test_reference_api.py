"""Issue 30 item 3: the reference's client API where it differed, each checked against its documented behaviour.
Real scheduler and worker processes."""

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from scaler_cpp import Client, DefaultSerializer, SchedulerClusterCombo, Serializer
from scaler_cpp.cluster import _binary, _free_port_pair

from combo_case import ComboTestCase


def add(a, b):
    return a + b


def with_default(a, b=10, *, scale=1):
    return (a + b) * scale


def sleep_then(x, seconds):
    time.sleep(seconds)
    return x


def identity(x):
    return x


def talk(x):
    print(f"out {x}")
    print(f"err {x}", file=sys.stderr)
    return x * 2


def talk_then_fail(x):
    print(f"before failing {x}")
    raise ValueError(f"failed {x}")


SETTING = 1


def read_setting():
    return SETTING


class JsonSerializer(Serializer):
    """JSON with a tag, so a test sees it was used (a tuple comes back a list)."""

    @staticmethod
    def serialize(obj):
        return b"J" + json.dumps(obj).encode()

    @staticmethod
    def deserialize(payload):
        payload = bytes(payload)
        assert payload[:1] == b"J", payload[:10]
        return json.loads(payload[1:])


class CallsAreCheckedAtSubmitTest(ComboTestCase):
    def test_a_call_that_does_not_fit_the_signature_raises_type_error_at_submit(self):
        with self.assertRaisesRegex(TypeError, "add.*missing a required argument: 'b'"):
            self.client.submit(add, 1)
        with self.assertRaisesRegex(TypeError, "too many positional arguments"):
            self.client.submit(add, 1, 2, 3)
        with self.assertRaisesRegex(TypeError, "unexpected keyword argument 'c'"):
            self.client.submit(add, 1, 2, c=3)
        with self.assertRaisesRegex(TypeError, "missing a required argument"):
            self.client.map(add, [1, 2])
        with self.assertRaisesRegex(TypeError, "too many positional arguments"):
            self.client.starmap(identity, [(1,), (1, 2)])
        with self.assertRaisesRegex(TypeError, "missing a required argument"):
            self.client.get({"a": 1, "b": (add, "a")}, keys=["b"])

    def test_calls_that_fit_run_including_defaults_keywords_and_built_ins(self):
        self.assertEqual(self.client.submit(with_default, 1).result(timeout=60), 11)
        self.assertEqual(self.client.submit(with_default, 1, scale=2).result(timeout=60), 22)
        self.assertEqual(self.client.submit(add, 1, b=2).result(timeout=60), 3)
        self.assertEqual(self.client.submit(max, 3, 9).result(timeout=60), 9)  # no signature: the worker checks
        self.assertEqual(self.client.map(add, [1, 2], [3, 4]), [4, 6])


class FuturesTest(ComboTestCase):
    def test_running_is_false_until_done_as_in_the_reference(self):
        future = self.client.submit(sleep_then, "x", 0.5)
        self.assertFalse(future.running())
        self.assertFalse(future.done())
        self.assertEqual(future.result(timeout=60), "x")
        self.assertFalse(future.running())
        self.assertTrue(future.done())

    def test_await_a_future_in_asyncio_code(self):
        async def main():
            first = self.client.submit(add, 1, 2)
            second = self.client.submit(sleep_then, 5, 0.2)
            ticks = 0

            async def tick():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.ensure_future(tick())
            results = await asyncio.gather(first, second)
            ticker.cancel()
            return results, ticks

        results, ticks = asyncio.run(asyncio.wait_for(main(), 60))
        self.assertEqual(results, [3, 5])
        self.assertGreater(ticks, 0, "the event loop was blocked while awaiting")

    def test_awaiting_a_failed_task_raises_its_exception(self):
        async def main():
            return await self.client.submit(add, 1, "x")

        with self.assertRaises(TypeError):
            asyncio.run(asyncio.wait_for(main(), 60))

    def test_identity_is_the_clients_name_at_the_scheduler(self):
        self.assertTrue(self.client.identity.startswith("Client|"), self.client.identity)
        with Client(address=self.cluster.get_address()) as other:
            self.assertNotEqual(other.identity, self.client.identity)


class ReserializeTest(ComboTestCase):
    def test_reserialize_sends_a_plain_function_again_with_its_globals_as_they_are_now(self):
        global SETTING
        SETTING = 1
        try:
            self.assertEqual(self.client.submit(read_setting).result(timeout=60), 1)
            SETTING = 2
            # sent once per client: the global as it was
            self.assertEqual(self.client.submit(read_setting).result(timeout=60), 1)
            self.assertEqual(self.client.submit_verbose(read_setting, (), {}, reserialize=True).result(timeout=60), 2)
            SETTING = 3
            self.assertEqual(self.client.map(lambda _: read_setting(), [0], reserialize=True), [3])
            SETTING = 4
            self.assertEqual(self.client.starmap(read_setting, [()], reserialize=True), [4])
            SETTING = 5
            self.assertEqual(self.client.get({"s": (read_setting,)}, keys=["s"], reserialize=True), {"s": 5})
        finally:
            SETTING = 1


class SerializerTest(unittest.TestCase):
    def test_a_custom_serializer_carries_arguments_objects_results_and_graphs(self):
        with SchedulerClusterCombo(n_workers=1) as cluster:
            with Client(address=cluster.get_address(), serializer=JsonSerializer()) as client:
                self.assertEqual(client.submit(identity, (1, 2)).result(timeout=60), [1, 2])  # JSON made it a list
                self.assertEqual(client.submit(add, b=2, a=1).result(timeout=60), 3)
                ref = client.send_object({"k": (3, 4)})
                self.assertEqual(client.submit(identity, ref).result(timeout=60), {"k": [3, 4]})
                self.assertEqual(client.map(add, [1, 2], [10, 20]), [11, 22])
                graph = {"a": (1, 2), "b": (identity, "a"), "c": (add, "b", "b")}
                self.assertEqual(client.get(graph, keys=["c"]), {"c": [1, 2, 1, 2]})
                with self.assertRaises(TypeError):  # an exception still travels with its type
                    client.submit(add, 1, "x").result(timeout=60)
            with Client(address=cluster.get_address(), serializer=DefaultSerializer()) as client:
                self.assertEqual(client.submit(identity, (1, 2)).result(timeout=60), (1, 2))

    def test_a_serializer_must_be_a_serializer(self):
        with self.assertRaisesRegex(TypeError, "scaler_cpp.Serializer"):
            Client(address="tcp://127.0.0.1:1", serializer=json)


class StreamOutputTest(unittest.TestCase):
    def test_a_tasks_prints_appear_in_the_clients_output(self):
        with SchedulerClusterCombo(n_workers=1) as cluster:
            out, err = io.StringIO(), io.StringIO()
            with Client(address=cluster.get_address(), stream_output=True) as client:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    self.assertEqual(client.submit(talk, 21).result(timeout=60), 42)
                    self.assertEqual(client.map(talk, [1, 2]), [2, 4])
                    self.assertEqual(client.get({"a": 5, "b": (talk, "a"), "c": (talk, "b")}, keys=["c"]),
                                     {"c": 20})
                    with self.assertRaisesRegex(ValueError, "failed 7"):
                        client.submit(talk_then_fail, 7).result(timeout=60)
            printed = out.getvalue()
            for line in ("out 21", "out 1", "out 2", "out 10", "before failing 7"):
                self.assertIn(line, printed)
            self.assertIn("err 21", err.getvalue())
            with Client(address=cluster.get_address()) as quiet:  # without it, prints stay on the worker
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    self.assertEqual(quiet.submit(talk, 3).result(timeout=60), 6)
                self.assertNotIn("out 3", out.getvalue())


class ComboOptionsTest(unittest.TestCase):
    def test_the_references_options_work_or_raise_naming_them(self):
        with self.assertRaisesRegex(TypeError, "task_timeout_seconds=5"):
            SchedulerClusterCombo(n_workers=1, task_timeout_seconds=5)
        with self.assertRaisesRegex(TypeError, "object_storage_address"):
            SchedulerClusterCombo(n_workers=1, object_storage_address="tcp://127.0.0.1:1")
        with self.assertRaisesRegex(TypeError, "no_such_option"):
            SchedulerClusterCombo(n_workers=1, no_such_option=1)
        with self.assertRaisesRegex(TypeError, "scaler_policy"):
            SchedulerClusterCombo(n_workers=1, scaler_policy=42)

        class PolicyConfig:  # the reference's shape: policy_content inside
            policy_content = "allocate=capability; scaling=no"

        # defaults are accepted, scaler_policy and load_balance_trigger_times reach the scheduler
        with SchedulerClusterCombo(n_workers=1, scaler_policy=PolicyConfig(), worker_io_threads=1,
                                   event_loop="builtin", load_balance_trigger_times=3,
                                   logging_paths=(os.devnull,)) as cluster:
            with Client(address=cluster.get_address()) as client:
                self.assertEqual(client.submit(add, 1, 2).result(timeout=60), 3)
            args = " ".join(cluster._processes.scheduler.args)
            self.assertIn("allocate=capability; scaling=no", args)
            self.assertIn("--load-balance-trigger-times 3", args)

    def test_client_options_it_cannot_honour_raise(self):
        with self.assertRaisesRegex(TypeError, "object_storage_address"):
            Client(address="tcp://127.0.0.1:1", object_storage_address="tcp://127.0.0.1:2")
        with self.assertRaisesRegex(TypeError, "curve_server_key_file"):
            Client(address="tcp://127.0.0.1:1", security_config=object())


class CurveTest(unittest.TestCase):
    """CURVE keys from Python: a client with a client key reaches an encrypted scheduler; without keys it
    cannot."""

    def test_a_client_with_keys_reaches_an_encrypted_scheduler(self):
        with tempfile.TemporaryDirectory() as keys:
            for name, folder in (("scheduler", keys), ("alice", os.path.join(keys, "clients")),
                                 ("workers", keys)):
                subprocess.run([_binary("scaler_keygen"), name, "-o", folder], check=True, capture_output=True)
            address = f"tcp://127.0.0.1:{_free_port_pair()}"
            scheduler = subprocess.Popen([
                _binary("scaler_scheduler"), address, "--logging-level", "WARNING",
                "--curve-secret-key-file", os.path.join(keys, "scheduler.key"),
                "--curve-client-keys", os.path.join(keys, "clients"),
                "--curve-worker-keys", os.path.join(keys, "workers.pub")])
            worker = subprocess.Popen([
                _binary("scaler_worker"), address, "--logging-level", "WARNING",
                "--curve-server-key-file", os.path.join(keys, "scheduler.pub"),
                "--curve-secret-key-file", os.path.join(keys, "workers.key")])
            try:
                with Client(address=address, timeout_seconds=30,
                            curve_server_key_file=os.path.join(keys, "scheduler.pub"),
                            curve_secret_key_file=os.path.join(keys, "clients", "alice.key")) as client:
                    self.assertEqual(client.submit(add, 2, 3).result(timeout=60), 5)
                with self.assertRaisesRegex(ValueError, "curve"):  # one file without the other
                    Client(address=address, curve_server_key_file=os.path.join(keys, "scheduler.pub"))
            finally:
                for process in (worker, scheduler):
                    process.terminate()
                for process in (worker, scheduler):
                    try:
                        process.wait(15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()


if __name__ == "__main__":
    unittest.main()
