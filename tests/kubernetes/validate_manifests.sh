#!/usr/bin/env bash
# deploy/kubernetes checked with Kubernetes' schemas and the wiring between its objects (validate_manifests.mjs),
# with the keys make-kubernetes-keys.sh writes.
#   validate_manifests.sh FAKE_DIR BIN_DIR
set -euo pipefail
FAKE="$1"
BIN="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KEYS="$(mktemp -d)"
trap 'rm -rf "$KEYS"' EXIT
bash "$ROOT/tools/scripts/make-kubernetes-keys.sh" --bin-dir "$BIN" --out-dir "$KEYS/keys" >/dev/null
cd "$FAKE"
node validate_manifests.mjs "$ROOT/deploy/kubernetes" "$KEYS/keys" "$BIN"
