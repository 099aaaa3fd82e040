"""Issue 30 item 2: functions, classes and lambdas from the user's own modules run on workers that cannot import
those modules. The module is written to a folder on nobody's path and loaded by file, as pytest's importlib mode
and notebooks' helpers are; the workers start elsewhere."""

import importlib.util
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import uuid

from scaler_cpp import Client, SchedulerClusterCombo
from scaler_cpp._user_modules import is_user_module
from scaler_cpp.cluster import _binary

from combo_case import ComboTestCase

MODULE_SOURCE = textwrap.dedent(
    """
    import dataclasses
    import math

    FACTOR = 7                      # a module-level global the functions read
    TABLE = {"a": 1, "b": 2}

    @dataclasses.dataclass
    class Point:
        x: float
        y: float

    def scale(x):
        return x * FACTOR

    def norm(p):
        return math.hypot(p.x, p.y)

    def make_point(x, y):
        return Point(x, y)

    def lookup(key):
        return TABLE[key]

    triple = lambda x: 3 * x      # noqa: E731

    def nested_scale(x):
        from scaler_cpp import Client
        with Client() as inner:       # a task's own client sends the same module's function on
            return inner.submit(scale, x).result()
    """
)


def load_module_from_a_folder_nobody_has():
    folder = tempfile.mkdtemp(prefix="scaler-user-module-")
    name = f"mytasks_{uuid.uuid4().hex[:8]}"
    path = os.path.join(folder, f"{name}.py")
    with open(path, "w") as f:
        f.write(MODULE_SOURCE)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as pytest does, so pickling by reference would name it
    spec.loader.exec_module(module)
    return module


class UserModuleChecks(unittest.TestCase):
    def test_installed_and_standard_modules_are_not_the_users(self):
        import cloudpickle
        import json
        import unittest as ut

        import scaler_cpp

        for name, module in (("json", json), ("unittest", ut), ("cloudpickle", cloudpickle),
                             ("scaler_cpp", scaler_cpp), ("__main__", sys.modules["__main__"]), ("sys", sys)):
            self.assertFalse(is_user_module(name, module), name)
        module = load_module_from_a_folder_nobody_has()
        self.assertTrue(is_user_module(module.__name__, module))


class UserModulesOnComboWorkersTest(ComboTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tasks = load_module_from_a_folder_nobody_has()
        super().setUpClass()  # its workers' sys.path lacks the module's folder

    def test_functions_and_their_globals_arrive_by_value(self):
        self.assertEqual(self.client.submit(self.tasks.scale, 3).result(timeout=60), 21)
        self.assertEqual(self.client.submit(self.tasks.lookup, "b").result(timeout=60), 2)
        self.assertEqual(self.client.map(self.tasks.scale, range(4)), [0, 7, 14, 21])
        self.assertEqual(self.client.submit(self.tasks.triple, 5).result(timeout=60), 15)

    def test_instances_of_its_classes_travel_both_ways_as_the_same_class(self):
        self.assertEqual(self.client.submit(self.tasks.norm, self.tasks.Point(3, 4)).result(timeout=60), 5.0)
        point = self.client.submit(self.tasks.make_point, 1, 2).result(timeout=60)
        self.assertIs(type(point), self.tasks.Point)
        self.assertEqual(point, self.tasks.Point(1, 2))
        ref = self.client.send_object([self.tasks.Point(6, 8)])
        norm = self.tasks.norm
        self.assertEqual(self.client.submit(lambda ps: norm(ps[0]), ref).result(timeout=60), 10.0)

    def test_a_graph_of_its_functions_runs(self):
        graph = {"a": 2, "b": (self.tasks.scale, "a"), "c": (self.tasks.triple, "b")}
        self.assertEqual(self.client.get(graph, keys=["c"]), {"c": 42})

    def test_a_nested_task_submits_its_modules_function_on(self):
        self.assertEqual(self.client.submit(self.tasks.nested_scale, 2).result(timeout=60), 14)


class UserModulesOnASeparateWorkerTest(unittest.TestCase):
    """A scaler_worker started by hand in another directory, with no PYTHONPATH: only by value can it run them."""

    def test_a_separately_started_worker_runs_the_modules_functions(self):
        tasks = load_module_from_a_folder_nobody_has()
        with SchedulerClusterCombo(n_workers=0) as cluster:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__import__("scaler_cpp").__file__)))
            worker = subprocess.Popen([_binary("scaler_worker"), cluster.get_address(), "--logging-level", "WARNING"],
                                      cwd="/", env=env)
            try:
                with Client(address=cluster.get_address()) as client:
                    self.assertEqual(client.submit(tasks.scale, 6).result(timeout=60), 42)
                    self.assertEqual(client.submit(tasks.norm, tasks.Point(5, 12)).result(timeout=60), 13.0)
            finally:
                worker.terminate()
                deadline = time.monotonic() + 15
                while worker.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if worker.poll() is None:
                    worker.kill()
                worker.wait()


if __name__ == "__main__":
    unittest.main()
