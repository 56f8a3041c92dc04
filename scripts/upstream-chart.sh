#!/usr/bin/env bash
# Fetches upstream sealed-secrets' Helm chart for the migration spec (test/integration/helm-upstream.test.ts):
# upstream's Go module (github.com/bitnami-labs/sealed-secrets) carries helm/sealed-secrets/, so the
# Go module proxy serves the chart of every release, checksummed by the Go checksum database, and
# Go's module cache keeps it. `npm test` runs this before vitest, so the spec itself reads it
# offline (GOPROXY=off). Usage: scripts/upstream-chart.sh   (prints the chart's directory last)
#   UPSTREAM_VERSION=v0.x.y to pick another release.
set -euo pipefail

UPSTREAM_VERSION="${UPSTREAM_VERSION:-v0.36.6}"
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || { echo "upstream-chart needs Go on PATH to fetch upstream's chart ${UPSTREAM_VERSION}; install Go and retry" >&2; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS="-mod=mod"
module="github.com/bitnami-labs/sealed-secrets@${UPSTREAM_VERSION}"
json="$(go mod download -json "$module")" || {
  echo "cannot fetch ${module} from the Go module proxy: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")" >&2
  [[ "${GOPROXY:-}" == off ]] && echo "(GOPROXY=off: run scripts/upstream-chart.sh online first; npm test does)" >&2
  exit 1
}
dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
[[ -f "$dir/helm/sealed-secrets/Chart.yaml" ]] || { echo "upstream's module ${UPSTREAM_VERSION} has no helm/sealed-secrets/Chart.yaml" >&2; exit 1; }
printf '[upstream-chart] %s\n' "$dir/helm/sealed-secrets" >&2
echo "$dir/helm/sealed-secrets"
