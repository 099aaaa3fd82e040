#!/usr/bin/env bash
# ctest fixture: installs the fake ECS endpoint's npm dependencies (AWS's SigV4 signer, and the aws-sdk
# package for its ECS service model) into DEST.
set -euo pipefail
DEST="$1"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/fake_ecs" && pwd)"
command -v node >/dev/null || { echo "node is not installed (the README test command installs nodejs)" >&2; exit 1; }
mkdir -p "$DEST"
cp "$SRC/server.mjs" "$SRC/aws_partitions.mjs" "$DEST/"
# Install again only when the lock file changed since the last install into DEST.
if ! cmp -s "$SRC/package-lock.json" "$DEST/package-lock.json" || [ ! -d "$DEST/node_modules" ]; then
    cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
    (cd "$DEST" && npm ci --no-audit --no-fund --loglevel=error)
fi
cd "$DEST"
node -e "require('aws-sdk/apis/ecs-2014-11-13.min.json'); import('@smithy/signature-v4').then(() => console.log('fake ECS endpoint ready in $DEST'))"
