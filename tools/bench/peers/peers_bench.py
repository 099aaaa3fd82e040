#!/usr/bin/python3
"""Runs the same workloads on Dask distributed, Celery with Redis and scaler-cpp, interleaved, and prints each
system's figures and our ratio to each (docs/performance.md, "Peers beside us").

Workloads, each system with 2 workers of one process and one task at a time:
  noop      N no-op tasks submitted at once, tasks/s end to end
  sleep1ms  M tasks of 1 ms sleep: efficiency = ideal time (M * 1 ms / 2 workers) / measured
  latency   one task in flight at a time, submit-to-result p50 and p99

Uses Debian's packages: python3-distributed, python3-celery, python3-redis, redis-server. Not part of the
test command; the peers are optional.
"""
import argparse
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def noop(x):
    return x


def sleep_ms(ms):
    time.sleep(ms / 1000.0)
    return ms


# ---- Dask -------------------------------------------------------------------------------------------------

def run_dask(args):
    from distributed import Client, LocalCluster
    import logging
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        client.gather(client.map(noop, range(100), pure=False))  # warm up
        start = time.perf_counter()
        client.gather(client.map(noop, range(args.peer_tasks), pure=False))
        noop_rate = args.peer_tasks / (time.perf_counter() - start)

        start = time.perf_counter()
        client.gather(client.map(sleep_ms, [1] * args.sleep_tasks, pure=False))
        efficiency = (args.sleep_tasks * 0.001 / 2) / (time.perf_counter() - start)

        latencies = []
        for i in range(args.latency_tasks):
            t0 = time.perf_counter()
            client.submit(noop, i, pure=False).result()
            latencies.append((time.perf_counter() - t0) * 1e6)
    finally:
        client.close()
        cluster.close()
    return {"noop_tasks_per_second": noop_rate, "sleep1ms_efficiency": efficiency,
            "latency_p50_us": percentile(latencies, 0.5), "latency_p99_us": percentile(latencies, 0.99)}


# ---- Celery with Redis ------------------------------------------------------------------------------------

class CeleryHarness:
    """One Redis server and one Celery worker (prefork, 2 processes) for every round: Celery's app keeps its
    broker connections for the life of this process, so the server must outlive the rounds."""

    def __init__(self):
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="scaler-peers-")
        self.redis = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save",
                                       "", "--appendonly", "no", "--dir", self.workdir],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{self.port}/0"
        os.environ["PEERS_REDIS_URL"] = url
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
        env = dict(os.environ, PYTHONPATH=HERE)
        self.worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_tasks", "worker",
                                        "--concurrency", "2", "--pool", "prefork", "--loglevel", "WARNING",
                                        "--without-gossip", "--without-mingle", "--without-heartbeat"],
                                       cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sys.path.insert(0, HERE)
        import celery_tasks
        self.tasks = celery_tasks
        celery_tasks.noop.delay(0).get(timeout=60)  # the worker is up

    def close(self):
        gc.collect()  # Celery's result objects talk to Redis when finalised: before it stops
        self.worker.terminate()
        try:
            self.worker.wait(10)
        except subprocess.TimeoutExpired:
            self.worker.kill()
        self.redis.terminate()
        self.redis.wait(10)


celery_harness = None


def run_celery(args):
    global celery_harness
    if celery_harness is None:
        celery_harness = CeleryHarness()
    from celery import group
    tasks = celery_harness.tasks
    start = time.perf_counter()
    group(tasks.noop.s(i) for i in range(args.peer_tasks)).apply_async().get(timeout=3600)
    noop_rate = args.peer_tasks / (time.perf_counter() - start)

    start = time.perf_counter()
    group(tasks.sleep_ms.s(1) for _ in range(args.sleep_tasks)).apply_async().get(timeout=3600)
    efficiency = (args.sleep_tasks * 0.001 / 2) / (time.perf_counter() - start)

    latencies = []
    for i in range(args.latency_tasks):
        t0 = time.perf_counter()
        tasks.noop.delay(i).get(timeout=60)
        latencies.append((time.perf_counter() - t0) * 1e6)
    return {"noop_tasks_per_second": noop_rate, "sleep1ms_efficiency": efficiency,
            "latency_p50_us": percentile(latencies, 0.5), "latency_p99_us": percentile(latencies, 0.99)}


