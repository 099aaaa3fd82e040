"""scaler_bench --scenario python_noop: a Python client submits no-op Python tasks; prints one JSON line."""

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
    print(json.dumps({"tasks": tasks, "seconds": seconds, "submit_seconds": submitted,
                      "tasks_per_second": tasks / seconds, "map_seconds": map_seconds,
                      "map_tasks_per_second": tasks / map_seconds,
                      "map_client_peak_bytes_per_task": map_peak / tasks,
                      "one_in_flight_p50_ms": 1000 * latencies[len(latencies) // 2],
                      "one_in_flight_p99_ms": 1000 * latencies[len(latencies) * 99 // 100]}))


if __name__ == "__main__":
    main()
