#!/usr/bin/env bash
# tests/e2e/run.sh - run kiln's end-to-end tests (as root).
#
#   tests/e2e/run.sh [FILE_OR_TEST...]
#     FILE_OR_TEST: a tests/e2e/test_*.sh file (path or basename, with or
#     without .sh) or a test function name (test_foo or foo). Default: all.
#   KILN=/path/to/runtime   binary under test (default build/kiln); the suite
#                           also passes against runc: KILN=$(command -v runc)
#   E2E_TEST_TIMEOUT=90     seconds per test;  E2E_CMD_TIMEOUT=30 per command
#   E2E_VERBOSE=1           print each failing test's log
#   E2E_TIMES=1             print each test's duration (stderr)
#
# Prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per test and
# ends with exactly "N passed, N failed" (skips are counted in neither);
# exit status 1 if any test failed.
set -u
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
cd "$REPO" || exit 2
: "${KILN:=build/kiln}"
. "$E2E_DIR/lib.sh" # normalises KILN to an absolute path, sets RT_NAME

if [ "$(id -u)" != 0 ]; then
	echo "e2e: must run as root (the tests create real containers)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$KILN" ]; then
	echo "e2e: runtime binary not found: $KILN (build it, or set KILN=)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

E2E_RUNID=$$
E2E_CGPARENT=kiln-test-$$
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kiln-e2e.XXXXXX")
chmod 755 "$E2E_TMP"
export E2E_RUNID E2E_CGPARENT E2E_TMP E2E_DIR
: "${E2E_TEST_TIMEOUT:=90}"

finish() {
	local d
	# Our cgroup parent in every hierarchy (children were removed per test).
	for d in /sys/fs/cgroup/"$E2E_CGPARENT" /sys/fs/cgroup/*/"$E2E_CGPARENT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if grep -q " ${E2E_TMP}[/ ]" /proc/self/mountinfo; then
		echo "WARNING: mounts left under $E2E_TMP; not removing it" >&2
	else
		rm -rf --one-file-system "$E2E_TMP"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

make_rootfs "$E2E_TMP/rootfs" || { echo "0 passed, 1 failed"; exit 1; }

# Which files / tests to run.
files=() only=()
for a in "$@"; do
	f=""
	for c in "$a" "$E2E_DIR/$a" "$E2E_DIR/$a.sh" "$E2E_DIR/test_$a.sh"; do
		[ -f "$c" ] && { f=$c; break; }
	done
	if [ -n "$f" ]; then files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); else only+=("test_${a#test_}"); fi
done
if [ ${#files[@]} -eq 0 ]; then
	for f in "$E2E_DIR"/test_*.sh; do files+=("$f"); done
fi

echo "# runtime: $KILN ($RT_NAME): $("$KILN" --version 2>/dev/null | head -n1)"
npass=0 nfail=0 nskip=0 n=0
t_start=$SECONDS
for f in "${files[@]}"; do
	# Test functions of this file, in file order.
	tests=$(grep -oE '^test_[A-Za-z0-9_]+ *\(\)' "$f" | sed 's/ *()//')
	for t in $tests; do
		if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $t "* ]]; then continue; fi
		n=$((n + 1))
		name=${t#test_}
		log=$E2E_TMP/$name.log
		rc=0 t0=${EPOCHREALTIME/./}
		timeout -k 5 "$E2E_TEST_TIMEOUT" bash -c '
			. "$E2E_DIR/lib.sh"
			. "$1" || { echo "$1 did not load"; exit 1; }
			# a test that does not exist (a file that failed to parse) is no pass
			declare -F "test_$2" >/dev/null || { echo "no function test_$2 in $1"; exit 1; }
			e2e_setup "$2" "$3"
			exec 3>&-
			"test_$2"
			exit 0' e2e "$f" "$name" "$n" >"$log" 2>&1 </dev/null || rc=$?
		reason=$(cat "$E2E_TMP/$name/.reason" 2>/dev/null)
		skipr=$(cat "$E2E_TMP/$name/.skip" 2>/dev/null)
		e2e_cleanup "$name"
		[ "${E2E_TIMES:-0}" = 1 ] && echo "# $name $(((${EPOCHREALTIME/./} - t0) / 1000)) ms" >&2
		if [ "$rc" = 0 ] && [ -n "$skipr" ]; then
			echo "SKIP $name: $skipr"
			nskip=$((nskip + 1))
		elif [ "$rc" = 0 ]; then
			echo "PASS $name"
			npass=$((npass + 1))
		else
			[ "$rc" = 124 ] || [ "$rc" = 137 ] && reason="timed out after ${E2E_TEST_TIMEOUT}s${reason:+ ($reason)}"
			[ -n "$reason" ] || reason="exit $rc: $(tail -n 3 "$log" | tr '\n' ' ')"
			echo "FAIL $name: $reason"
			[ "${E2E_VERBOSE:-0}" = 1 ] && sed 's/^/    | /' "$log"
			nfail=$((nfail + 1))
		fi
	done
done
echo "# $n tests in $((SECONDS - t_start))s, $nskip skipped"
echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
