"""The reference's capability example from Python: CPU and GPU tasks on a cluster that scales itself with two
native adapters (plain and gpu), no static workers."""

import os
import subprocess
import unittest

from scaler_cpp import Client, SchedulerClusterCombo
from scaler_cpp.cluster import _binary


def cpu_task(i):
    return i * i


def gpu_task(i):
    # a worker started by the gpu adapter carries its capability on its command line; the task runs in the
    # worker's Python processor, a child of the worker
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    capabilities = argv[argv.index(b"--per-worker-capabilities") + 1] if b"--per-worker-capabilities" in argv else b""
    return i, capabilities.decode(), os.getppid()


class SeedExampleTest(unittest.TestCase):
    def test_cpu_and_gpu_tasks_complete_and_gpu_tasks_run_on_a_started_gpu_group(self):
        with SchedulerClusterCombo(
            n_workers=0, policy_content="allocate=capability; scaling=capability", protected=False
        ) as cluster:
            common = ["--heartbeat-interval-seconds", "0.5", "--shutdown-grace-seconds", "1",
                      "--logging-level", "WARNING"]
            adapters = [
                subprocess.Popen([_binary("scaler_worker_adapter_native"), cluster.get_address(), "--adapter-id",
                                  "cpu", "--max-worker-groups", "2", *common]),
                subprocess.Popen([_binary("scaler_worker_adapter_native"), cluster.get_address(), "--adapter-id",
                                  "gpu", "--max-worker-groups", "1", "--per-worker-capabilities", "gpu", *common]),
            ]
            try:
                with Client(address=cluster.get_address()) as client:
                    cpu = [client.submit_verbose(cpu_task, args=(i,), kwargs={}, capabilities={}) for i in range(100)]
                    gpu = [client.submit_verbose(gpu_task, args=(i,), kwargs={}, capabilities={"gpu": 1})
                           for i in range(50)]
                    self.assertEqual([f.result(timeout=120) for f in cpu], [i * i for i in range(100)])
                    results = [f.result(timeout=120) for f in gpu]
                    self.assertEqual([r[0] for r in results], list(range(50)))
                    self.assertTrue(all(r[1] == "gpu" for r in results), results[:3])
                    print(f"GPU tasks ran on {len({r[2] for r in results})} gpu worker process(es)")
            finally:
                for adapter in adapters:
                    adapter.terminate()
                for adapter in adapters:
                    adapter.wait(30)


if __name__ == "__main__":
    unittest.main()
