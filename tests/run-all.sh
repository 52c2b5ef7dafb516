#!/usr/bin/env bash
# tests/run-all.sh - THE test command of kiln (run as root on Debian 12):
#
#   sudo tests/run-all.sh
#
# 1. installs the build and test dependencies that are missing (apt-get);
# 2. builds: meson setup build -Dwerror=true && ninja -C build;
# 3. runs the Catch2 unit tests (build/tests/kiln-unit), counted per test case;
# 4. builds (once; cached) a CRIU that works on this kernel for the
#    checkpoint tests (tests/criu/build.sh), then runs the end-to-end suite
#    tests/e2e/run.sh against build/kiln;
# 4b. runs the benchmark's smoke mode (bench/run.sh --smoke), counted: it fails
#    only on failed ops or leftovers, never on timing;
# 4c. runs runc 1.1.5's own integration suite (tests/runc-integration/run.sh,
#    runc's tests/integration/*.bats from Debian's source package) against
#    build/kiln, added to the totals;
# 4d. runs each libFuzzer harness (tests/fuzz/run.sh: clang, ASan+UBSan,
#    build-fuzz/) for 12 s, 60 s in all; one test per harness in the totals;
# 5. runs the cgroup e2e tests in a pure cgroup-v2 VM and in a systemd VM
#    (tests/vm/ci.sh: qemu, TCG; about 10 min), and the checkpoint tests
#    the host kernel may not run in the v2 VM (tests/criu/vm.sh, 1-2 min),
#    added to the totals;
# 6. runs kiln under real engines (tests/engines/run.sh: private dockerd,
#    podman, containerd, containerd's CRI plugin with tests/cri/'s client,
#    the workloads with numbers against runc and crun; about 10 min), added
#    to the totals;
# 7. runs the runtime-tools conformance suite (runtime-tools-conformance/run.sh):
#    reported on its own line "conformance: N passed, N failed", NOT added to
#    the totals and NOT failing the run (kiln does not pass all of it yet).
#
# The last line is exactly "N passed, N failed" (unit test cases + e2e tests
# + benchmark smoke tests + runc suite tests + fuzz harnesses + VM e2e tests);
# the exit status is non-zero if the build failed or any unit/e2e test failed.
#
# Environment:
#   KILN_SKIP_BENCH=1         skip step 4b (bench/run.sh --smoke)
#   KILN_SKIP_RUNC_SUITE=1    skip step 4c (KILN_RUNC_SUITE_* passed on)
#   KILN_SKIP_FUZZ=1          skip step 4d (FUZZ_* passed on to tests/fuzz/run.sh)
#   KILN_SKIP_VM=1            skip step 5 (tests/vm/ci.sh; KILN_VM_* passed on)
#   KILN_SKIP_CRIU=1          do not build/cache CRIU for the checkpoint tests
#                             (tests/criu/build.sh; KILN_CRIU_* passed on)
#   KILN_SKIP_CRIU_VM=1       do not run the pre-dump/lazy-pages tests in the VM
#   KILN_SKIP_ENGINES=1       skip step 6 (ENG_* passed on: tests/engines/run.sh)
#   KILN_SKIP_CONFORMANCE=1   skip step 7
#   KILN_SKIP_DEPS=1          do not apt-get anything
#   KILN_BUILD_DIR=build      build directory
#   KILN_CONFORMANCE_STRICT=1 count conformance failures as a failure of the run
#   E2E_*                     passed on to tests/e2e/run.sh (see there)
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
BUILD=${KILN_BUILD_DIR:-build}
PKGS="meson ninja-build pkg-config g++ libyajl-dev libcli11-dev libseccomp-dev libcap-dev
 libmnl-dev catch2 libsystemd-dev busybox-static iproute2 python3 python3-jsonschema util-linux"

say() { printf '\n=== %s\n' "$*"; }

. "$REPO/tests/pkgs.sh" # need_pkgs

if [ "$(id -u)" != 0 ]; then
	echo "run-all: must run as root (the e2e and conformance tests create real containers)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

