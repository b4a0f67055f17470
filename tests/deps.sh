#!/usr/bin/env bash
# Installs and starts what the test suite needs, idempotently: PostgreSQL (the store's
# tests run against it as well as SQLite), etcd and the pinned Kubernetes control plane with
# kwok (the satellite's end-to-end tests run against real API servers) and helm (the
# charts' tests); the binaries are built once into a cache outside the repository; and
# Debian's chromium (the console's browser test). Safe to run again; fast when nothing is
# missing. Prints the PostgreSQL URL for the tests.
set -euo pipefail

log() { echo "deps: $*" >&2; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root for: $*"; exit 1
  fi
}

need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the console's browser test
command -v curl >/dev/null 2>&1 || need+=(curl) # the README's production start, which TestREADMEProduction runs
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Only the URL goes to stdout: the Makefile captures it.

# Kubernetes control plane and kwok, from the Go module proxy (minutes the first time).
"$(dirname "$0")/kubetest/install.sh" >/dev/null
# helm, pinned, from the Go module proxy (the charts' tests in tests/helm).
"$(dirname "$0")/helm/install.sh" >/dev/null
# the stock nats CLI, pinned, from the Go module proxy (tests/e2e TestNATSReaderCredential).
"$(dirname "$0")/natscli/install.sh" >/dev/null

# PostgreSQL: start the first cluster and let the tests log in over TCP.
read -r pg_version pg_cluster pg_port pg_status _ < <(pg_lsclusters -h | head -n 1)
if [ "$pg_status" != "online" ]; then
  log "starting PostgreSQL $pg_version/$pg_cluster"
  as_root pg_ctlcluster "$pg_version" "$pg_cluster" start >&2
fi
as_root su postgres -c "psql -q -p $pg_port -c \"ALTER USER postgres PASSWORD 'orbit'\"" >/dev/null
echo "postgres://postgres:orbit@127.0.0.1:$pg_port/postgres?sslmode=disable"
