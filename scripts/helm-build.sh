#!/usr/bin/env bash
# Builds helm v3 from the Go module proxy (module helm.sh/helm/v3), for the chart's tests
# (test/helm/), through scripts/go-install.sh (cached per version).
# Usage: scripts/helm-build.sh   (prints the binary's path on its last line)
#   HELM_VERSION=v3.x.y to pick another release, FORCE=1 to rebuild.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# The version is stamped as upstream's Makefile does, so `helm version` reports it.
exec bash "$(dirname "$0")/go-install.sh" helm "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" \
  "-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
