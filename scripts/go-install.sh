#!/usr/bin/env bash
# One Go program from the Go module proxy, built with `go install` (its go.mod must have no replace
# directives) and cached per version next to the control plane's binaries, so a second run is
# instant. The one place behind scripts/helm-build.sh and scripts/krew-build.sh.
# Usage: scripts/go-install.sh <name> <package@version> [<ldflags>]
#   prints the binary's path on its last line; FORCE=1 rebuilds.
set -euo pipefail
name="$1"; package="$2"; ldflags="${3:-}"
version="${package##*@}"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
OUT="$CACHE_ROOT/bin/${name}-${version}"

say() { printf '[%s:build] %s\n' "$name" "$*" >&2; }

if [[ "${FORCE:-0}" != 1 && -x "$OUT/$name" ]]; then
  say "cached: $OUT/$name"; echo "$OUT/$name"; exit 0
fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || {
  echo "${name}:build needs Go on PATH to build ${name} ${version}; install Go and retry" >&2
  exit 1
}

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Two builds at once must not see each other's half-written binary: build into a scratch
# directory, then rename into place (atomic on one file system).
mkdir -p "$OUT"
work="$(mktemp -d "$OUT/.build-XXXXXX")"; trap 'rm -rf "$work"' EXIT
start=$SECONDS
say "building ${package}"
GOBIN="$work" go install -trimpath -ldflags "-s -w ${ldflags}" "$package"
mv "$work/$name" "$OUT/$name"
say "done in $((SECONDS - start)) s: $OUT/$name"
echo "$OUT/$name"
