"""A map and a submit loop of no-op Python tasks against a running scheduler, with the machine's CPU time and
context switches per task over each (/proc/stat, so every process on the machine counts: run it on an
otherwise idle machine), and the client's own CPU per task. Arguments: scheduler address, task count (default 200,000). Prints one line.

    python3 python/bench/python_map_cpu.py tcp://127.0.0.1:PORT 200000
"""

import os
import resource
import sys
import time

from scaler_cpp import Client


def noop(*_):
    return None


def machine():
    """(busy CPU seconds, context switches) of the whole machine so far."""
    with open("/proc/stat") as stat:
        cpu = stat.readline().split()
        rest = stat.read()
    ticks = [int(v) for v in cpu[1:]]
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]  # user, nice, system, irq, softirq
    switches = int(next(line for line in rest.splitlines() if line.startswith("ctxt")).split()[1])
    return busy / os.sysconf("SC_CLK_TCK"), switches


def client_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(n, run):
    busy, switches = machine()
    own = client_cpu()
    began = time.perf_counter()
    run()
    seconds = time.perf_counter() - began
    busy_after, switches_after = machine()
    return (f"{n / seconds:.0f}/s cpu {(busy_after - busy) * 1e6 / n:.1f}us (client {(client_cpu() - own) * 1e6 / n:.1f}us)"
            f" cs {(switches_after - switches) / n:.2f}")


def main():
    address = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    with Client(address=address) as client:
        client.map(noop, range(2000))  # the function reaches every worker
        mapped = measured(n, lambda: client.map(noop, range(n)))

        def submit_then_wait():
            for future in [client.submit(noop) for _ in range(n)]:
                future.result()

        submitted = measured(n, submit_then_wait)
    print(f"map {mapped} | submit {submitted}")


if __name__ == "__main__":
    main()
