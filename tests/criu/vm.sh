#!/usr/bin/env bash
# tests/criu/vm.sh - the checkpoint e2e tests that this host's kernel cannot
# run, in the pure cgroup-v2 VM of tests/vm (Debian's 6.1 kernel: soft-dirty
# page tracking for --pre-dump; full root capabilities for --lazy-pages),
# with the CRIU of tests/criu/build.sh (the VM sees the host's
# /var/cache/kiln-criu through its read-only root).
#
#   tests/criu/vm.sh [TEST...]     default: the tests listed below
#
# Ends with "N passed, N failed" (tests/e2e/run.sh's line). Environment:
# KILN (default build/kiln), KILN_VM_* (tests/vm/run.sh), E2E_*.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 2
KILN=${KILN:-$REPO/build/kiln}
TESTS=${*:-checkpoint_restore checkpoint_pre_dump_restore checkpoint_lazy_pages checkpoint_restore_new_id checkpoint_tcp_established}
# What CRIU needs that the VM's initramfs does not load by default: the
# sock_diag modules (criu check), conntrack over netlink (netns dumps),
# nf_tables and xtables matches (CRIU's network lock for TCP connections).
export KILN_VM_MODULES="${KILN_VM_MODULES:-} crc32c_generic unix_diag inet_diag tcp_diag udp_diag raw_diag
 netlink_diag af_packet af_packet_diag nf_tables nf_conntrack nf_conntrack_netlink nft_compat xt_mark
 xt_conntrack nft_chain_nat"
export KILN_VM_TIMEOUT=${KILN_VM_TIMEOUT:-1500}
# The v2 VM's PID 1 leaves lo down and has no /dev/fd (bash's <(...)).
# shellcheck disable=SC2086
exec tests/vm/run.sh v2 -- sh -c 'ip link set lo up; [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd;
	exec env KILN="$1" E2E_TEST_TIMEOUT=${E2E_TEST_TIMEOUT:-400} E2E_CMD_TIMEOUT=${E2E_CMD_TIMEOUT:-150} \
		tests/e2e/run.sh test_checkpoint '"$TESTS" vm "$KILN"
