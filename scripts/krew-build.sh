#!/usr/bin/env bash
# Builds krew (the kubectl plugin manager) from the Go module proxy (module sigs.k8s.io/krew), for
# the spec that installs `kubectl seal` from deploy/krew/seal.yaml and the `npm pack` tarball
# (test/package.test.ts), through scripts/go-install.sh (cached per version).
# Usage: scripts/krew-build.sh   (prints the binary's path on its last line)
#   KREW_VERSION=v0.x.y to pick another release, FORCE=1 to rebuild.
# v0.4.3 is the newest version the Go module proxy lists (`go list -m -versions sigs.k8s.io/krew`).
set -euo pipefail
KREW_VERSION="${KREW_VERSION:-v0.4.3}"
# The version stamped as krew's hack/make-binaries.sh does, so `krew version` reports it.
exec bash "$(dirname "$0")/go-install.sh" krew "sigs.k8s.io/krew/cmd/krew@${KREW_VERSION}" \
  "-X sigs.k8s.io/krew/internal/version.gitTag=${KREW_VERSION}"