total_pass=0 total_fail=0
# counted_suite NAME WHAT CMD...: runs CMD (output shown), takes its last
# "N passed, N failed" line into suite_pass/suite_fail (0/1 when it has none),
# prints "NAME: ..." and adds them to the totals.
counted_suite() {
	local name=$1 what=$2 log line
	shift 2
	log=$(mktemp "${TMPDIR:-/tmp}/kiln-$name-log.XXXXXX")
	"$@" 2>&1 | tee "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
	rm -f "$log"
	if [ -n "$line" ]; then
		suite_pass=${line%% passed*}
		suite_fail=${line#*passed, }
		suite_fail=${suite_fail%% failed}
	else
		echo "run-all: $what did not finish"
		suite_pass=0 suite_fail=1
	fi
	echo "$name: $suite_pass passed, $suite_fail failed"
	total_pass=$((total_pass + suite_pass)) total_fail=$((total_fail + suite_fail))
}
fatal() {
	echo "run-all: $*" >&2
	echo "$total_pass passed, $((total_fail + 1)) failed"
	exit 1
}

# ------------------------------------------------------------------- deps ---
if [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
	say "dependencies"
	# shellcheck disable=SC2086
	need_pkgs $PKGS || fatal "could not install the build dependencies"
	if [ "${KILN_SKIP_FUZZ:-0}" != 1 ]; then
		need_pkgs clang libclang-rt-14-dev || fatal "could not install clang for the fuzz harnesses"
	fi
fi

# ------------------------------------------------------------------ build ---
say "build ($BUILD)"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" -Dwerror=true || fatal "meson setup failed"
else
	meson configure "$BUILD" -Dwerror=true >/dev/null 2>&1 || true
fi
ninja -C "$BUILD" || fatal "build failed"
KILN_BIN=$REPO/$BUILD/kiln
[ -x "$KILN_BIN" ] || fatal "no $BUILD/kiln after the build"

# ------------------------------------------------------------------- unit ---
say "unit tests ($BUILD/tests/kiln-unit)"
UNIT=$BUILD/tests/kiln-unit
unit_pass=0 unit_fail=0
if [ -x "$UNIT" ]; then
	ulog=$(mktemp "${TMPDIR:-/tmp}/kiln-unit.XXXXXX")
	"$UNIT" 2>&1 | tee "$ulog"
	urc=${PIPESTATUS[0]}
	# Catch2 v2 summaries:
	#   All tests passed (N assertions in M test cases)
	#   test cases: M | P passed | F failed       (also "| S skipped" in v3)
	if line=$(grep -E '^All tests passed \([0-9]+ assertions? in [0-9]+ test cases?\)' "$ulog" | tail -n1) && [ -n "$line" ]; then
		unit_pass=$(sed -E 's/.* in ([0-9]+) test cases?\).*/\1/' <<<"$line")
	elif line=$(grep -E '^test cases: *[0-9]+' "$ulog" | tail -n1) && [ -n "$line" ]; then
		unit_pass=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
		unit_fail=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
		[ -n "$unit_pass" ] || unit_pass=0
		# "test cases: 3 | 3 failed" has no passed field
		[ -n "$unit_fail" ] || unit_fail=0
	else
		echo "run-all: could not parse the unit test summary (exit $urc)"
		unit_fail=1
	fi
	[ "$urc" = 0 ] || [ "$unit_fail" -gt 0 ] || unit_fail=1
	rm -f "$ulog"
else
	echo "run-all: $UNIT not built"
	unit_fail=1
fi
echo "unit: $unit_pass passed, $unit_fail failed"
total_pass=$((total_pass + unit_pass)) total_fail=$((total_fail + unit_fail))

# ------------------------------------------------------------------- criu ---
# A CRIU that works on this kernel, for the checkpoint tests only (kiln does
# not need CRIU to build; it loads libcriu at checkpoint/restore time).
# tests/criu/build.sh builds Debian's criu 4.x source once into
# /var/cache/kiln-criu (about 2-3 min on 2 cores), then finds it in < 1 s.
# KILN_SKIP_CRIU=1 skips this: tests/e2e/test_checkpoint.sh then uses a
# working criu in PATH or skips its CRIU tests, saying why. A failed build
# counts as one failure.
criu_line="criu: skipped (KILN_SKIP_CRIU=1)"
if [ "${KILN_SKIP_CRIU:-0}" != 1 ]; then
	say "CRIU for the checkpoint tests (tests/criu/build.sh, cached)"
	criu_prefix=$(timeout 1800 bash tests/criu/build.sh | tail -n1)
	if [ -n "$criu_prefix" ] && [ -x "$criu_prefix/sbin/criu" ]; then
		criu_line="criu: $("$criu_prefix/sbin/criu" --version 2>/dev/null | head -n1) ($criu_prefix)"
		export KILN_CRIU=$criu_prefix
	else
		criu_line="criu: build failed (see above)"
		total_fail=$((total_fail + 1))
	fi
	echo "$criu_line"
fi
# --------------------------------------------------------------- criu end ---

# -------------------------------------------------------------------- e2e ---
say "end-to-end tests (tests/e2e/run.sh, KILN=$BUILD/kiln)"
# test_rootless.sh: newuidmap/newgidmap, and rootless podman with slirp4netns
# (without them those tests skip)
if [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
	need_pkgs uidmap podman slirp4netns || echo "run-all: could not install uidmap, podman, slirp4netns (test_rootless skips what needs them)"
fi
counted_suite e2e "the e2e suite" env KILN="$KILN_BIN" bash tests/e2e/run.sh
e2e_pass=$suite_pass e2e_fail=$suite_fail

# ------------------------------------------------------------------ bench ---
# The benchmark's smoke mode (bench/run.sh --smoke: a few interleaved rounds of
# every op, a 10-exec storm, 20 creates, list/state, leftover checks; kiln only).
# Its "bench: N passed, N failed" counts are added to the totals: a test fails on
# a failed op or a leftover (container, state dir, cgroup, process, mount), never
# on timing. KILN_SKIP_BENCH=1 skips it.
bench_line="bench: skipped (KILN_SKIP_BENCH=1)"
if [ "${KILN_SKIP_BENCH:-0}" != 1 ]; then
	say "benchmark smoke run (bench/run.sh --smoke; fails on failed ops or leftovers, never on timing)"
	blog=$(mktemp "${TMPDIR:-/tmp}/kiln-bench-log.XXXXXX")
	KILN_BUILD_DIR=$BUILD timeout -k 10 900 bash bench/run.sh --smoke 2>&1 | tee "$blog"
	bench_pass="" bench_fail=""
	read -r bench_pass bench_fail < <(sed -nE 's/^bench: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$blog" | tail -n1)
	rm -f "$blog"
	if [ -z "$bench_fail" ]; then
		echo "run-all: the benchmark smoke run did not finish"
		bench_pass=0 bench_fail=1
	fi
	bench_line="bench: $bench_pass passed, $bench_fail failed"
	echo "$bench_line"
	total_pass=$((total_pass + bench_pass)) total_fail=$((total_fail + bench_fail))
fi

# ------------------------------------------------------- runc's own suite ---
runc_line="runc-integration: skipped (KILN_SKIP_RUNC_SUITE=1)"
if [ "${KILN_SKIP_RUNC_SUITE:-0}" != 1 ]; then
	say "runc 1.1.5's integration suite (tests/runc-integration/run.sh, RUNC=$BUILD/kiln)"
	rlog=$(mktemp "${TMPDIR:-/tmp}/kiln-runc-suite-log.XXXXXX")
	RUNC=$KILN_BIN bash tests/runc-integration/run.sh 2>&1 | tee "$rlog"
	r=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$rlog" | tail -n1)
	runc_line=$(grep -E '^runc-integration \(' "$rlog" | tail -n1)
	rm -f "$rlog"
	if [ -n "$r" ]; then
		runc_pass=${r%% passed*}
		runc_fail=${r#*passed, }
		runc_fail=${runc_fail%% failed}
	else
		runc_line="runc-integration: did not finish"
		echo "run-all: $runc_line"
		runc_pass=0 runc_fail=1
	fi
	total_pass=$((total_pass + runc_pass)) total_fail=$((total_fail + runc_fail))
fi

# ------------------------------------------------------------------- fuzz ---
fuzz_line="fuzz: skipped (KILN_SKIP_FUZZ=1)"
if [ "${KILN_SKIP_FUZZ:-0}" != 1 ]; then
	say "fuzz harnesses (tests/fuzz/run.sh, ASan+UBSan)"
	counted_suite fuzz "the fuzz run" bash tests/fuzz/run.sh
	fuzz_line="fuzz: $suite_pass passed, $suite_fail failed"
fi

# --------------------------------------------------------------------- vm ---
vm_line="vm: skipped (KILN_SKIP_VM=1)"
if [ "${KILN_SKIP_VM:-0}" != 1 ]; then
	say "cgroup v2 and systemd VMs (tests/vm/ci.sh)"
	counted_suite vm "the VM tests" env KILN="$KILN_BIN" bash tests/vm/ci.sh
	vm_line="vm: $suite_pass passed, $suite_fail failed"
fi

# ---------------------------------------------------------------- criu-vm ---
# The checkpoint tests this host's kernel may not run (pre-dump needs
# soft-dirty tracking, lazy migration CAP_SYS_RESOURCE), in the 6.1 VM with
# the cached CRIU (tests/criu/vm.sh; ~1-2 min). Skipped with KILN_SKIP_VM=1,
# KILN_SKIP_CRIU=1 or KILN_SKIP_CRIU_VM=1, or when no CRIU was built.
criu_vm_line="criu-vm: skipped"
if [ "${KILN_SKIP_VM:-0}" != 1 ] && [ "${KILN_SKIP_CRIU:-0}" != 1 ] && [ "${KILN_SKIP_CRIU_VM:-0}" != 1 ] &&
	[ -n "${KILN_CRIU:-}" ]; then
	say "checkpoint tests in the 6.1 VM (tests/criu/vm.sh)"
	cvlog=$(mktemp "${TMPDIR:-/tmp}/kiln-criu-vm-log.XXXXXX")
	KILN=$KILN_BIN bash tests/criu/vm.sh checkpoint_pre_dump_restore checkpoint_lazy_pages 2>&1 | tee "$cvlog"
	cv_pass="" cv_fail=""
	read -r cv_pass cv_fail < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$cvlog" | tail -n1)
	rm -f "$cvlog"
	if [ -z "$cv_fail" ]; then
		echo "run-all: the checkpoint VM tests did not finish"
		cv_pass=0 cv_fail=1
	fi
	criu_vm_line="criu-vm: $cv_pass passed, $cv_fail failed"
	echo "$criu_vm_line"
	total_pass=$((total_pass + cv_pass)) total_fail=$((total_fail + cv_fail))
fi
# ------------------------------------------------------------ criu-vm end ---

# ------------------------------------------------------------------- docs ---
# (issue 17) What a user gets besides the binary: the manual against the real
# command line, the bash/zsh/fish completions loaded in each shell, contrib/
# accepted by containerd and podman, `meson install` (DESTDIR), and the Debian
# package (dpkg-buildpackage, cached by source hash under $BUILD/deb, then
# apt-get install into a fresh Debian 12 by mmdebstrap): tests/docs/run.sh.
# Counted in the totals. KILN_SKIP_DOCS=1 skips it all, KILN_SKIP_DEB=1 the
# package, KILN_SKIP_DEB_CHROOT=1 only the chroot install.
docs_line="docs: skipped (KILN_SKIP_DOCS=1)"
if [ "${KILN_SKIP_DOCS:-0}" != 1 ]; then
	say "manual, completions, contrib, install, Debian package (tests/docs/run.sh)"
	if [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
		need_pkgs groff-base man-db bash-completion zsh fish dpkg-dev debhelper mmdebstrap containerd podman ||
			echo "run-all: could not install all docs test dependencies (tests/docs/run.sh reports what is missing)"
	fi
	counted_suite docs "the docs tests" env KILN="$KILN_BIN" KILN_BUILD_DIR="$BUILD" bash tests/docs/run.sh
	docs_line="docs: $suite_pass passed, $suite_fail failed"
fi
# --------------------------------------------------------------- docs end ---

# ---------------------------------------------------------------- engines ---
# (issue 17) kiln under docker, podman, containerd (ctr and CRI) and the
# workloads, each engine a private instance, runc as the reference (a failure
# runc shares is reported as the environment's and not counted); the table
# of scenarios and the workload numbers (kiln, runc, crun) are printed.
# tests/engines/run.sh installs its own packages (docker.io, podman, conmon,
# catatonit, containerd, crun, python3-grpcio, python3-grpc-tools, ...).
# Counted in the totals. KILN_SKIP_ENGINES=1 skips it.
engines_line="engines: skipped (KILN_SKIP_ENGINES=1)"
if [ "${KILN_SKIP_ENGINES:-0}" != 1 ]; then
	say "engines: docker, podman, containerd, CRI, workloads (tests/engines/run.sh)"
	counted_suite engines "the engine suites" env KILN="$KILN_BIN" KILN_BUILD_DIR="$BUILD" bash tests/engines/run.sh
	engines_line="engines: $suite_pass passed, $suite_fail failed"
fi
# ------------------------------------------------------------ engines end ---

# ------------------------------------------------------------ conformance ---
conf_line="conformance: skipped (KILN_SKIP_CONFORMANCE=1)"
if [ "${KILN_SKIP_CONFORMANCE:-0}" != 1 ]; then
	say "runtime-tools conformance (runtime-tools-conformance/run.sh; not counted in the totals)"
	clog=$(mktemp "${TMPDIR:-/tmp}/kiln-conf-log.XXXXXX")
	bash runtime-tools-conformance/run.sh "$KILN_BIN" 2>&1 | tee "$clog"
	c=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$clog" | tail -n1)
	rm -f "$clog"
	if [ -n "$c" ]; then
		conf_line="conformance: $c"
		if [ "${KILN_CONFORMANCE_STRICT:-0}" = 1 ]; then
			cf=${c#*passed, }
			cf=${cf%% failed}
			[ "$cf" = 0 ] || total_fail=$((total_fail + 1))
		fi
	else
		conf_line="conformance: did not run (harness error, see above)"
	fi
fi

# ---------------------------------------------------------------- summary ---
say "summary"
echo "unit: $unit_pass passed, $unit_fail failed"
echo "e2e: $e2e_pass passed, $e2e_fail failed"
echo "$bench_line"
echo "$runc_line"
echo "$fuzz_line"
echo "$vm_line"
echo "$criu_line"
echo "$criu_vm_line"
echo "$docs_line"
echo "$engines_line"
echo "$conf_line"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
