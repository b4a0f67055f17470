#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler) and kwok from the Go module proxy into a cache outside the repository, so
# that only the first run pays for the build. Prints the bin directory on stdout.
#
#   ORBIT_TOOLS   cache root (default: ~/.cache/orbit/tools)
#
# etcd comes from Debian (etcd-server); tests/deps.sh installs it.
set -euo pipefail

K8S_VERSION=1.34.4
KWOK_VERSION=0.7.0

root=${ORBIT_TOOLS:-$HOME/.cache/orbit/tools}
bin="$root/kube-v$K8S_VERSION-kwok-v$KWOK_VERSION/bin"
mkdir -p "$bin"

want=(kube-apiserver kube-controller-manager kube-scheduler kwok)
missing=()
for b in "${want[@]}"; do [ -x "$bin/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$bin"; exit 0; fi

log() { echo "kube/install: $*" >&2; }

if [[ " ${missing[*]} " == *" kube-"* ]]; then
  # A throwaway module that requires k8s.io/kubernetes and replaces every staging module
  # (the "=> ./staging/..." lines of that version's go.mod) with its published v0 tag.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  staging_version="v0.${K8S_VERSION#1.}"
  {
    echo "module orbit.local/kubebuild"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    curl -fsSL "${GOPROXY_URL:-https://proxy.golang.org}/k8s.io/kubernetes/@v/v$K8S_VERSION.mod" |
      awk -v v="$staging_version" '/=> \.\/staging\/src\// { print "\t" $1 " => " $1 " " v }'
    echo ")"
  } >"$work/go.mod"
  cat >"$work/tools.go" <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  (
    cd "$work"
    log "resolving k8s.io/kubernetes v$K8S_VERSION"
    GOFLAGS=-mod=mod go mod tidy -e >&2 2>&1 || true
    for b in kube-apiserver kube-controller-manager kube-scheduler; do
      [ -x "$bin/$b" ] && continue
      log "building $b (several minutes on the first run)"
      CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$bin/$b.tmp" "k8s.io/kubernetes/cmd/$b" >&2
      mv "$bin/$b.tmp" "$bin/$b"
    done
  )
fi

if [ ! -x "$bin/kwok" ]; then
  log "building kwok v$KWOK_VERSION"
  GOBIN="$bin" CGO_ENABLED=0 go install "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" >&2
fi

echo "$bin"
