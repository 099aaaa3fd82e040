#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds a separate project against it with
# find_package(ScalerCpp), and runs it against the installed scheduler and worker.
set -euo pipefail
BUILD_DIR="$1"
CONSUMER_SRC="$2"
PREFIX="$(mktemp -d /tmp/scaler-install.XXXXXX)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; rm -rf "$PREFIX"; }
trap cleanup EXIT

cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
for bin in scaler_scheduler scaler_worker scaler_submit scaler_top; do
    test -x "$PREFIX/bin/$bin" || { echo "missing installed binary $bin"; exit 1; }
done
cmake -S "$CONSUMER_SRC" -B "$PREFIX/consumer-build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$PREFIX/consumer-build" >/dev/null

# Port 0: the scheduler binds a free port itself and logs it (a port checked free and bound later can be taken by
# another test in between, and the worker then talks to that test's scheduler).
"$PREFIX/bin/scaler_scheduler" "tcp://127.0.0.1:0" --logging-level INFO 2>"$PREFIX/scheduler.log" &
PIDS+=($!)
PORT=""
for _ in $(seq 1 100); do
    PORT="$(sed -n 's|.*scheduler listening on tcp://127.0.0.1:\([0-9]*\),.*|\1|p' "$PREFIX/scheduler.log" | head -1)"
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "the scheduler did not say which port it bound:"; cat "$PREFIX/scheduler.log"; exit 1; }
# the Python package as installed (the worker's Python processors inherit PYTHONPATH and find it the same way)
PYTHON_SITE=""
for d in "$PREFIX"/lib*/python3*/dist-packages "$PREFIX"/lib/*/python3*/dist-packages; do
    if [ -d "$d" ]; then PYTHON_SITE="$d"; break; fi
done
test -f "$PYTHON_SITE/scaler_cpp/__init__.py" || { echo "scaler_cpp not installed under $PREFIX"; exit 1; }
export PYTHONPATH="$PYTHON_SITE"
"$PREFIX/bin/scaler_worker" "tcp://127.0.0.1:$PORT" --logging-level WARNING &
PIDS+=($!)
"$PREFIX/consumer-build/consumer" "tcp://127.0.0.1:$PORT"
/usr/bin/python3 - "tcp://127.0.0.1:$PORT" <<'PY'
import sys
import scaler_cpp
with scaler_cpp.Client(address=sys.argv[1]) as client:
    assert client.submit(pow, 2, 10).result(timeout=60) == 1024
print("installed scaler_cpp ran a Python task")
PY
