#!/usr/bin/env bash
# README command 1: install what is missing, build, then on loopback (1) a scheduler whose scaling
# controller starts and stops worker groups through two native adapters for a mixed CPU/GPU workload, and
# (2) a throughput workload through two static workers; prints what happened.
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
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
status=0

# ---- 1. scaling: no static workers; native adapters start and stop worker groups ----------------------
PORT="$(free_port)"
ADDRESS="tcp://127.0.0.1:$PORT"
MONITOR="tcp://127.0.0.1:$((PORT + 2))"
echo "== scaling demo: scheduler on $ADDRESS (allocate=capability; scaling=capability), adapters 'cpu' (up to 3"
echo "   groups) and 'gpu' (1 group, capability gpu), no static workers; logs in $LOGS"
"$BIN/scaler_scheduler" "$ADDRESS" --policy-content "allocate=capability; scaling=capability; min_group_age_seconds=2" \
    >"$LOGS/scaling-scheduler.log" 2>&1 &
PIDS+=($!)
"$BIN/scaler_worker_adapter_native" "$ADDRESS" --adapter-id cpu --max-worker-groups 3 --heartbeat-interval-seconds 0.5 \
    --shutdown-grace-seconds 2 >"$LOGS/adapter-cpu.log" 2>&1 &
PIDS+=($!)
"$BIN/scaler_worker_adapter_native" "$ADDRESS" --adapter-id gpu --max-worker-groups 1 --per-worker-capabilities gpu \
    --heartbeat-interval-seconds 0.5 --shutdown-grace-seconds 2 >"$LOGS/adapter-gpu.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
    [ "$("$BIN/scaler_top" "$MONITOR" --once --json --timeout 1 2>/dev/null | grep -o '"kind":"native"' | wc -l)" -ge 2 ] && break
    sleep 0.2
done
echo "-- submitting 300 CPU tasks (sleep_ms 40) and 20 GPU tasks (sleep_ms 100) at once"
"$BIN/scaler_submit" "$ADDRESS" --function sleep_ms --payload 40 --count 300 --json >"$LOGS/cpu.json" &
cpu=$!
"$BIN/scaler_submit" "$ADDRESS" --function sleep_ms --payload 100 --count 20 --capabilities gpu --json >"$LOGS/gpu.json" &
gpu=$!
sleep 3
echo "-- while it runs:"
"$BIN/scaler_top" "$MONITOR" --once | sed 's/^/   /'
wait "$cpu" || status=1
wait "$gpu" || status=1
echo "-- CPU tasks: $(cat "$LOGS/cpu.json")"
echo "-- GPU tasks: $(cat "$LOGS/gpu.json")"
echo "-- waiting for idle groups to be drained and shut down"
for _ in $(seq 1 60); do
    "$BIN/scaler_top" "$MONITOR" --once --json --timeout 1 2>/dev/null | grep -q '"workers":\[\]' && break
    sleep 0.5
done
"$BIN/scaler_top" "$MONITOR" --once | sed 's/^/   /'

# ---- 2. throughput: a client workload through two static workers --------------------------------------
PORT="$(free_port)"
ADDRESS="tcp://127.0.0.1:$PORT"
MONITOR="tcp://127.0.0.1:$((PORT + 2))"
echo
echo "== throughput demo: scheduler on $ADDRESS, 2 workers (allowed to run exec command tasks)"
"$BIN/scaler_scheduler" "$ADDRESS" --policy-content "allocate=capability; scaling=no" >"$LOGS/scheduler.log" 2>&1 &
PIDS+=($!)
for i in 1 2; do
    "$BIN/scaler_worker" "$ADDRESS" --worker-name "demo$i" --heartbeat-interval-seconds 0.5 --allow-exec \
        >"$LOGS/worker$i.log" 2>&1 &
    PIDS+=($!)
done
for _ in $(seq 1 50); do
    [ "$("$BIN/scaler_top" "$MONITOR" --once --json --timeout 1 2>/dev/null | grep -o '"hostname"' | wc -l)" -ge 2 ] && break
    sleep 0.2
done

echo "-- client workload"
"$BIN/scaler_demo_client" "$ADDRESS" || status=1

echo "-- scaler_submit: 1000 echo tasks, JSON summary"
"$BIN/scaler_submit" "$ADDRESS" --function echo --payload hello --count 1000 --json || status=1

echo "-- scheduler state (scaler_top --once)"
"$BIN/scaler_top" "$MONITOR" --once
exit $status
