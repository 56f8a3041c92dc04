#!/usr/bin/env bash
# Builds and caches what a one-node cluster needs besides the control plane (scripts/cluster-build.sh
# builds kubelet, kube-scheduler and kube-proxy with it):
#   Debian packages  runc, containernetworking-plugins, iptables (the node), docker.io (dockerd,
#                    only to build images: scripts/image.ts)  - installed once, idempotently
#   containerd       v2 from the Go module proxy (module github.com/containerd/containerd/v2):
#                    containerd, containerd-shim-runc-v2, ctr; static (CGO_ENABLED=0), without the
#                    snapshotters that need cgo or kernel features we do not use
# Debian's containerd 1.6 talks to kubelet 1.37 only through a fallback that kubelet 1.38 removes,
# hence our own v2. Usage: scripts/node-build.sh [--plan]   (prints the containerd directory on its
# last line; --plan prints what a run would install or build, one step a line, and does nothing).
# scripts/cluster-build.sh --node runs it; nothing else needs to.
set -euo pipefail

CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
OUT="$CACHE_ROOT/bin/containerd-${CONTAINERD_VERSION}"
APT_PACKAGES=(runc containernetworking-plugins iptables docker.io)
# What each package must provide; checked instead of dpkg's database, which may lie in images.
APT_PROVIDES=(/usr/sbin/runc /usr/lib/cni/bridge /usr/sbin/iptables /usr/sbin/dockerd)

plan=0
for arg in "$@"; do
  case "$arg" in
    --plan) plan=1 ;;
    *) echo "node:build: unknown argument ${arg}; usage: scripts/node-build.sh [--plan]" >&2; exit 2 ;;
  esac
done
TARGETS=(containerd containerd-shim-runc-v2 ctr)
have_all() { for t in "${TARGETS[@]}"; do [[ -x "$OUT/$t" ]] || return 1; done; }

say() { printf '[node:build] %s\n' "$*" >&2; }
start=$SECONDS

# ---- Debian packages ----------------------------------------------------------------------
missing=()
for i in "${!APT_PACKAGES[@]}"; do [[ -x "${APT_PROVIDES[$i]}" ]] || missing+=("${APT_PACKAGES[$i]}"); done
if (( plan )); then
  (( ${#missing[@]} > 0 )) && echo "apt-get install: ${missing[*]}"
  { [[ "${FORCE:-0}" == 1 ]] || ! have_all; } && echo "go build github.com/containerd/containerd/v2: ${TARGETS[*]}"
  echo "$OUT"; exit 0
fi
if (( ${#missing[@]} > 0 )); then
  command -v apt-get >/dev/null 2>&1 || { echo "node:build needs ${missing[*]} (Debian packages); install them and retry" >&2; exit 1; }
  [[ "$(id -u)" == 0 ]] || { echo "node:build needs root to install ${missing[*]} with apt-get" >&2; exit 1; }
  say "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# ---- containerd ---------------------------------------------------------------------------
if [[ "${FORCE:-0}" == 1 ]] || ! have_all; then
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
  command -v go >/dev/null 2>&1 || { echo "node:build needs Go (>= 1.26) on PATH to build containerd" >&2; exit 1; }
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  cd "$work"
  go mod init example.invalid/node-bins-containerd >/dev/null 2>&1
  say "resolving github.com/containerd/containerd/v2@${CONTAINERD_VERSION}"
  go get "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" 2>&1 | tail -n 3 >&2
  pkgs=(); for t in "${TARGETS[@]}"; do pkgs+=("github.com/containerd/containerd/v2/cmd/$t"); done
  say "building ${TARGETS[*]}"
  vx="-X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}"
  go build -trimpath -tags "no_btrfs no_devmapper no_zfs no_aufs" -ldflags "-s -w $vx" -o "$work/out/" "${pkgs[@]}"
  mkdir -p "$OUT"
  for t in "${TARGETS[@]}"; do mv "$work/out/$t" "$OUT/$t"; done
  say "containerd built after $((SECONDS - start)) s"
else
  say "cached: $OUT"
fi
echo "$OUT"
