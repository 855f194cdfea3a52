#!/usr/bin/env bash
# Lint: gofmt, go vet, staticcheck and `go mod tidy -diff`, for the root
# module and every nested one (e.g. bench/). Fails on the first problem.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
STATICCHECK="${STATICCHECK:-$ROOT/.tools/bin/staticcheck}"
cd "$ROOT"

# Every .go file, tracked or untracked but not ignored; without git, every
# .go file outside the directories the go command ignores.
go_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard -- '*.go'
	else
		find . \( -type d \( -name '.*' -o -name '_*' -o -name node_modules \) ! -name . -prune \) \
			-o \( -type f -name '*.go' -print0 \)
	fi
}

echo "==> gofmt -l"
files=()
while IFS= read -r -d '' f; do
	f="${f#./}"
	case "/$f" in */testdata/* | */vendor/*) continue ;; esac
	[[ -f "$f" ]] && files+=("$f") # tracked but deleted files are listed too
done < <(go_files)
if ((${#files[@]} > 0)); then
	unformatted="$(gofmt -l "${files[@]}")"
	if [[ -n "$unformatted" ]]; then
		echo "gofmt: these files are not formatted (run: gofmt -w FILE):" >&2
		mapfile -t bad <<<"$unformatted"
		printf '  %s\n' "${bad[@]}" >&2
		exit 1
	fi
fi
echo "gofmt: ${#files[@]} files ok"

[[ -x "$STATICCHECK" ]] || bash "$ROOT/scripts/tools.sh" staticcheck

bash scripts/modules.sh run all -- "$GO" vet ./...
bash scripts/modules.sh run all -- "$STATICCHECK" ./...

# `go mod tidy -diff` (Go 1.23+) prints the needed changes and fails if any.
modules="$(bash scripts/modules.sh list all)"
for m in $modules; do
	echo "==> $m: go mod tidy -diff"
	if ! (cd "$m" && "$GO" mod tidy -diff); then
		echo "go mod tidy: module $m is not tidy (run: cd $m && go mod tidy)" >&2
		exit 1
	fi
done
echo "lint: ok"
