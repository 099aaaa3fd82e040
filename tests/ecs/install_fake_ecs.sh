#!/usr/bin/env bash
# ctest fixture: installs the fake ECS endpoint's npm dependencies (AWS's SigV4 signer) into DEST.
set -euo pipefail
DEST="$1"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/fake_ecs" && pwd)"
command -v node >/dev/null || { echo "node is not installed (the README test command installs nodejs)" >&2; exit 1; }
mkdir -p "$DEST"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/server.mjs" "$DEST/"
cd "$DEST"
if [ ! -d node_modules/@smithy/signature-v4 ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
node -e "import('@smithy/signature-v4').then(() => console.log('fake ECS endpoint ready in $DEST'))"
