# runtime-tools-conformance/lib.sh - helpers sourced by run.sh and build.sh.
# shellcheck shell=bash

note() { printf 'conformance: %s\n' "$*" >&2; }

# The machine-wide lock directory (/run/lock, else $TMPDIR or /tmp).
lock_dir() {
	if [ -d /run/lock ] && [ -w /run/lock ]; then echo /run/lock; else echo "${TMPDIR:-/tmp}"; fi
}

# need_debs PKG...: apt-get install the packages that are not installed.
# Installs are serialised with the other test scripts' (flock on the same
# lock file); "apt-get update" runs only when the install failed because the
# package lists are missing or stale (a fresh machine or container).
need_debs() {
	local want=() p out rc=0 lock
	for p in "$@"; do
		dpkg-query -W -f '${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || want+=("$p")
	done
	[ ${#want[@]} -gt 0 ] || return 0
	command -v apt-get >/dev/null || { note "need ${want[*]} and there is no apt-get"; return 1; }
	lock=${APT_LOCK:-$(lock_dir)/oci-tools-apt.lock}
	out=$(mktemp "${TMPDIR:-/tmp}/kiln-conformance-apt.XXXXXX") || return 1
	note "apt-get install ${want[*]}"
	(
		flock -w 1800 9 || exit 1
		export DEBIAN_FRONTEND=noninteractive
		get() { apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends "$@" >>"$out" 2>&1; }
		get install "${want[@]}" && exit 0
		grep -Eq 'Unable to locate package|has no installation candidate|404 +Not Found|Failed to fetch' "$out" || exit 1
		get update && get install "${want[@]}"
	) 9>"$lock" || rc=$?
	[ $rc = 0 ] || { note "apt-get install ${want[*]} failed:"; tail -n 15 "$out" >&2; }
	rm -f "$out"
	return $rc
}
