"""Shared by the Python test modules: a SchedulerClusterCombo of two workers and a client per test class."""

import unittest

from scaler_cpp import Client, SchedulerClusterCombo


class ComboTestCase(unittest.TestCase):
    """A SchedulerClusterCombo of two workers and a client per class."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = SchedulerClusterCombo(n_workers=2)
        cls.client = Client(address=cls.cluster.get_address())

    @classmethod
    def tearDownClass(cls):
        cls.client.disconnect()
        cls.cluster.shutdown()
