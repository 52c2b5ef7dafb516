#!/usr/bin/env bash
# runtime-tools-conformance/run.sh - run the OCI runtime-tools validation
# suite (validation/*, one TAP-printing program per test) against kiln or any
# runc-compatible runtime. Run as root; needs nothing beside the repository.
#
#   runtime-tools-conformance/run.sh [RUNTIME] [OUTPUT_DIR]
#     RUNTIME     default build/kiln; a name is looked up in PATH ("runc" and
#                 "crun" are apt-get installed when missing)
#     OUTPUT_DIR  default conformance-results/<runtime name> in the repo root;
#                 gets tap/<test>.tap|.err, summary.tsv, summary.txt, meta.txt
#
# Prints a per-test table, the failing programs and, as its last line,
# "N passed, N failed" (test programs). Exit status 0 once the suite ran
# (1 with STRICT=1 and a failure), 2 when it could not run.
#
# Environment:
#   CONFORMANCE_CACHE  build cache (default /var/cache/kiln-conformance):
#                      the source tarball, Go build cache and the binaries;
#                      the first run fills it (~2 min), later ones reuse it
#   TESTS              test programs to run, space-separated (default: all)
#   SKIP_TESTS         test programs not to run
#   TEST_TIMEOUT       seconds per program (default 120)
#   HIDE_CGROUP2       auto (default) | 1 | 0: on a cgroup "hybrid" host, run
#                      the suite with the cgroup2 mount unmounted inside its
#                      private mount namespace (crun refuses hybrid hosts);
#                      auto does so when a probe container fails only with it
#   CONFORMANCE_LOCK   lock serialising suite runs machine-wide (the tests use
#                      fixed cgroup paths); default /run/lock/oci-conformance.lock
#   STRICT=1           exit 1 when a test program failed
#   RUNTIME_TOOLS_SRC, RUNTIME_TOOLS_VERSION, RUNTIME_TOOLS_SUITES: see build.sh
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# give_up MESSAGE: the suite could not run; keep the last-line contract.
give_up() {
	note "$*"
	echo "0 passed, 1 failed"
	exit 2
}

