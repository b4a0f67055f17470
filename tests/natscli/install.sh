#!/usr/bin/env bash
# Builds the pinned stock `nats` CLI from the Go module proxy into a cache outside the
# repository (like tests/helm/install.sh), for tests/e2e TestNATSReaderCredential: the
# operators' read-only credential is checked with the real CLI. Prints its directory.
#
#   ORBIT_TOOLS   cache root (default: ~/.cache/orbit/tools)
set -euo pipefail

NATSCLI_VERSION=0.5.0

root=${ORBIT_TOOLS:-$HOME/.cache/orbit/tools}
bin="$root/natscli-v$NATSCLI_VERSION"
if [ -x "$bin/nats" ]; then echo "$bin"; exit 0; fi
mkdir -p "$bin"
echo "natscli/install: building nats v$NATSCLI_VERSION (a minute or two on the first run)" >&2
GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-mod=mod go install "github.com/nats-io/natscli/nats@v$NATSCLI_VERSION" >&2
echo "$bin"