# ---- scaler-cpp -------------------------------------------------------------------------------------------

def run_ours(args):
    out = subprocess.run([args.scaler_bench, "--workers", "2", "--tasks", str(args.our_tasks), "--scenario", "noop"],
                         check=True, capture_output=True, text=True).stdout
    noop_rate = json.loads(out.strip().splitlines()[-1])["tasks_per_second"]
    out = subprocess.run([args.scaler_bench, "--workers", "2", "--tasks", str(args.sleep_tasks), "--scenario",
                          "sleep1ms"], check=True, capture_output=True, text=True).stdout
    efficiency = json.loads(out.strip().splitlines()[-1])["efficiency"]
    out = subprocess.run([args.scaler_bench, "--workers", "2", "--scenario", "latency"],
                         check=True, capture_output=True, text=True).stdout
    single = json.loads(out.strip().splitlines()[-1])["in_flight_1"]
    return {"noop_tasks_per_second": noop_rate, "sleep1ms_efficiency": efficiency,
            "latency_p50_us": single["p50_us"], "latency_p99_us": single["p99_us"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed")
    parser.add_argument("--peer-tasks", type=int, default=20000, help="no-op tasks for Dask and Celery")
    parser.add_argument("--our-tasks", type=int, default=200000, help="no-op tasks for scaler-cpp")
    parser.add_argument("--sleep-tasks", type=int, default=2000, help="1 ms tasks for every system")
    parser.add_argument("--latency-tasks", type=int, default=300, help="one-at-a-time tasks for the peers")
    parser.add_argument("--systems", default="dask,celery,scaler-cpp")
    parser.add_argument("--scaler-bench", default=os.path.join(HERE, "..", "..", "..", "build", "bin", "scaler_bench"))
    args = parser.parse_args()
    runners = {"dask": run_dask, "celery": run_celery, "scaler-cpp": run_ours}
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if s not in runners:
            parser.error(f"--systems: unknown system '{s}' (dask, celery, scaler-cpp)")
    results = {s: [] for s in systems}
    try:
        for round_number in range(1, args.rounds + 1):
            for system in systems:
                figures = runners[system](args)
                figures.update(system=system, round=round_number)
                print(json.dumps(figures), flush=True)
                results[system].append(figures)
    finally:
        if celery_harness is not None:
            celery_harness.close()

    keys = ["noop_tasks_per_second", "sleep1ms_efficiency", "latency_p50_us", "latency_p99_us"]
    print(f"\nmedians of {args.rounds} interleaved rounds (range in brackets), 2 workers each:")
    print(f"{'system':<12}" + "".join(f"{k:>34}" for k in keys))
    medians = {}
    for system in systems:
        row = f"{system:<12}"
        medians[system] = {}
        for k in keys:
            values = [r[k] for r in results[system]]
            medians[system][k] = statistics.median(values)
            cell = f"{medians[system][k]:.4g} [{min(values):.4g}-{max(values):.4g}]"
            row += f"{cell:>34}"
        print(row)
    if "scaler-cpp" in medians:
        ours = medians["scaler-cpp"]
        for system in systems:
            if system == "scaler-cpp":
                continue
            peer = medians[system]
            print(f"scaler-cpp vs {system}: no-op throughput x{ours[keys[0]] / peer[keys[0]]:.0f}, "
                  f"1 ms efficiency {ours[keys[1]]:.2f} vs {peer[keys[1]]:.2f}, "
                  f"latency p50 {peer[keys[2]] / ours[keys[2]]:.1f}x lower")


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    # Celery's AsyncResult objects reach their finalisers at interpreter exit, after Redis has stopped, and
    # print connection errors; nothing is left to clean up, so skip the teardown.
    os._exit(0)
