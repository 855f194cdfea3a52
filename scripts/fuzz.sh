#!/usr/bin/env bash
# Short fuzzing: finds every `func FuzzXxx(` in the root module's *_test.go
# files (nested modules such as bench/ are left out) and fuzzes each target
# for FUZZTIME (default 10s), one target per `go test` as the go command
# requires. Runs every target, then fails if any failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-10s}"
cd "$ROOT"

nested=()
modules="$(bash scripts/modules.sh list nested)"
for m in $modules; do nested+=("./$m/"); done

# "pkgdir<TAB>FuzzName" lines, sorted and unique.
targets="$(
	find . \( -type d \( -name '.*' -o -name '_*' -o -name testdata -o -name vendor -o -name node_modules \) ! -name . -prune \) \
		-o \( -type f -name '*_test.go' -print \) |
		while IFS= read -r f; do
			for n in "${nested[@]}"; do [[ "$f" == "$n"* ]] && continue 2; done
			# A fuzz target is Fuzz, or Fuzz followed by a non-lowercase rune.
			sed -nE 's/^func (Fuzz([^a-z(][A-Za-z0-9_]*)?)\(.*/\1/p' "$f" |
				while IFS= read -r name; do printf '%s\t%s\n' "$(dirname "$f")" "$name"; done
		done | LC_ALL=C sort -u
)"

if [[ -z "$targets" ]]; then
	echo "fuzz: no fuzz targets found, nothing to do"
	exit 0
fi

total=0
failed=()
while IFS=$'\t' read -r dir name; do
	total=$((total + 1))
	echo "==> fuzz $dir $name (fuzztime $FUZZTIME)"
	log=$(mktemp)
	if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$dir" </dev/null 2>&1 | tee "$log"; then
		# Go's fuzzing coordinator has a race at the end of -fuzztime: it may
		# report "context deadline exceeded" and fail although no input
		# failed. A real finding always writes its input under testdata/fuzz.
		# For such a target, fuzz once more for the same number of
		# executions (-fuzztime=Nx has no wall-clock deadline, so the race
		# cannot happen); a real finding fails it.
		if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
			execs="$(grep -oE 'execs: [0-9]+' "$log" | tail -n 1 | tr -dc '0-9')"
			execs="${execs:-0}"
			if ((execs < 10000)); then execs=10000; fi
			echo "fuzz: $name: deadline reached with no failing input; fuzzing it again for ${execs} executions"
			if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="${execs}x" "$dir" </dev/null; then
				failed+=("$dir $name")
			fi
		else
			failed+=("$dir $name")
		fi
	fi
	rm -f "$log"
done <<<"$targets"

if ((${#failed[@]} > 0)); then
	echo "fuzz: ${#failed[@]} of $total targets failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	echo "(a failing input is saved under the package's testdata/fuzz/; rerun it with go test -run=Target/ID)" >&2
	exit 1
fi
echo "fuzz: $total targets ok"
