#!/usr/bin/env bash
# Builds the pinned helm binary from the Go module proxy into a cache outside the repository
# (like tests/kubetest/install.sh), so that only the first run pays for the build. Prints
# its directory on stdout.
#
#   ORBIT_TOOLS   cache root (default: ~/.cache/orbit/tools)
set -euo pipefail

HELM_VERSION=3.21.4

root=${ORBIT_TOOLS:-$HOME/.cache/orbit/tools}
bin="$root/helm-v$HELM_VERSION/bin"
if [ -x "$bin/helm" ]; then echo "$bin"; exit 0; fi
mkdir -p "$bin"
echo "helm/install: building helm v$HELM_VERSION (a few minutes on the first run)" >&2
GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
echo "$bin"
