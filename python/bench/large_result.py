"""scaler_bench --scenario large_payload: a Python client gets a result of N bytes, then echoes N bytes; prints
the client's peak resident memory after each as one JSON line."""

import json
import resource
import sys
import time

from scaler_cpp import Client


def make(n):
    return b"r" * n


def echo(data):
    return data


def _peak_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    address, n = sys.argv[1], int(sys.argv[2])
    with Client(address=address) as client:
        client.submit(len, b"").result()  # connected, the worker warm
        start = time.perf_counter()
        result = client.submit(make, n).result()
        result_seconds = time.perf_counter() - start
        assert len(result) == n
        result_peak = _peak_bytes()
        del result
        payload = b"x" * n
        start = time.perf_counter()
        result = client.submit(echo, payload).result()
        echo_seconds = time.perf_counter() - start
        assert result == payload
        print(json.dumps({"python_result_seconds": round(result_seconds, 2),
                          "python_result_client_peak_bytes": result_peak,
                          "python_echo_seconds": round(echo_seconds, 2),
                          "python_echo_client_peak_bytes": _peak_bytes()}))


if __name__ == "__main__":
    main()
