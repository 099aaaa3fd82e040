"""A suite written the way the reference's own tests are (unittest classes, task functions in the test module, a
SchedulerClusterCombo per class), for pytest to load as it loads test files: the module's folder is on no
worker's path (with --import-mode=importlib not even on the client's), so its functions must travel by value."""

import dataclasses
import math
import random
import time
import unittest

from scaler_cpp import Client, SchedulerClusterCombo

OFFSET = 1000  # a module global the tasks read


def noop(x):
    return x


def add_offset(x):
    return x + OFFSET


def raise_value_error(message):
    raise ValueError(message)


def sleep_and_return(seconds, value):
    time.sleep(seconds)
    return value


@dataclasses.dataclass
class Circle:
    radius: float

    def area(self):
        return math.pi * self.radius**2


def area(circle):
    return circle.area()


def fibonacci(n):
    if n < 2:
        return n
    with Client() as client:
        a = client.submit(fibonacci, n - 1)
        b = client.submit(fibonacci, n - 2)
        return a.result() + b.result()


class ComboPerTest(unittest.TestCase):
    """As the reference's tests: a cluster and a client for every test."""

    def setUp(self):
        random.seed(0)
        self.combo = SchedulerClusterCombo(n_workers=2)
        self.client = Client(address=self.combo.get_address())

    def tearDown(self):
        self.client.disconnect()
        self.combo.shutdown()


class TestClient(ComboPerTest):

    def test_one_submit(self):
        self.assertEqual(self.client.submit(noop, 7).result(), 7)

    def test_a_module_global_arrives(self):
        self.assertEqual(self.client.submit(add_offset, 1).result(), 1001)

    def test_map(self):
        values = [random.randint(0, 100) for _ in range(50)]
        self.assertEqual(self.client.map(add_offset, values), [v + OFFSET for v in values])

    def test_exception_keeps_its_type(self):
        with self.assertRaises(ValueError) as raised:
            self.client.submit(raise_value_error, "bad").result()
        self.assertIn("bad", str(raised.exception))

    def test_a_class_from_the_test_module_travels_both_ways(self):
        self.assertAlmostEqual(self.client.submit(area, Circle(2)).result(), 4 * math.pi)
        self.assertEqual(self.client.submit(noop, Circle(3)).result(), Circle(3))

    def test_cancel(self):
        future = self.client.submit(sleep_and_return, 30, "late")
        self.assertTrue(future.cancel())
        self.assertTrue(future.cancelled())


class TestNesting(ComboPerTest):

    def test_recursive_fibonacci(self):
        self.assertEqual(self.client.submit(fibonacci, 6).result(), 8)

    def test_graph(self):
        graph = {"r": 1.0, "c": (Circle, "r"), "a": (area, "c")}
        self.assertAlmostEqual(self.client.get(graph, keys=["a"])["a"], math.pi)
