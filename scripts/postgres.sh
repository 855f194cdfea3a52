#!/usr/bin/env bash
# Installs PostgreSQL's server binaries (Debian's `postgresql`) for the
# cluster-mode tests, which run their own throwaway server on loopback
# (internal/pgtest: initdb into a temporary directory as a non-root user).
# Nothing is started here and no system cluster is used.
#
#   bash scripts/postgres.sh      # install if missing; prints the bin directory
#
# Idempotent: does nothing when initdb and pg_ctl are already found, on PATH
# or under /usr/lib/postgresql/<version>/bin (Debian does not put the server
# binaries on PATH). The tests look in the same places, or at $PG_BIN.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'postgres: %s\n' "$*" >&2; }

# find_bin prints the directory holding initdb, pg_ctl and postgres.
find_bin() {
	local d dirs
	if [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]]; then
		printf '%s\n' "$PG_BIN"
		return 0
	fi
	# The newest version first.
	mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
	for d in "${dirs[@]}"; do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
		return 0
	fi
	return 1
}

main() {
	local bin
	if ! bin="$(find_bin)"; then
		log "initdb/pg_ctl not found; installing Debian's postgresql"
		bash "$ROOT/scripts/apt.sh" postgresql
		bin="$(find_bin)" || {
			log "initdb is still missing after the install"
			exit 1
		}
	fi
	# initdb refuses to run as root: the tests run it as the package's
	# `postgres` user (or `nobody`), so one of them must exist.
	if [[ "$(id -u)" -eq 0 ]] && ! getent passwd postgres >/dev/null && ! getent passwd nobody >/dev/null; then
		log "running as root but neither the postgres nor the nobody user exists"
		exit 1
	fi
	log "$("$bin/postgres" --version)"
	printf '%s\n' "$bin"
}

main "$@"
