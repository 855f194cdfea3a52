#!/usr/bin/env bash
# Lists the Go modules of the repository and runs a command in each.
#
#   bash scripts/modules.sh list  SET               # print module dirs, relative to the repo root
#   bash scripts/modules.sh run   SET -- CMD ARG... # run CMD in each module dir, stop at the first failure
#
# SET is one of: root (the repo root), nested (every other go.mod, e.g. bench/), all.
# Directories the go command ignores (testdata, vendor, _x, .x) and .tools are
# not searched. `run` skips a module that has no Go packages yet, saying so.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"

usage() {
	sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

list() {
	local set="$1"
	case "$set" in
	root | all | nested) ;;
	*) usage ;;
	esac
	if [[ "$set" != nested && -f "$ROOT/go.mod" ]]; then
		echo .
	fi
	if [[ "$set" != root ]]; then
		(cd "$ROOT" && find . -mindepth 2 \
			\( -type d \( -name testdata -o -name vendor -o -name node_modules -o -name '_*' -o -name '.*' \) -prune \) \
			-o \( -type f -name go.mod -print \)) |
			sed -e 's|^\./||' -e 's|/go.mod$||' | LC_ALL=C sort
	fi
}

# has_packages DIR: false only when the module clearly has no packages; if
# `go list` itself fails, say yes so the real command reports the error.
has_packages() {
	local out
	out="$(cd "$ROOT/$1" && "$GO" list -e -f '{{.ImportPath}}' ./... 2>/dev/null)" || return 0
	[[ -n "$out" ]]
}

run() {
	local set="$1"
	shift
	[[ "${1:-}" == -- ]] || usage
	shift
	(($# > 0)) || usage
	local mods m
	mods="$(list "$set")"
	for m in $mods; do
		if ! has_packages "$m"; then
			printf '==> %s: no Go packages, skipping: %s\n' "$m" "$*"
			continue
		fi
		printf '==> %s: %s\n' "$m" "$*"
		(cd "$ROOT/$m" && "$@")
	done
}

case "${1:-}" in
list) (($# == 2)) || usage; list "$2" ;;
run) (($# >= 4)) || usage; shift; run "$@" ;;
*) usage ;;
esac
