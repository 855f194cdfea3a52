#!/usr/bin/env bash
# Installs Debian packages on demand, only the ones that are missing.
#
#   scripts/apt.sh shellcheck jq         # as a command
#   source scripts/apt.sh; apt_install jq   # as a function
#
# `apt-get update` runs at most once per APT_MAX_AGE seconds (default 6h),
# and again if an install fails on stale package lists. Uses sudo only when
# not root.

APT_STAMP="${APT_STAMP:-${TMPDIR:-/tmp}/forcehttps-apt-update.stamp}"
APT_MAX_AGE="${APT_MAX_AGE:-21600}"

_apt_log() { printf 'apt: %s\n' "$*"; }

_apt_sudo() {
	if [[ "$(id -u)" -eq 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

_apt_fresh() { # FILE: true if FILE exists and is younger than APT_MAX_AGE
	local f="$1" now mtime
	[[ -f "$f" ]] || return 1
	now="$(date +%s)"
	mtime="$(stat -c %Y "$f")"
	((now - mtime < APT_MAX_AGE))
}

_apt_update() { # [force]
	if [[ "${1:-}" != force ]] && { _apt_fresh "$APT_STAMP" || _apt_fresh /var/lib/apt/periodic/update-success-stamp; }; then
		return 0
	fi
	_apt_log "apt-get update"
	_apt_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	touch "$APT_STAMP"
}

_apt_installed() { # PKG (a trailing =version or /release is ignored)
	local p="${1%%=*}"
	p="${p%%/*}"
	[[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]]
}

apt_install() {
	local missing=() p
	for p in "$@"; do
		_apt_installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		_apt_log "already installed: $*"
		return 0
	fi
	_apt_update
	_apt_log "installing: ${missing[*]}"
	local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o=Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}")
	if ! _apt_sudo "${install[@]}"; then
		_apt_log "install failed; refreshing package lists and retrying"
		_apt_update force
		_apt_sudo "${install[@]}"
	fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	if (($# == 0)); then
		echo "usage: $0 package..." >&2
		exit 2
	fi
	apt_install "$@"
fi
