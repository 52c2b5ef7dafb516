#!/usr/bin/env bash
# runtime-tools-conformance/suite.sh - the test loop of run.sh, which starts
# it in a private mount namespace with RT, OUT, WORK, STATE, TESTS_DIR, HIDE
# and TEST_TIMEOUT set (TESTS and SKIP_TESTS select programs). Not meant to
# be run by hand.
#
# Each program runs in $WORK (it copies ./runtimetest and untars
# ./rootfs-<arch>.tar.gz into bundles under TMPDIR=$WORK/tmp) with
# RUNTIME=$WORK/runtime, a wrapper adding "--root $STATE", so that what a
# program leaves behind can be force-deleted without touching other users'
# containers. Writes OUT/tap/*, OUT/summary.tsv and OUT/summary.txt, whose
# last line is "N passed, N failed".
set -uo pipefail
export LC_COLLATE=C # run the programs in byte order of their names
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

for m in $HIDE; do umount "$m" 2>/dev/null || umount -l "$m" || exit 2; done

printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$(printf %q "$RT")" "$(printf %q "$STATE")" >"$WORK/runtime"
chmod 755 "$WORK/runtime"

# umount_below DIR: lazily unmount everything mounted under DIR, deepest first.
umount_below() {
	findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}

# tidy: delete what the last program left: containers, mounts, bundles.
tidy() {
	local id
	for id in $("$RT" --root "$STATE" list -q 2>/dev/null); do
		"$RT" --root "$STATE" delete --force "$id" >/dev/null 2>&1
	done
	umount_below "$WORK/tmp"
	find "$WORK/tmp" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} + 2>/dev/null
}

# The cgroups the tests create (AbsCgroupPath /cgrouptest, RelCgroupPath
# testdir/cgrouptest/container below the runtime's own cgroup), children
# before parents, in every mounted hierarchy.
test_cgroups() {
	local m
	for m in $(findmnt -rn -t cgroup,cgroup2 -o TARGET); do
		find "$m" -maxdepth 8 -depth -type d \( -name cgrouptest -o -name testdir \
			-o -path '*/testdir/cgrouptest/container' \) 2>/dev/null
	done
}
cgroups_before=$(test_cgroups)

selected() {
	[ -z "${TESTS:-}" ] || [[ " $TESTS " == *" $1 "* ]] || return 1
	[[ " ${SKIP_TESTS:-} " != *" $1 "* ]]
}

mkdir -p "$OUT/tap"
rm -f "$OUT"/tap/*
row() { printf '%-34s %4s %6s %4s %4s %5s %s\n' "$@"; }
printf 'test\tok\tnot_ok\tskip\ttodo\tplan\texit\tseconds\tstatus\n' >"$OUT/summary.tsv"
{
	row TEST OK NOT_OK SKIP TODO SECS STATUS
	row ---- -- ------ ---- ---- ---- ------
} | tee "$OUT/summary.txt"

passed=0 failed=0 skipped=0 ran=0 began=$SECONDS
for prog in "$TESTS_DIR"/*; do
	t=$(basename "$prog")
	selected "$t" || continue
	ran=$((ran + 1))
	t0=$EPOCHREALTIME rc=0
	(cd "$WORK" && RUNTIME="$WORK/runtime" TMPDIR="$WORK/tmp" \
		exec timeout --kill-after=10 "$TEST_TIMEOUT" "$prog") \
		</dev/null >"$OUT/tap/$t.tap" 2>"$OUT/tap/$t.err" || rc=$?
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	tidy
	IFS=$'\t' read -r ok not_ok skip todo plan status < <(awk -v rc="$rc" -f "$HERE/tap-status.awk" "$OUT/tap/$t.tap")
	case "$status" in
	PASS*) passed=$((passed + 1)) ;;
	SKIP) passed=$((passed + 1)) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$ok" "$not_ok" "$skip" "$todo" "$plan" "$rc" "$secs" "$status" >>"$OUT/summary.tsv"
	row "$t" "$ok" "$not_ok" "$skip" "$todo" "$secs" "$status" | tee -a "$OUT/summary.txt"
done

# Remove the test cgroups this run created (rmdir only succeeds when empty).
test_cgroups | while read -r d; do
	grep -qxF -- "$d" <<<"$cgroups_before" || rmdir "$d" 2>/dev/null
done

[ "$ran" -gt 0 ] || { echo "no test program selected" >&2; exit 2; }
{
	echo "$ran test programs in $((SECONDS - began))s; $skipped SKIP (every result skipped) counted as passed"
	echo "$passed passed, $failed failed"
} | tee -a "$OUT/summary.txt"
