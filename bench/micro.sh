#!/usr/bin/env bash
# Compares the forcehttps middleware with unrolled/secure in one run and
# prints benchstat's table with one column per implementation.
# Usage: bench/micro.sh [count]   (default count 10)
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
"$root/scripts/tools.sh" >/dev/null
count=${1:-10}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench . -count "$count" | tee "$out"
echo
"$root/.tools/bin/benchstat" -col /impl "$out"
