#!/usr/bin/env bash
# Builds the test-only Go template oracle (test/template-oracle: Go's text/template + Sprig v3.3.0,
# upstream's engine) from the Go module proxy, cached by the hash of its sources like
# cluster-build.sh caches its binaries. Prints the binary's path on its last line.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../test/template-oracle" && pwd)"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
hash="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC"/*.go | sha256sum | cut -c1-16)"
OUT="$CACHE_ROOT/bin/template-oracle-sprig-v3.3.0-$hash"
if [[ -x "$OUT" ]]; then echo "$OUT"; exit 0; fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || { echo "template-oracle: needs Go (>= 1.26) on PATH" >&2; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
mkdir -p "$(dirname "$OUT")"
tmp="$OUT.tmp.$$"; trap 'rm -f "$tmp"' EXIT
(cd "$SRC" && go build -trimpath -ldflags "-s -w" -o "$tmp" .)
mv "$tmp" "$OUT"
echo "$OUT"
