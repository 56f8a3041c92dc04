#!/usr/bin/env bash
# Builds helm v3 from the Go module proxy (module helm.sh/helm/v3), for the chart's tests
# (test/helm/). Cached per version next to the control plane's binaries, so a second run is
# instant. Usage: scripts/helm-build.sh   (prints the binary's path on its last line)
#   HELM_VERSION=v3.x.y to pick another release, FORCE=1 to rebuild.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
OUT="$CACHE_ROOT/bin/helm-${HELM_VERSION}"

say() { printf '[helm:build] %s\n' "$*" >&2; }

if [[ "${FORCE:-0}" != 1 && -x "$OUT/helm" ]]; then
  say "cached: $OUT/helm"; echo "$OUT/helm"; exit 0
fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || {
  echo "helm:build needs Go on PATH to build helm ${HELM_VERSION}; install Go and retry" >&2
  exit 1
}

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
# Two helpers building at once must not see each other's half-written binary: build into a
# scratch directory, then rename into place (atomic on one file system).
mkdir -p "$OUT"
work="$(mktemp -d "$OUT/.build-XXXXXX")"; trap 'rm -rf "$work"' EXIT
start=$SECONDS
say "building helm.sh/helm/v3/cmd/helm@${HELM_VERSION} (a cold build takes a few minutes on 2 cores)"
# helm's go.mod has no replace directives, so `go install` builds it from its own module graph.
# The version is stamped as upstream's Makefile does, so `helm version` reports it.
GOBIN="$work" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
mv "$work/helm" "$OUT/helm"
say "done in $((SECONDS - start)) s: $OUT/helm"
echo "$OUT/helm"
