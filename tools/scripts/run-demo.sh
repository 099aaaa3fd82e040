#!/usr/bin/env bash
# README command 1: install what is missing, build, then run a scheduler, two workers and a client
# workload on loopback and print what happened.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
install_packages
build >/dev/null
BIN="$BUILD_DIR/bin"
LOGS="$(mktemp -d /tmp/scaler-demo.XXXXXX)"

free_port() {
    # a port P with nothing listening on P, P+1 or P+2 (the monitor); bash's /dev/tcp needs no extra package
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 2))") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo 28516
}
PORT="$(free_port)"
ADDRESS="tcp://127.0.0.1:$PORT"
MONITOR="tcp://127.0.0.1:$((PORT + 2))"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

echo "== scheduler on $ADDRESS, 2 workers; logs in $LOGS"
"$BIN/scaler_scheduler" "$ADDRESS" --policy-content "allocate=capability; scaling=no" >"$LOGS/scheduler.log" 2>&1 &
PIDS+=($!)
for i in 1 2; do
    "$BIN/scaler_worker" "$ADDRESS" --worker-name "demo$i" --heartbeat-interval-seconds 0.5 >"$LOGS/worker$i.log" 2>&1 &
    PIDS+=($!)
done
for _ in $(seq 1 50); do
    "$BIN/scaler_top" "$MONITOR" --once --json --timeout 1 2>/dev/null | grep -q '"hostname"' && break
    sleep 0.2
done

echo "== client workload"
"$BIN/scaler_demo_client" "$ADDRESS"
status=$?

echo "== scaler_submit: 1000 echo tasks, JSON summary"
"$BIN/scaler_submit" "$ADDRESS" --function echo --payload hello --count 1000 --json

echo "== scheduler state (scaler_top --once)"
"$BIN/scaler_top" "$MONITOR" --once
exit $status
