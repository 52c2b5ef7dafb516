#!/usr/bin/env bash
# tests/kill9-leftovers.sh - what kill -9 of the runtime during `create` and
# during a foreground `run` leaves behind after `delete -f`, for kiln and runc.
#
#   sudo tests/kill9-leftovers.sh [POINTS]      (default 60)
#   KILN=build/kiln RUNC=/usr/sbin/runc         the two runtimes
#
# Runs tests/e2e/test_teardown.sh's kill9_create_leaves_nothing and
# kill9_run_leaves_nothing with KILL_POINTS=POINTS against each: POINTS
# creates (runs), each killed with SIGKILL at a random delay in [0, one
# create's (run -d's) duration], then `delete -f`, then a look for cgroup dirs
# under the test's cgroup parent, state dirs, mounts and processes left.
# Prints one line per runtime and command:
#   kiln create: 0 of 60 kill points left something behind (delete -f failed 0 times)
# Exit status 1 when kiln left anything (runc's count is only reported).
set -u
cd "$(dirname "$0")/.." || exit 2
points=${1:-60}
: "${KILN:=build/kiln}" "${RUNC:=$(command -v runc || echo /usr/sbin/runc)}"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
for rt in "$KILN" "$RUNC"; do
	[ -x "$rt" ] || { echo "$rt: not found" >&2; status=1; continue; }
	KILN=$rt KILL_POINTS=$points KILL9_REPORT=$report E2E_TEST_TIMEOUT=$((points * 10 + 60)) E2E_VERBOSE=${E2E_VERBOSE:-0} \
		tests/e2e/run.sh test_teardown kill9_create_leaves_nothing kill9_run_leaves_nothing >&2 || status=1
done
while read -r name cmd left failed n; do
	echo "$name $cmd: $left of $n kill points left something behind (delete -f failed $failed times)"
	[ "$name" != kiln ] || [ "$left $failed" = "0 0" ] || status=1
done <"$report"
[ "$(grep -c '^kiln ' "$report")" = 2 ] || status=1
exit $status
