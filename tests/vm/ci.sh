#!/usr/bin/env bash
# tests/vm/ci.sh - CI's VM step (run by tests/run-all.sh after the e2e tests):
# the cgroup e2e tests inside a pure cgroup-v2 VM and inside a systemd VM.
#
#   sudo tests/vm/ci.sh
#
# Installs what is missing (qemu-system-x86, busybox-static; mmdebstrap for
# the systemd root), fetches the kernel and builds the systemd root once
# (cached in /var/cache/kiln-vm), then for each mode runs
#   tests/vm/run.sh MODE -- tests/e2e/run.sh $E2E_VM_TESTS
# (one tests/e2e/run.sh per ';'-separated group of E2E_VM_TESTS, in one VM)
# with KILN=build/kiln of this repo (E2E_SYSTEMD=1 added in the systemd VM).
# Prints "vm-MODE: N passed, N failed" per VM and ends with the total line
# "N passed, N failed"; exit status 1 if a test failed or a VM did not finish.
# A machine that cannot run qemu (not x86_64, not root, no qemu and no apt)
# prints "vm: SKIP: reason" and "0 passed, 0 failed" (exit 0).
#
# Environment:
#   KILN=build/kiln           the runtime under test (must be under this repo
#                             for the systemd VM, which only sees the repo)
#   E2E_VM_TESTS="..."        tests/e2e/run.sh arguments (files or tests),
#                             groups separated by ';'; default test_cgroups
#                             when that file exists (else a lifecycle smoke
#                             set) and test_rootless's cgroup tests
#   KILN_VM_MODES="v2 systemd"
#   KILN_SKIP_DEPS=1          do not apt-get install anything
#   E2E_TEST_TIMEOUT=300 E2E_CMD_TIMEOUT=90   (the VM is emulated: slow)
#   KILN_VM_*                 see tests/vm/run.sh
set -uo pipefail
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
cd "$REPO" || exit 2
# shellcheck source=tests/vm/lib.sh
. "$VM_DIR/lib.sh"

skip() {
	echo "vm: SKIP: $*"
	echo "0 passed, 0 failed"
	exit 0
}
[ "$(uname -m)" = x86_64 ] || skip "not an x86_64 host"
[ "$(id -u)" = 0 ] || skip "not root"

# need_pkgs PKG...: as tests/run-all.sh (apt-get update only when needed)
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || return 1
	echo "apt-get install ${missing[*]}"
	vm_apt install --no-install-recommends "${missing[@]}"
}
if [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
	pkgs="qemu-system-x86 busybox-static"
	[[ " ${KILN_VM_MODES:-v2 systemd} " = *" systemd "* ]] && pkgs="$pkgs mmdebstrap"
	# shellcheck disable=SC2086
	need_pkgs $pkgs || echo "vm: could not install $pkgs" >&2
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
qemu-system-x86_64 -machine help >/dev/null 2>&1 || skip "qemu-system-x86_64 does not run"

KILN_BIN=${KILN:-$REPO/build/kiln}
case $KILN_BIN in /*) ;; *) KILN_BIN=$REPO/$KILN_BIN ;; esac
if [ -z "${E2E_VM_TESTS:-}" ]; then
	if [ -f tests/e2e/test_cgroups.sh ]; then
		E2E_VM_TESTS=test_cgroups
	else
		E2E_VM_TESTS="run_exit_status create_start kill_all delete_stopped exec_basics pause_resume_ps"
	fi
	# rootless with a delegated cgroup: a chowned subtree (v2) or systemd's
	# Delegate=yes (systemd); without delegation (v2)
	[ -f tests/e2e/test_rootless.sh ] &&
		E2E_VM_TESTS+="; test_rootless rootless_cgroup_rules rootless_lifecycle rootless_build_step rootless_delegated_v2"
fi
# one tests/e2e/run.sh per group; the VM's status is the worst of them
vm_cmd="" ngroups=0
IFS=';' read -ra vm_groups <<<"$E2E_VM_TESTS"
for g in "${vm_groups[@]}"; do
	[ -n "${g// /}" ] || continue
	vm_cmd+="bash tests/e2e/run.sh $g || rc=1; "
	ngroups=$((ngroups + 1))
done
vm_cmd="rc=0; ${vm_cmd}exit \$rc"
export E2E_TEST_TIMEOUT=${E2E_TEST_TIMEOUT:-300} E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-90}

total_pass=0 total_fail=0 lines=()
t0=$SECONDS
for mode in ${KILN_VM_MODES:-v2 systemd}; do
	printf '\n=== vm-%s: tests/e2e/run.sh %s\n' "$mode" "$E2E_VM_TESTS"
	log=$(mktemp "${TMPDIR:-/tmp}/kiln-vm-ci.XXXXXX")
	tm=$SECONDS
	extra=()
	[ "$mode" = systemd ] && extra=(E2E_SYSTEMD=1)
	env KILN="$KILN_BIN" "${extra[@]}" bash "$VM_DIR/run.sh" "$mode" -- \
		bash -c "$vm_cmd" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	# one count line per group
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tr -d '\r')
	rm -f "$log"
	if [ "$(grep -c . <<<"$counts")" = "$ngroups" ]; then
		p=$(awk '{s += $1} END {print s}' <<<"$counts")
		f=$(awk '{s += $3} END {print s}' <<<"$counts")
	else
		echo "vm-$mode: the e2e runs did not finish (run.sh exit $rc)"
		p=$(awk '{s += $1} END {print s + 0}' <<<"$counts") f=1
	fi
	[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
	lines+=("vm-$mode: $p passed, $f failed ($((SECONDS - tm)) s)")
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
done

echo
for l in "${lines[@]}"; do echo "$l"; done
echo "vm: $((SECONDS - t0)) s in all"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
