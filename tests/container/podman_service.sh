#!/usr/bin/env bash
# ctest fixture for the container adapter tests: a real Podman API service on a unix socket, with its own
# storage under STATE_DIR, and the worker image built from this build's binaries.
#
#   podman_service.sh start STATE_DIR BIN_DIR PLUGIN    podman_service.sh stop STATE_DIR
#
# containers.conf: runtime runc, cgroupfs and no default ulimits: on these machines crun and systemd
# cgroups fail.
set -euo pipefail
ACTION="$1"
STATE="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
podman_cmd() { CONTAINERS_CONF="$STATE/containers.conf" podman --root "$STATE/root" --runroot "$STATE/runroot" "$@"; }

stop() {
    if [ -f "$STATE/service.pid" ]; then
        podman_cmd rm --all --force --time 0 >/dev/null 2>&1 || true
        kill "$(cat "$STATE/service.pid")" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$(cat "$STATE/service.pid")" 2>/dev/null || break; sleep 0.1; done
    fi
    podman_cmd system reset --force >/dev/null 2>&1 || true
    rm -rf "$STATE"
}

case "$ACTION" in
start)
    BIN_DIR="$3"
    PLUGIN="$4"
    command -v podman >/dev/null || { echo "podman is not installed (the README test command installs it)" >&2; exit 1; }
    stop
    mkdir -p "$STATE"
    cat > "$STATE/containers.conf" <<CONF
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    setsid env CONTAINERS_CONF="$STATE/containers.conf" podman --root "$STATE/root" --runroot "$STATE/runroot" \
        system service --time=0 "unix://$STATE/podman.sock" > "$STATE/service.log" 2>&1 < /dev/null &
    echo $! > "$STATE/service.pid"
    for _ in $(seq 300); do
        curl -sf --unix-socket "$STATE/podman.sock" http://docker/v1.41/version >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf --unix-socket "$STATE/podman.sock" http://docker/v1.41/version >/dev/null || {
        echo "podman system service did not answer within 30 s:" >&2; cat "$STATE/service.log" >&2; exit 1; }
    bash "$ROOT/tools/scripts/build-worker-image.sh" --bin-dir "$BIN_DIR" --plugin "$PLUGIN" \
        --docker-host "unix://$STATE/podman.sock"
    echo "podman API service on unix://$STATE/podman.sock"
    ;;
stop) stop ;;
*) echo "usage: podman_service.sh start STATE_DIR BIN_DIR PLUGIN | stop STATE_DIR" >&2; exit 2 ;;
esac
