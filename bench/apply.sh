#!/usr/bin/env bash
# What one app change costs a running edge that serves many domains: the
# apply time of a domain added or removed through the admin API (as the
# API answers, and as the edge measures its own work), the edge's memory
# before and after, and the p50/p99 of live traffic during the changes
# against the same traffic without changes. See bench/README.md.
#
#   bash bench/apply.sh                       # 100 000 domains, 1 000 changes, two 10 s load runs
#   DOMAINS=10000 CHANGES=200 DURATION=3 bash bench/apply.sh
#
# Settings (environment): DOMAINS (100000), PER_APP (10), CHANGES (1000),
# DURATION seconds of each load run (10), CONNS (16), LOAD (wrk if
# installed, else go), PORT_BASE (29000: uses it and the next two ports),
# OUT (bench/results/apply-<UTC time>).
#
# CI runs it small (DOMAINS=10000 CHANGES=200 DURATION=3): it fails if a
# change or a request gets another answer than expected, never on timings.
#
# Everything listens on 127.0.0.1. The edge and the load run under a
# bound of 4 x DURATION + 5 minutes; the edge is stopped by its process
# group when the run ends, fails or is interrupted.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOMAINS=${DOMAINS:-100000}
PER_APP=${PER_APP:-10}
CHANGES=${CHANGES:-1000}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
PORT_BASE=${PORT_BASE:-29000}
LOAD=${LOAD:-}
OUT=${OUT:-$root/bench/results/apply-$(date -u +%Y%m%dT%H%M%SZ)}
for v in DOMAINS PER_APP CHANGES DURATION CONNS PORT_BASE; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "apply.sh: $v must be a positive number" >&2; exit 2; }
done

bin="$(mktemp -d)"
pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		# applybench stops the edge's process group on SIGTERM.
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$root" && go build -o "$bin/forcehttps" ./cmd/forcehttps)
(cd "$root/bench" && go build -o "$bin/applybench" ./cmd/applybench)
mkdir -p "$OUT"
args=(-edge "$bin/forcehttps" -out "$OUT" -domains "$DOMAINS" -per "$PER_APP" -changes "$CHANGES"
	-duration "${DURATION}s" -conns "$CONNS" -port-base "$PORT_BASE")
[[ -n $LOAD ]] && args+=(-load "$LOAD")
"$bin/applybench" "${args[@]}" &
pid=$!
status=0
wait "$pid" || status=$?
pid=""
echo "apply.sh: results in $OUT/results.md"
exit "$status"
