#!/usr/bin/env bash
# runtime-tools-conformance/run.sh - run the OCI runtime-tools validation suite
# (../shared/conformance/run.sh, beside the repository) against kiln.
#
#   runtime-tools-conformance/run.sh [RUNTIME_BINARY] [OUTPUT_DIR]
#     RUNTIME_BINARY  default: build/kiln of this repository
#     OUTPUT_DIR      default: conformance-results/<runtime name> in the repo root
#   Environment: everything ../shared/conformance/run.sh understands (TESTS,
#   SKIP_TESTS, TEST_TIMEOUT, CONFORMANCE_CACHE, ...), plus
#   CONFORMANCE_HARNESS=<path to run.sh> to use another copy of the harness.
#
# Prints the harness's per-test table, then a summary and, as the last line,
# "N passed, N failed" (test programs). Exit status: that of the harness
# (0 once the suite ran, unless STRICT=1; 2 on harness errors).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
RT=${1:-build/kiln}
case "$RT" in /*) ;; */*) RT=$REPO/$RT ;; esac
NAME=$(basename -- "$RT")
OUT=${2:-$REPO/conformance-results/$NAME}
HARNESS=${CONFORMANCE_HARNESS:-}
if [ -z "$HARNESS" ]; then
	for h in "$REPO/../shared/conformance/run.sh" /work/shared/conformance/run.sh; do
		[ -f "$h" ] && { HARNESS=$h; break; }
	done
fi
if [ -z "$HARNESS" ] || [ ! -f "$HARNESS" ]; then
	echo "conformance: harness not found (expected ../shared/conformance/run.sh beside the repo; set CONFORMANCE_HARNESS)" >&2
	echo "0 passed, 1 failed"
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "conformance: must run as root" >&2
	echo "0 passed, 1 failed"
	exit 2
fi
mkdir -p "$OUT"
log=$OUT/run.log
rc=0
bash "$HARNESS" "$RT" "$OUT" 2>"$log.err" | tee "$log" || rc=$?
if ! tail -n1 "$log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
	echo "conformance: the harness did not finish (exit $rc); last errors:" >&2
	tail -n 20 "$log.err" >&2
	echo "0 passed, 1 failed"
	exit "${rc/#0/2}"
fi
# Summary: failing programs by status, then the final count again.
echo "== failing test programs ($NAME):"
awk -F'\t' 'NR > 1 && $9 !~ /^(PASS|SKIP)/ { printf "   %-34s %s\n", $1, $9 }' "$OUT/summary.tsv"
echo "== results in $OUT (tap/<test>.tap, tap/<test>.err, summary.tsv)"
tail -n1 "$log"
exit "$rc"
