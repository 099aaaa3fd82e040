#!/usr/bin/env bash
# Builds the worker image for scaler_worker_adapter_container from the locally built binaries, pulling
# nothing from a registry: a root filesystem with scaler_worker, scaler_worker_group, optional plugins, the
# shared libraries they load and CA certificates, imported as an image.
#
#   build-worker-image.sh [--bin-dir DIR] [--tag NAME:TAG] [--plugin FILE]... [--docker-host URL | --engine docker|podman]
#                         [--output FILE.tar]
#
# --docker-host imports through the Docker Engine API (Docker or `podman system service`); otherwise the
# docker or podman command line is used; --output only writes the tarball.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$ROOT/build/bin"
TAG="scaler-cpp-worker:latest"
PLUGINS=()
DOCKER_HOST_URL=""
ENGINE=""
OUTPUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) BIN_DIR="$2"; shift 2 ;;
        --tag) TAG="$2"; shift 2 ;;
        --plugin) PLUGINS+=("$2"); shift 2 ;;
        --docker-host) DOCKER_HOST_URL="$2"; shift 2 ;;
        --engine) ENGINE="$2"; shift 2 ;;
        --output) OUTPUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-worker-image.sh: error: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
for b in scaler_worker scaler_worker_group; do
    [ -x "$BIN_DIR/$b" ] || { echo "build-worker-image.sh: error: --bin-dir: no $b in '$BIN_DIR' (build first)" >&2; exit 2; }
done
case "$TAG" in *:*) ;; *) TAG="$TAG:latest" ;; esac

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FS="$WORK/rootfs"
mkdir -p "$FS/usr/local/bin" "$FS/usr/local/lib/scaler" "$FS/tmp" "$FS/etc/ssl/certs"
chmod 1777 "$FS/tmp"
cp "$BIN_DIR/scaler_worker" "$BIN_DIR/scaler_worker_group" "$FS/usr/local/bin/"
FILES=("$BIN_DIR/scaler_worker" "$BIN_DIR/scaler_worker_group")
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
    "${CURL[@]}" -X POST -H 'Content-Type: application/x-tar' --data-binary "@$TARBALL" \
        "$BASE/v1.41/images/create?fromSrc=-&repo=${TAG%:*}&tag=${TAG##*:}" >/dev/null
else
    if [ -z "$ENGINE" ]; then
        if command -v docker >/dev/null && docker info >/dev/null 2>&1; then ENGINE=docker; else ENGINE=podman; fi
    fi
    "$ENGINE" import "$TARBALL" "$TAG" >/dev/null
fi
echo "built image $TAG ($(du -h "$TARBALL" | cut -f1)) from $BIN_DIR"
