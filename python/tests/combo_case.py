"""Shared by the Python test modules: a SchedulerClusterCombo (two workers unless a class says otherwise) and a
client per test class."""

import unittest

from scaler_cpp import Client, SchedulerClusterCombo


class ComboTestCase(unittest.TestCase):
    """A SchedulerClusterCombo and a client per class; `combo_options` are the combo's arguments."""

    combo_options = {"n_workers": 2}

    @classmethod
    def setUpClass(cls):
        cls.cluster = SchedulerClusterCombo(**cls.combo_options)
        cls.client = Client(address=cls.cluster.get_address())

    @classmethod
    def tearDownClass(cls):
        cls.client.disconnect()
        cls.cluster.shutdown()
