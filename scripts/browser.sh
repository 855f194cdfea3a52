#!/usr/bin/env bash
# Installs the headless browser the browser tests drive: Debian's chromium
# (and a font, so that screenshots show text rather than boxes).
#
#   bash scripts/browser.sh
#
# Idempotent: packages already installed are left alone (scripts/apt.sh).
# The tests look for `chromium` on PATH, or at $CHROMIUM when it is set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$ROOT/scripts/apt.sh" chromium fonts-dejavu-core

if [[ -n "${CHROMIUM:-}" ]]; then
	bin="$CHROMIUM"
else
	bin="$(command -v chromium || true)"
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
	echo "browser: chromium is not on PATH after the install" >&2
	exit 1
fi
echo "browser: $("$bin" --version 2>/dev/null || echo "$bin")"