[ "$(id -u)" = 0 ] || give_up "must run as root (the suite creates real containers)"
RT=${1:-$REPO/build/kiln}
case "$RT" in
*/*) [ -e "$RT" ] || [[ $RT == /* ]] || RT=$REPO/$RT # relative: to $PWD, else to the repo
	RT=$(readlink -f -- "$RT") ;;
*)
	command -v -- "$RT" >/dev/null || case "$RT" in runc | crun) need_debs "$RT" ;; esac
	RT=$(command -v -- "$RT") ;;
esac
{ [ -f "$RT" ] && [ -x "$RT" ]; } || give_up "runtime not found: ${1:-build/kiln}"
NAME=$(basename -- "$RT")
OUT=${2:-$REPO/conformance-results/$NAME}
mkdir -p "$OUT" || give_up "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${CONFORMANCE_CACHE:-/var/cache/kiln-conformance}
need_debs util-linux coreutils findutils tar gzip || give_up "cannot install the tools the suite needs"

bash "$HERE/build.sh" "$CACHE" || give_up "could not build the runtime-tools suite"
CACHE=$(cd "$CACHE" && pwd)

# One suite at a time on the machine: tests use fixed cgroup paths
# (/cgrouptest, testdir/cgrouptest/container). fd 8 stays open in suite.sh.
exec 8>"${CONFORMANCE_LOCK:-$(lock_dir)/oci-conformance.lock}"
flock -w 3600 8 || give_up "another conformance run holds the lock"

WORK=$OUT/work
rm -rf --one-file-system "$WORK"
mkdir -p "$WORK/tmp" || give_up "cannot create $WORK"
cp "$CACHE/bin/runtimetest" "$CACHE"/bin/rootfs-*.tar.gz "$WORK/"
STATE=$(mktemp -d /run/kiln-conformance.XXXXXX) || give_up "cannot create a state directory"
trap 'rm -rf "$STATE"' EXIT

# cgroup2 mounts with controllers below a non-cgroup2 /sys/fs/cgroup: a
# "hybrid" host, which some runtimes (crun 1.8) refuse.
hybrid_cgroup2() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] || return 0
	local m
	for m in $(findmnt -rn -t cgroup2 -o TARGET); do
		# (cgroupfs files have size 0: read it, [ -s ] is always false)
		case "$m" in /sys/fs/cgroup/*) [ -n "$(cat "$m/cgroup.controllers" 2>/dev/null)" ] && echo "$m" ;; esac
	done
	return 0
}

# probe HIDE: can the runtime run a trivial container (HIDE = cgroup2 mounts
# to unmount first, in a throw-away mount namespace)?
probe() {
	local b=$WORK/probe rc=0
	mkdir -p "$b/rootfs" && tar -xzf "$WORK"/rootfs-*.tar.gz -C "$b/rootfs"
	cat >"$b/config.json" <<-'EOF'
	{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "hostname": "probe",
	 "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
	             "env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"]},
	 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
	 "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "ipc"},
	                          {"type": "uts"}, {"type": "network"}]}}
	EOF
	# shellcheck disable=SC2016
	timeout 60 unshare -m --propagation private sh -c \
		'b=$1 rt=$2 st=$3; shift 3; for m; do umount "$m" || exit 99; done
		 cd "$b" && exec "$rt" --root "$st" run "probe-$$" </dev/null' \
		sh "$b" "$RT" "$STATE" "$@" >"$WORK/probe.log" 2>&1 || rc=$?
	for id in $("$RT" --root "$STATE" list -q 2>/dev/null); do "$RT" --root "$STATE" delete --force "$id" >/dev/null 2>&1; done
	rm -rf --one-file-system "$b"
	return $rc
}

HYBRID=$(hybrid_cgroup2 | tr '\n' ' ')
HYBRID=${HYBRID% }
HIDE=
case "${HIDE_CGROUP2:-auto}" in
1 | yes) HIDE=$HYBRID ;;
0 | no) ;;
*) if [ -n "$HYBRID" ] && ! probe; then
	note "probe container failed: $(tail -n 2 "$WORK/probe.log" | tr '\n' ' ')"
	# shellcheck disable=SC2086
	probe $HYBRID && { HIDE=$HYBRID; note "it runs with $HYBRID unmounted: the suite runs that way"; }
fi ;;
esac
CGROUPS="/sys/fs/cgroup is $(stat -f -c %T /sys/fs/cgroup)${HYBRID:+, hybrid (cgroup2 with controllers at ${HYBRID% })}"
[ -z "$HIDE" ] || CGROUPS="$CGROUPS; cgroup2 unmounted in the suite's mount namespace"

{
	echo "runtime: $RT"
	"$RT" --version 2>&1 | sed 's/^/  /'
	echo "runtime-tools: $(cat "$CACHE/bin/source")"
	echo "build: $(cat "$CACHE/bin/stamp")"
	echo "kernel: $(uname -r)"
	echo "cgroups: $CGROUPS"
	echo "mount namespace: private (unshare -m); state: --root $STATE"
	echo "timeout per test: ${TEST_TIMEOUT:-120}s"
	echo "started: $(date -u +%FT%TZ)"
} >"$OUT/meta.txt"

# The suite runs in a private mount namespace: linux_ns_itype runs a
# container without a mount namespace, and the mounts such runs leave behind
# (rootfs, /proc, /dev, /sys) vanish with the namespace.
rc=0
unshare -m --propagation private -- env RT="$RT" OUT="$OUT" WORK="$WORK" STATE="$STATE" \
	TESTS_DIR="$CACHE/bin/tests" HIDE="$HIDE" TEST_TIMEOUT="${TEST_TIMEOUT:-120}" \
	bash "$HERE/suite.sh" || rc=$?
last=$(tail -n1 "$OUT/summary.txt" 2>/dev/null)
[[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]] || give_up "the suite did not finish (exit $rc)"
echo "== failing test programs ($NAME):"
awk -F'\t' 'NR > 1 && $9 !~ /^(PASS|SKIP)/ { printf "   %-34s %s\n", $1, $9 }' "$OUT/summary.tsv"
echo "== results in $OUT (tap/<test>.tap|.err, summary.tsv, meta.txt)"
echo "$last"
[ "${STRICT:-0}" = 1 ] && [ "${last#*passed, }" != "0 failed" ] && exit 1
exit 0
