#!/usr/bin/env bash
# Installs Pebble, Let's Encrypt's test ACME server, and its companion
# pebble-challtestsrv (a mock DNS server) into <repo>/.tools/bin, pinned.
# The ACME tests of internal/certs run them on loopback.
#
#   bash scripts/pebble.sh          # install if missing or stale; prints the directory
#
# Idempotent: a binary is rebuilt only when it is missing, was built from
# another Pebble version, or by another Go toolchain (read back with
# `go version -m`). Needs only the Go module proxy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
TOOLS_BIN="${TOOLS_BIN:-$ROOT/.tools/bin}"

# Bump the version here only.
PEBBLE_MODULE="github.com/letsencrypt/pebble/v2"
PEBBLE_VERSION="v2.10.1"
PEBBLE_CMDS=(pebble pebble-challtestsrv)

log() { printf 'pebble: %s\n' "$*" >&2; }

# up_to_date BIN GOVERSION
up_to_date() {
	local bin="$1" gover="$2" info
	[[ -x "$bin" ]] || return 1
	info="$("$GO" version -m "$bin" 2>/dev/null)" || return 1
	[[ "$(head -n1 <<<"$info")" == *": $gover" ]] || return 1
	# The main module line: "	mod	<module>	<version>	<sum>".
	awk -v m="$PEBBLE_MODULE" -v v="$PEBBLE_VERSION" \
		'$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }' <<<"$info"
}

main() {
	local gover cmd
	gover="$("$GO" env GOVERSION)"
	mkdir -p "$TOOLS_BIN"
	for cmd in "${PEBBLE_CMDS[@]}"; do
		if up_to_date "$TOOLS_BIN/$cmd" "$gover"; then
			log "$cmd $PEBBLE_VERSION up to date"
			continue
		fi
		log "installing $PEBBLE_MODULE/cmd/$cmd@$PEBBLE_VERSION ($gover) into ${TOOLS_BIN#"$ROOT"/}"
		# Build outside the repo's module so its go.mod is neither read nor touched.
		(cd / && GOBIN="$TOOLS_BIN" "$GO" install "$PEBBLE_MODULE/cmd/$cmd@$PEBBLE_VERSION")
	done
	printf '%s\n' "$TOOLS_BIN"
}

main "$@"
