# tests/pkgs.sh - sourced by tests/run-all.sh and tests/runc-integration/run.sh.
#
# need_pkgs PKG...: apt-get install the missing ones; "apt-get update" only
# when the install fails for want of package lists (as ../shared/bench/pkgs.sh).
# Serialised by flock on $APT_LOCK (default /run/lock/oci-tools-apt.lock).
need_pkgs() {
	local missing=() p log_f rc=0 lock
	for p in "$@"; do
		dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || { echo "missing packages ${missing[*]} and no apt-get" >&2; return 1; }
	[ -d /run/lock ] && lock=/run/lock/oci-tools-apt.lock || lock=${TMPDIR:-/tmp}/oci-tools-apt.lock
	lock=${APT_LOCK:-$lock}
	echo "apt-get install ${missing[*]}"
	log_f=$(mktemp "${TMPDIR:-/tmp}/kiln-apt.XXXXXX") || return 1
	(
		flock -w 1800 9 || { echo "apt lock busy: $lock" >&2; exit 1; }
		apt=(apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends)
		export DEBIAN_FRONTEND=noninteractive
		"${apt[@]}" install "${missing[@]}" && exit 0
		grep -Eq 'Unable to locate package|has no installation candidate|Failed to fetch|404 +Not Found' "$log_f" || exit 1
		"${apt[@]}" update && "${apt[@]}" install "${missing[@]}"
	) 9>"$lock" >"$log_f" 2>&1 || rc=$?
	[ $rc = 0 ] || { echo "apt-get install ${missing[*]} failed:" >&2; tail -n 20 "$log_f" >&2; }
	rm -f "$log_f"
	return $rc
}
