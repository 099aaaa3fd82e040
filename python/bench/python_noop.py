"""scaler_bench --scenario python_noop: a Python client submits no-op Python tasks, then 1 ms tasks; prints one
JSON line. Arguments: scheduler address, task count, worker count (for the 1 ms tasks' efficiency)."""

import json
import resource
import sys
import time

from scaler_cpp import Client


def noop(*_):
    return None


def _rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    address, tasks = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    with Client(address=address) as client:
        client.map(noop, [()] * 0)  # connects and uploads nothing
        for f in [client.submit(noop) for _ in range(1000)]:  # warm up: the function reaches every worker
            f.result()
        before_map = _rss()
        start = time.perf_counter()
        client.map(noop, range(tasks))
        map_seconds = time.perf_counter() - start
        map_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before_map  # map first: its peak
        start = time.perf_counter()
        futures = [client.submit(noop) for _ in range(tasks)]
        submitted = time.perf_counter() - start
        for f in futures:
            f.result()
        seconds = time.perf_counter() - start
        latencies = []
        for _ in range(2000):  # one task in flight: submit to result
            one = time.perf_counter()
            client.submit(noop).result()
            latencies.append(time.perf_counter() - one)
        latencies.sort()
        sleeps = 2000  # 1 ms tasks through map: the share of the workers' time spent in tasks
        start = time.perf_counter()
        client.map(time.sleep, [0.001] * sleeps)
        sleep_seconds = time.perf_counter() - start
    print(json.dumps({"tasks": tasks, "seconds": seconds, "submit_seconds": submitted,
                      "tasks_per_second": tasks / seconds, "map_seconds": map_seconds,
                      "map_tasks_per_second": tasks / map_seconds,
                      "map_client_peak_bytes_per_task": map_peak / tasks,
                      "one_in_flight_p50_ms": 1000 * latencies[len(latencies) // 2],
                      "one_in_flight_p99_ms": 1000 * latencies[len(latencies) * 99 // 100],
                      "sleep_1ms_efficiency": sleeps * 0.001 / workers / sleep_seconds if workers else None}))


if __name__ == "__main__":
    main()
