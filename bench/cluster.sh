#!/usr/bin/env bash
# Propagation of a Force HTTPS toggle across three edge replicas that
# share one PostgreSQL (cluster mode): the time from the end of the admin
# API call on one replica until the two others serve the change, p50 and
# p99 over 100 toggles per round, each replica writing in turn. Runs the
# Go benchmark of internal/pgstate against a throwaway PostgreSQL on
# loopback (scripts/postgres.sh installs Debian's postgresql).
#
#   bash bench/cluster.sh [rounds]     # default 3 rounds of 100 toggles
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: bench/cluster.sh [rounds]" >&2
	exit 2
fi
bash "$root/scripts/postgres.sh" >/dev/null
cd "$root"
go test -run '^$' -bench '^BenchmarkPropagation$' -benchtime 1x -count "$rounds" ./internal/pgstate/
