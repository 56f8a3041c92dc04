#!/usr/bin/env bash
# Builds the binaries of a real, local Kubernetes cluster from the Go module proxy:
#   kube-apiserver, kube-controller-manager, kubectl     (module k8s.io/kubernetes)
#   etcd                                                (module go.etcd.io/etcd/server/v3)
# and with --node also the node's parts:
#   kubelet, kube-scheduler, kube-proxy                 (k8s.io/kubernetes, in the same `go build`)
#   then scripts/node-build.sh (Debian's runc, CNI plugins, iptables, docker.io; containerd v2)
# Without --node nothing of the node is built or installed: `npm start` and `npm run cluster:up`
# need only the control plane. `npm test` asks for --node, so that one `go build` compiles every
# Kubernetes binary it needs and their shared packages compile once. A control-plane build
# followed later by --node builds just the missing three (the Go build cache keeps the shared ones).
# Each is built in a throw-away scratch module, because `go install` cannot build modules whose
# go.mod carries replace directives (both do). Binaries are cached per version, so a second run is
# instant. Usage: scripts/cluster-build.sh [--node] [--plan]   (prints the cache directory on its
# last line). --plan prints what a run would build or install, one step a line, and does nothing.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"          # staging modules are tagged v0.X.Y for v1.X.Y
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE_ROOT="${SEALED_SECRETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-secrets-ts}"
OUT="$CACHE_ROOT/bin/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
CONTROL_PLANE=(kube-apiserver kube-controller-manager kubectl)
NODE_PARTS=(kubelet kube-scheduler kube-proxy)
HERE="$(cd "$(dirname "$0")" && pwd)"

node=0 plan=0
for arg in "$@"; do
  case "$arg" in
    --node) node=1 ;;
    --plan) plan=1 ;;
    *) echo "cluster:build: unknown argument ${arg}; usage: scripts/cluster-build.sh [--node] [--plan]" >&2; exit 2 ;;
  esac
done
TARGETS=("${CONTROL_PLANE[@]}"); (( node )) && TARGETS+=("${NODE_PARTS[@]}")

say() { printf '[cluster:build] %s\n' "$*" >&2; }

# Only the missing ones: a cache from a control-plane-only build gains just the node's three.
build=(); for t in "${TARGETS[@]}"; do [[ -x "$OUT/$t" && "${FORCE:-0}" != 1 ]] || build+=("$t"); done
build_etcd=0; [[ -x "$OUT/etcd" && "${FORCE:-0}" != 1 ]] || build_etcd=1

if (( plan )); then
  (( ${#build[@]} > 0 )) && echo "go build k8s.io/kubernetes: ${build[*]}"
  (( build_etcd )) && echo "go build go.etcd.io/etcd/server/v3: etcd"
  (( node )) && bash "$HERE/node-build.sh" --plan | sed '$d'
  echo "$OUT"; exit 0
fi
if (( ${#build[@]} == 0 && ! build_etcd )); then
  say "cached: $OUT"; (( node )) && bash "$HERE/node-build.sh" >/dev/null; echo "$OUT"; exit 0
fi
# The official Go tarball installs to /usr/local/go, which a non-login shell may not have on PATH.
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || {
  echo "cluster:build needs Go (>= 1.26) on PATH to build kube-apiserver and etcd; install Go and retry" >&2
  exit 1
}

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
mkdir -p "$OUT"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
start=$SECONDS

# ---- Kubernetes ---------------------------------------------------------------------------
if (( ${#build[@]} > 0 )); then
  mkdir "$work/k8s"; cd "$work/k8s"
  go mod init example.invalid/cluster-bins-k8s >/dev/null 2>&1
  say "downloading k8s.io/kubernetes@${K8S_VERSION} go.mod"
  gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || { echo "cannot download k8s.io/kubernetes@${K8S_VERSION} from the Go module proxy" >&2; exit 1; }
  # k8s.io/kubernetes requires its staging modules at the unpublished v0.0.0 and resolves them with
  # local replaces, which consumers do not see: point each at its published tag instead.
  mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}
                             $1 == "require" && $2 ~ /^k8s\.io\// && $3 == "v0.0.0" {print $2}' "$gomod" | sort -u)
  say "replacing ${#staging[@]} staging modules with ${STAGING_VERSION}"
  edits=("-require=k8s.io/kubernetes@${K8S_VERSION}")
  for m in "${staging[@]}"; do edits+=("-replace=${m}=${m}@${STAGING_VERSION}"); done
  while read -r gd; do [[ -n "$gd" ]] && edits+=("-godebug=${gd}"); done < <(awk '
    /^godebug[[:space:]]*\(/ {b=1; next}  b && /^\)/ {b=0; next}  b && NF {print $1}
    /^godebug[[:space:]]+[^(]/ {print $2}' "$gomod")
  go mod edit "${edits[@]}"
  for t in "${build[@]}"; do
    say "resolving k8s.io/kubernetes/cmd/$t"
    go get "k8s.io/kubernetes/cmd/${t}@${K8S_VERSION}" 2>&1 | tail -n 3 >&2
  done
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  vx="-X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1"
  vx="$vx -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
  vx="$vx -X k8s.io/component-base/version.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  vx="$vx ${vx//component-base\/version/client-go\/pkg\/version}"
  pkgs=(); for t in "${build[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$t"); done
  say "building ${build[*]} (a cold build takes a while on 2 cores)"
  go build -trimpath -ldflags "-s -w $vx" -o "$work/out/" "${pkgs[@]}"
  for t in "${build[@]}"; do mv "$work/out/$t" "$OUT/$t"; done
  say "kubernetes built after $((SECONDS - start)) s"
fi

# ---- etcd (own module: its dependency pins differ from Kubernetes') ------------------------
if (( build_etcd )); then
  mkdir -p "$work/etcd"; cd "$work/etcd"
  go mod init example.invalid/cluster-bins-etcd >/dev/null 2>&1
  say "resolving go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" 2>&1 | tail -n 3 >&2
  say "building etcd"
  go build -trimpath -ldflags "-s -w" -o "$work/etcd-bin" go.etcd.io/etcd/server/v3
  mv "$work/etcd-bin" "$OUT/etcd"
fi

(( node )) && bash "$HERE/node-build.sh" >/dev/null
say "done in $((SECONDS - start)) s: $OUT"
echo "$OUT"
