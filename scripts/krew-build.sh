#!/usr/bin/env bash
# Builds krew (the kubectl plugin manager) from the Go module proxy (module sigs.k8s.io/krew), for
# the spec that installs `kubectl seal` from deploy/krew/seal.yaml and the `npm pack` tarball
# (test/package.test.ts). Cached per version next to the other binaries, so a second run is
# instant. Usage: scripts/krew-build.sh   (prints the binary's path on its last line)
#   KREW_VERSION=v0.x.y to pick another release, FORCE=1 to rebuild.
# v0.4.3 is the newest version the Go module proxy lists (`go list -m -versions sigs.k8s.io/krew`);
# its go.mod has no replace directives, so `go install` builds it from its own module graph.
set -euo pipefail

KREW_VERSION="${KREW_VERSION:-v0.4.3}"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
OUT="$CACHE_ROOT/bin/krew-${KREW_VERSION}"

say() { printf '[krew:build] %s\n' "$*" >&2; }

if [[ "${FORCE:-0}" != 1 && -x "$OUT/krew" ]]; then
  say "cached: $OUT/krew"; echo "$OUT/krew"; exit 0
fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || {
  echo "krew:build needs Go on PATH to build krew ${KREW_VERSION}; install Go and retry" >&2
  exit 1
}

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Build into a scratch directory, then rename into place: a concurrent run never sees half a binary.
mkdir -p "$OUT"
work="$(mktemp -d "$OUT/.build-XXXXXX")"; trap 'rm -rf "$work"' EXIT
start=$SECONDS
say "building sigs.k8s.io/krew/cmd/krew@${KREW_VERSION}"
# The version stamped as krew's hack/make-binaries.sh does, so `krew version` reports it.
GOBIN="$work" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=${KREW_VERSION}" \
  "sigs.k8s.io/krew/cmd/krew@${KREW_VERSION}"
mv "$work/krew" "$OUT/krew"
say "done in $((SECONDS - start)) s: $OUT/krew"
echo "$OUT/krew"
