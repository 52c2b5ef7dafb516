#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer harnesses (clang, ASan+UBSan) and
# run each one over its seed corpus and then on new inputs.
#
#   tests/fuzz/run.sh [HARNESS...]     (default: all; names as in corpus/)
#
#   FUZZ_SECONDS=12        seconds per harness (5 harnesses: a 60 s smoke run)
#   FUZZ_RUNS=N            run N inputs per harness instead (long campaigns)
#   FUZZ_TIMEOUT=10        seconds one input may take (wall clock: raise it
#                          for a nice'd campaign on a busy host)
#   FUZZ_BUILD_DIR=build-fuzz
#   FUZZ_OUT=DIR           keep the grown corpora and crash inputs there
#                          (default: a temporary directory, removed unless
#                          something crashed)
#
# Prints "PASS fuzz_NAME: N execs, cov C ft F" or "FAIL fuzz_NAME: ..." per
# harness and ends with exactly "N passed, N failed". New inputs are written to
# the work directory, never into tests/fuzz/corpus (add a crash input there by
# hand, with its fix, as a regression seed).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
ALL="spec process state mount_options seccomp"
harnesses=${*:-$ALL}

dict_of() {
	case $1 in
	state) echo tests/fuzz/state.dict ;;
	mount_options) echo tests/fuzz/mount_options.dict ;;
	*) echo tests/fuzz/json.dict ;;
	esac
}

count=0
for h in $harnesses; do count=$((count + 1)); done
if ! command -v clang++ >/dev/null; then
	echo "fuzz: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
	echo "0 passed, $count failed"
	exit 1
fi
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang CXX=clang++ meson setup "$BUILD" -Dfuzz=true -Dstatic_libs=false -Dtests=false -Db_lto=false >/dev/null ||
		{ echo "fuzz: meson setup $BUILD failed" >&2; echo "0 passed, $count failed"; exit 1; }
fi
targets=()
for h in $harnesses; do targets+=("tests/fuzz/fuzz-${h//_/-}"); done
ninja -C "$BUILD" "${targets[@]}" >/dev/null ||
	{ echo "fuzz: build of $BUILD failed" >&2; echo "0 passed, $count failed"; exit 1; }

out=${FUZZ_OUT:-}
keep=1
[ -n "$out" ] || { out=$(mktemp -d "${TMPDIR:-/tmp}/kiln-fuzz.XXXXXX"); keep=0; }
mkdir -p "$out"
if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="${FUZZ_SECONDS:-12}"); fi

npass=0 nfail=0
for h in $harnesses; do
	bin=$BUILD/tests/fuzz/fuzz-${h//_/-}
	mkdir -p "$out/$h"
	log=$out/$h.log
	# UBSan findings abort (the build has -fno-sanitize-recover); leaks count,
	# but for the ones tests/fuzz/NAME.lsan.supp documents in a library.
	supp=
	[ ! -f "tests/fuzz/$h.lsan.supp" ] || supp=suppressions=$REPO/tests/fuzz/$h.lsan.supp
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} LSAN_OPTIONS=${LSAN_OPTIONS:-$supp} "$bin" "${limit[@]}" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 \
		-print_final_stats=1 -dict="$(dict_of "$h")" -artifact_prefix="$out/$h-" \
		"$out/$h" "tests/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	stats=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1 | sed 's/: / /g')
	crashes=$(ls "$out/$h"-crash-* "$out/$h"-leak-* "$out/$h"-timeout-* "$out/$h"-oom-* 2>/dev/null)
	if [ "$rc" = 0 ] && [ -z "$crashes" ] && [ -n "$execs" ]; then
		echo "PASS fuzz_$h: $execs execs, $stats"
		npass=$((npass + 1))
	else
		echo "FAIL fuzz_$h: exit $rc${crashes:+, inputs: $(echo $crashes)} (log $log)"
		grep -m5 -E 'ERROR|SUMMARY|runtime error' "$log" | sed 's/^/    | /'
		nfail=$((nfail + 1))
		keep=1
	fi
done
[ "$keep" = 1 ] && echo "# fuzz work directory: $out" || rm -rf "$out"
echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
