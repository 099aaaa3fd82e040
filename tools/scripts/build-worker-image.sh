#!/usr/bin/env bash
# Builds the worker image for the container, ECS and Kubernetes adapters from the locally built binaries,
# pulling nothing from a registry: a root filesystem with scaler_worker, scaler_worker_group, optional plugins,
# the shared libraries they load and CA certificates, imported as an image. With --cluster it also holds the
# scheduler, the Kubernetes adapter, the dashboard and the command-line tools (deploy/kubernetes runs them).
#
#   build-worker-image.sh [--bin-dir DIR] [--tag NAME:TAG] [--plugin FILE]... [--cluster]
#                         [--docker-host URL | --engine docker|podman] [--output FILE.tar]
#
# --docker-host imports through the Docker Engine API (Docker or `podman system service`), at an API version
# the engine accepts; otherwise the docker or podman command line is used; --output only writes the tarball.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$ROOT/build/bin"
TAG="scaler-cpp-worker:latest"
PLUGINS=()
DOCKER_HOST_URL=""
ENGINE=""
OUTPUT=""
CLUSTER=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) BIN_DIR="$2"; shift 2 ;;
        --tag) TAG="$2"; shift 2 ;;
        --plugin) PLUGINS+=("$2"); shift 2 ;;
        --docker-host) DOCKER_HOST_URL="$2"; shift 2 ;;
        --engine) ENGINE="$2"; shift 2 ;;
        --output) OUTPUT="$2"; shift 2 ;;
        --cluster) CLUSTER=1; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-worker-image.sh: error: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
BINARIES=(scaler_worker scaler_worker_group)
[ "$CLUSTER" = 1 ] && BINARIES+=(scaler_scheduler scaler_worker_adapter_kubernetes scaler_dashboard scaler_top
    scaler_submit scaler_keygen)
for b in "${BINARIES[@]}"; do
    [ -x "$BIN_DIR/$b" ] || { echo "build-worker-image.sh: error: --bin-dir: no $b in '$BIN_DIR' (build first)" >&2; exit 2; }
done
case "$TAG" in *:*) ;; *) TAG="$TAG:latest" ;; esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FS="$WORK/rootfs"
mkdir -p "$FS/usr/local/bin" "$FS/usr/local/lib/scaler" "$FS/tmp" "$FS/etc/ssl/certs"
chmod 1777 "$FS/tmp"
FILES=()
for b in "${BINARIES[@]}"; do
    cp "$BIN_DIR/$b" "$FS/usr/local/bin/"
    FILES+=("$BIN_DIR/$b")
done
for p in "${PLUGINS[@]+"${PLUGINS[@]}"}"; do
    [ -f "$p" ] || { echo "build-worker-image.sh: error: --plugin: no file '$p'" >&2; exit 2; }
    cp "$p" "$FS/usr/local/lib/scaler/"
    FILES+=("$p")
done
# Every shared library the binaries and plugins load, at the same path as on this host.
for lib in $(ldd "${FILES[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $2 ~ /^\(/ {print $1}' | sort -u); do
    mkdir -p "$FS$(dirname "$lib")"
    cp -L "$lib" "$FS$lib"
done
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$FS/etc/ssl/certs/"
echo "root:x:0:0:root:/root:/usr/sbin/nologin" > "$FS/etc/passwd"
echo "root:x:0:" > "$FS/etc/group"
TARBALL="${OUTPUT:-$WORK/worker.tar}"
tar -C "$FS" --owner=0 --group=0 --numeric-owner -cf "$TARBALL" .
[ -n "$OUTPUT" ] && { echo "wrote $OUTPUT ($(du -h "$OUTPUT" | cut -f1))"; exit 0; }

if [ -n "$DOCKER_HOST_URL" ]; then
    case "$DOCKER_HOST_URL" in
        unix://*) CURL=(curl -sS --fail-with-body --unix-socket "${DOCKER_HOST_URL#unix://}"); BASE="http://docker" ;;
        tcp://*) CURL=(curl -sS --fail-with-body); BASE="http://${DOCKER_HOST_URL#tcp://}" ;;
        *) CURL=(curl -sS --fail-with-body); BASE="$DOCKER_HOST_URL" ;;
    esac
    # The API version, negotiated as the adapter does: the engine's newest, at most 1.44 (what our requests
    # were checked against), never below its minimum (Docker 29 refuses 1.41).
    VERSIONS="$("${CURL[@]}" "$BASE/version" 2>&1)" || {
        echo "build-worker-image.sh: error: --docker-host $DOCKER_HOST_URL: GET /version failed: $VERSIONS" >&2; exit 1; }
    API="$(printf '%s' "$VERSIONS" | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)
key = lambda s: tuple(int(x) for x in s.split("."))
best = min(key(v.get("ApiVersion", "1.41")), (1, 44))
best = max(best, key(v.get("MinAPIVersion", "1.12")))
print(".".join(map(str, best)))')"
    ANSWER="$WORK/import-answer"
    if ! "${CURL[@]}" -o "$ANSWER" -X POST -H 'Content-Type: application/x-tar' --data-binary "@$TARBALL" \
        "$BASE/v$API/images/create?fromSrc=-&repo=${TAG%:*}&tag=${TAG##*:}" 2>"$WORK/curl-error"; then
        echo "build-worker-image.sh: error: the engine at $DOCKER_HOST_URL refused the import (API $API):" \
            "$(cat "$ANSWER" 2>/dev/null || true) $(cat "$WORK/curl-error")" >&2
        exit 1
    fi
else
    if [ -z "$ENGINE" ]; then
        if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
    fi
    "$ENGINE" import "$TARBALL" "$TAG" >/dev/null
fi
echo "built image $TAG ($(du -h "$TARBALL" | cut -f1)) from $BIN_DIR"
