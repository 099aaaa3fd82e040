#!/usr/bin/env bash
# Writes the CURVE keys deploy/kubernetes needs (its kustomization turns them into Secrets): the scheduler's,
# one shared by the worker Pods, the adapter's, the dashboard's and a first client's. Add a user with
# `scaler_keygen NAME -o KEYS_DIR`, and list NAME.pub under scaler-client-keys in kustomization.yaml.
#
#   make-kubernetes-keys.sh [--bin-dir DIR] [--out-dir DIR]     (default: build/bin, deploy/kubernetes/keys)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$ROOT/build/bin"
OUT="$ROOT/deploy/kubernetes/keys"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) BIN_DIR="$2"; shift 2 ;;
        --out-dir) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make-kubernetes-keys.sh: error: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -x "$BIN_DIR/scaler_keygen" ] || { echo "make-kubernetes-keys.sh: error: --bin-dir: no scaler_keygen in '$BIN_DIR' (build first)" >&2; exit 2; }
for name in scheduler workers adapters dashboard client; do
    if [ -f "$OUT/$name.key" ]; then echo "keeping $OUT/$name.key"; continue; fi
    "$BIN_DIR/scaler_keygen" "$name" --out-dir "$OUT" >/dev/null
    echo "wrote $OUT/$name.key and $name.pub"
done
