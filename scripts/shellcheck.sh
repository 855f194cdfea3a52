#!/usr/bin/env bash
# Lints every shell script of the repository with shellcheck: each *.sh
# file that git tracks or that is untracked but not ignored (every *.sh
# outside hidden directories when there is no git). Installs shellcheck
# first if it is missing (Debian package, through scripts/apt.sh).
#
#   bash scripts/shellcheck.sh            # every script
#   bash scripts/shellcheck.sh FILE...    # only these
#
# The dialect comes from each script's shebang (sh, bash), so a
# POSIX sh script is held to POSIX.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v shellcheck >/dev/null 2>&1; then
	bash scripts/apt.sh shellcheck
fi

files=()
if (($# > 0)); then
	files=("$@")
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	while IFS= read -r -d '' f; do
		[[ -f "$f" ]] && files+=("$f") # tracked but deleted files are listed too
	done < <(git ls-files -z --cached --others --exclude-standard -- '*.sh')
else
	while IFS= read -r -d '' f; do
		files+=("${f#./}")
	done < <(find . \( -type d -name '.?*' -prune \) -o \( -type f -name '*.sh' -print0 \))
fi

if ((${#files[@]} == 0)); then
	echo "shellcheck: no shell scripts found" >&2
	exit 1
fi

echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#files[@]} files"
# -x follows `source`d files; --source-path=SCRIPTDIR resolves them next
# to the script that sources them.
shellcheck -x --source-path=SCRIPTDIR "${files[@]}"
echo "shellcheck: ok"
