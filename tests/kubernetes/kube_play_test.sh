#!/usr/bin/env bash
# The Pod the Kubernetes adapter generates (--print-pod-spec) runs under `podman kube play`, Podman's runner of
# Kubernetes Pod YAML, from the worker image the Podman fixture built: its worker connects to a scheduler and
# runs a task. hostNetwork is added for this test only: the scheduler runs on this host, outside any cluster.
#
#   kube_play_test.sh PODMAN_STATE_DIR BIN_DIR
set -euo pipefail
STATE="$1"
BIN="$2"
podman_cmd() { CONTAINERS_CONF="$STATE/containers.conf" podman --root "$STATE/root" --runroot "$STATE/runroot" "$@"; }
WORK="$(mktemp -d)"
PORT="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cleanup() {
    podman_cmd kube down "$WORK/pod.json" >/dev/null 2>&1 || true
    [ -n "${SCHEDULER:-}" ] && kill "$SCHEDULER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN/scaler_scheduler" "tcp://127.0.0.1:$PORT" > "$WORK/scheduler.log" 2>&1 &
SCHEDULER=$!
"$BIN/scaler_worker_adapter_kubernetes" "tcp://127.0.0.1:$PORT" --print-pod-spec --workers-per-group 2 \
    --image scaler-cpp-worker:latest --cpu-request 100m --memory-limit 256Mi > "$WORK/generated.json"
/usr/bin/python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
pod = json.load(open(f"{work}/generated.json"))
assert pod["spec"]["restartPolicy"] == "Never" and pod["kind"] == "Pod", pod
pod["spec"]["hostNetwork"] = True
json.dump(pod, open(f"{work}/pod.json", "w"))
PY
podman_cmd kube play "$WORK/pod.json" > "$WORK/play.log" 2>&1 || { cat "$WORK/play.log" >&2; exit 1; }
RESULT="$(timeout 60 "$BIN/scaler_submit" "tcp://127.0.0.1:$PORT" -f echo --payload "ran in a kube play Pod" --connect-timeout 30)"
if [ "$RESULT" != "ran in a kube play Pod" ]; then
    echo "FAIL: the task answered '$RESULT'" >&2
    cat "$WORK/scheduler.log" >&2
    exit 1
fi
grep -q "worker 'Worker|K8S|" "$WORK/scheduler.log" || { echo "FAIL: no worker of the Pod connected" >&2; exit 1; }
echo "PASS: the generated Pod ran under podman kube play and its worker ran a task"
