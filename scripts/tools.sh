#!/usr/bin/env bash
# Installs the Go tools used by the checks into <repo>/.tools/bin, pinned.
#
#   bash scripts/tools.sh            # install every tool
#   bash scripts/tools.sh staticcheck govulncheck
#
# Idempotent: a tool is reinstalled only when its binary is missing, was
# built from another module version, or was built by another Go toolchain
# (read back with `go version -m`, so no stamp file can go stale).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
TOOLS_BIN="${TOOLS_BIN:-$ROOT/.tools/bin}"

# name|package|module|version -- bump versions here only.
TOOLS=(
	"staticcheck|honnef.co/go/tools/cmd/staticcheck|honnef.co/go/tools|v0.8.2"
	"benchstat|golang.org/x/perf/cmd/benchstat|golang.org/x/perf|v0.0.0-20260908200009-22c9c6c9d4da"
	"govulncheck|golang.org/x/vuln/cmd/govulncheck|golang.org/x/vuln|v1.9.0"
	"h2spec|github.com/summerwind/h2spec/cmd/h2spec|github.com/summerwind/h2spec|v2.2.1+incompatible"
)

log() { printf 'tools: %s\n' "$*"; }

# up_to_date BIN MODULE VERSION GOVERSION
up_to_date() {
	local bin="$1" mod="$2" ver="$3" gover="$4" info
	[[ -x "$bin" ]] || return 1
	info="$("$GO" version -m "$bin" 2>/dev/null)" || return 1
	# First line: "<path>: go1.26.8"; then "	mod	<module>	<version>	<sum>".
	[[ "$(head -n1 <<<"$info")" == *": $gover" ]] || return 1
	awk -v m="$mod" -v v="$ver" '$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }' <<<"$info"
}

main() {
	local want=("$@") gover entry name pkg mod ver selected found
	gover="$("$GO" env GOVERSION)"
	mkdir -p "$TOOLS_BIN"

	for name in "${want[@]}"; do
		found=0
		for entry in "${TOOLS[@]}"; do
			[[ "${entry%%|*}" == "$name" ]] && found=1
		done
		if ((found == 0)); then
			log "unknown tool '$name' (known: $(printf '%s ' "${TOOLS[@]%%|*}"))" >&2
			exit 2
		fi
	done

	for entry in "${TOOLS[@]}"; do
		IFS='|' read -r name pkg mod ver <<<"$entry"
		if ((${#want[@]} > 0)); then
			selected=0
			for w in "${want[@]}"; do [[ "$w" == "$name" ]] && selected=1; done
			((selected)) || continue
		fi
		if up_to_date "$TOOLS_BIN/$name" "$mod" "$ver" "$gover"; then
			log "$name $ver up to date"
			continue
		fi
		log "installing $pkg@$ver ($gover) into ${TOOLS_BIN#"$ROOT"/}"
		# Build outside the repo's module so its go.mod is neither read nor touched.
		(cd / && GOBIN="$TOOLS_BIN" "$GO" install "$pkg@$ver")
	done
}

main "$@"
