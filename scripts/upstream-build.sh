#!/usr/bin/env bash
# Builds upstream's own binaries, kubeseal and controller, from the release we are compared with
# (module github.com/bitnami-labs/sealed-secrets), for the specs and benchmarks that run the two
# side by side. The module's directory in the Go module cache is read-only and its go.mod names the
# module github.com/bitnami/sealed-secrets, so neither `go install` nor building in place works:
# it is copied to a scratch directory and built there, like upstream's Makefile builds it (with
# main.VERSION stamped, so `kubeseal --version` and the controller's metrics report the release).
# Cached per version, so a second run is instant.
# Usage: scripts/upstream-build.sh   (prints the cache directory on its last line)
#   UPSTREAM_VERSION=v0.x.y to pick another release, FORCE=1 to rebuild.
# The release's chart (with its CRD) is copied next to the binaries (helm/sealed-secrets/), so the
# specs use upstream's files without reaching into the Go module cache.
set -euo pipefail

UPSTREAM_VERSION="${UPSTREAM_VERSION:-v0.40.0}"
MODULE="github.com/bitnami-labs/sealed-secrets"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
OUT="$CACHE_ROOT/bin/upstream-${UPSTREAM_VERSION}"
TARGETS=(kubeseal controller)

say() { printf '[upstream:build] %s\n' "$*" >&2; }

have_all() {
  for t in "${TARGETS[@]}"; do [[ -x "$OUT/$t" ]] || return 1; done
  [[ -f "$OUT/helm/sealed-secrets/Chart.yaml" ]]
}
if [[ "${FORCE:-0}" != 1 ]] && have_all; then
  say "cached: $OUT"; echo "$OUT"; exit 0
fi
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || {
  echo "upstream:build needs Go (>= 1.26) on PATH to build upstream sealed-secrets ${UPSTREAM_VERSION}; install Go and retry" >&2
  exit 1
}

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
mkdir -p "$OUT"
# Two helpers building at once must not see each other's half-written files: build in a scratch
# directory on the cache's file system, then rename into place.
work="$(mktemp -d "$OUT/.build-XXXXXX")"; trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
start=$SECONDS

say "downloading ${MODULE}@${UPSTREAM_VERSION}"
dir="$(go mod download -json "${MODULE}@${UPSTREAM_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$dir/go.mod" ]] || { echo "cannot download ${MODULE}@${UPSTREAM_VERSION} from the Go module proxy" >&2; exit 1; }
cp -R "$dir" "$work/src"
chmod -R u+w "$work/src"

say "building kubeseal and controller ${UPSTREAM_VERSION} (a cold build takes a few minutes on 2 cores)"
(cd "$work/src" && go build -trimpath -ldflags "-s -w -X main.VERSION=${UPSTREAM_VERSION}" -o "$work/out/" ./cmd/...)
for t in "${TARGETS[@]}"; do [[ -x "$work/out/$t" ]] || { echo "upstream:build: go build made no $t" >&2; exit 1; }; done

# The release's chart and CRDs, for the upgrade spec (helm install of upstream's chart).
rm -rf "$OUT/helm"
cp -R "$work/src/helm" "$work/helm"
mv "$work/helm" "$OUT/helm"
for t in "${TARGETS[@]}"; do mv "$work/out/$t" "$OUT/$t"; done
say "done in $((SECONDS - start)) s: $OUT"
echo "$OUT"
