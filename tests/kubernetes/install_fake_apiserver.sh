#!/usr/bin/env bash
# ctest fixture: installs the fake Kubernetes API server's npm dependencies (kubernetes-models for Kubernetes'
# object schemas, @kubernetes/client-node for its field lists and as a real client to check the fake with) into
# DEST, and makes a test CA with a server certificate (127.0.0.1) and a client certificate.
set -euo pipefail
DEST="$1"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/fake_apiserver" && pwd)"
command -v node >/dev/null || { echo "node is not installed (the README test command installs nodejs)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl is not installed (the README test command installs it)" >&2; exit 1; }
mkdir -p "$DEST"
cp "$SRC/server.mjs" "$SRC/strict_fields.mjs" "$SRC/client_check.mjs" "$SRC/validate_manifests.mjs" "$DEST/"
# Install again only when the lock file changed since the last install into DEST.
if ! cmp -s "$SRC/package-lock.json" "$DEST/package-lock.json" || [ ! -d "$DEST/node_modules" ]; then
    cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
    (cd "$DEST" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -f "$DEST/tls/client.key" ]; then
    mkdir -p "$DEST/tls" && cd "$DEST/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=scaler-test-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 3650 \
        -extfile server.ext 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=scaler-adapter/O=scaler" 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 3650 2>/dev/null
    rm -f ./*.csr server.ext
    cd "$DEST"
fi
cd "$DEST"
node -e "import('kubernetes-models/v1').then(() => import('@kubernetes/client-node')).then(() => console.log('fake Kubernetes API server ready in $DEST'))"
