#!/usr/bin/env bash
# tests/vm/run.sh - run a command as root in a qemu VM (Debian 12's 6.1 kernel,
# TCG, no KVM needed) on a pure cgroup-v2 system. See tests/vm/README.md.
#
#   tests/vm/run.sh v2      [--] CMD [ARG...]   the host's root file system
#                                              (9p, read-only + tmpfs overlay),
#                                              busybox sh as PID 1, cgroup2 at
#                                              /sys/fs/cgroup, all controllers
#                                              enabled, cgroup v1 disabled
#   tests/vm/run.sh systemd [--] CMD [ARG...]   a cached minimal Debian 12 root
#                                              with systemd as PID 1 and dbus;
#                                              the host root is at /host and the
#                                              current repo is at its own path
#
# CMD runs in the current directory (same path in the VM), with PATH, HOME and
# the caller's KILN, KILN_* (not KILN_VM_*) and E2E_* variables. Its output is
# run.sh's stdout; run.sh's exit status is CMD's, or 124 when the VM timed
# out, 125 when the VM could not be set up or did not report a status.
#
# Environment:
#   KILN_VM_CACHE=/var/cache/kiln-vm  kernel and systemd root cache
#   KILN_VM_TIMEOUT=1200   seconds before the VM is killed (boot included)
#   KILN_VM_MEM=2560 (MiB)  KILN_VM_SMP=2
#   KILN_VM_CPU=qemu64     qemu -cpu model (qemu64 runs ~20% faster under TCG than
#                          max, whose AVX2 paths in glibc are emulated)
#   KILN_VM_CONSOLE=FILE   keep the VM's console log (kernel, systemd) there;
#                          by default its tail is printed only on failure
#   KILN_VM_BINDS="DIR..." systemd mode: host dirs seen at the same path
#                          (default: the repo this script is in, and $PWD)
#   KILN_VM_MODULES="..."  extra kernel modules to load
#   KILN_VM_KERNEL_PKG=linux-image-6.1.0-N-amd64   a specific kernel package
set -uo pipefail
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
# shellcheck source=tests/vm/lib.sh
. "$VM_DIR/lib.sh"

usage() { echo "usage: $0 v2|systemd [--] CMD [ARG...]" >&2; exit 125; }
[ $# -ge 1 ] || usage
MODE=$1; shift
case $MODE in v2 | systemd) ;; *) usage ;; esac
[ "${1:-}" = -- ] && shift
[ $# -ge 1 ] || usage
[ "$(id -u)" = 0 ] || { vm_log "must run as root (9p export of /)"; exit 125; }
QEMU=$(command -v qemu-system-x86_64) || { vm_log "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"; exit 125; }
BUSYBOX=$(command -v busybox) && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
	{ vm_log "needs a static busybox (apt-get install busybox-static)"; exit 125; }

# Modules =m in Debian's config that the VM or the e2e tests need.
MODULES="virtio_pci 9pnet_virtio 9p overlay virtio_rng veth bridge dummy tun loop
 autofs4 ${KILN_VM_MODULES:-}"

t0=$SECONDS
# one preparer of the cache at a time (parallel runs share it)
mkdir -p "$VM_CACHE" && exec 8>"$VM_CACHE/.lock" && flock -w 1800 8 ||
	{ vm_log "cannot lock $VM_CACHE/.lock"; exit 125; }
vm_kernel || exit 125
SYSROOT=
if [ "$MODE" = systemd ]; then
	# shellcheck source=tests/vm/sysroot.sh
	. "$VM_DIR/sysroot.sh"
	SYSROOT=$(vm_sysroot) || exit 125
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln-vm.XXXXXX") || exit 125
QPID=
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/initrd/lib/modules" "$WORK/initrd/bin" "$WORK/share"
chmod 755 "$WORK" "$WORK/share"

# ---- initramfs: busybox, init.sh, the modules in load order
cp "$BUSYBOX" "$WORK/initrd/bin/busybox"
cp "$VM_DIR/init.sh" "$WORK/initrd/init"
cp "$VM_DIR/kiln-vm.service" "$WORK/initrd/kiln-vm.service"
chmod 755 "$WORK/initrd/init"
mkdir -p "$WORK/initrd"/{proc,sys,dev,host,rw,newroot}
# the dependency walk reads every module: cached per module list
mcache=$KDIR/mods.$(echo $MODULES | md5sum | cut -c1-12)
if [ ! -s "$mcache" ]; then
	# shellcheck disable=SC2086
	vm_modules $MODULES >"$mcache.tmp" && mv "$mcache.tmp" "$mcache" || exit 125
fi
cp "$mcache" "$WORK/mods"
exec 8>&-
while read -r m; do
	cp "$m" "$WORK/initrd/lib/modules/" && basename "$m" >>"$WORK/initrd/modules"
done <"$WORK/mods"
(cd "$WORK/initrd" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 >"$WORK/initrd.img") ||
	{ vm_log "building the initramfs failed"; exit 125; }

# ---- the command, the stage-2 script, the environment
{
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8'
	# the output is a serial tty: no colours, no pager
	echo 'export TERM=dumb SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat'
	while IFS='=' read -r name _; do
		case $name in
		KILN_VM_*) ;;
		KILN | KILN_* | E2E_*) printf 'export %s=%q\n' "$name" "${!name}" ;;
		esac
	done < <(env | grep -E '^(KILN|E2E_)[A-Za-z0-9_]*=' || true)
	printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$WORK/share/cmd.sh"
cp "$VM_DIR/stage2.sh" "$WORK/share/stage2.sh"

APPEND="console=ttyS0 quiet loglevel=4 panic=-1 cgroup_no_v1=all kiln.mode=$MODE"
if [ "$MODE" = systemd ]; then
	APPEND="$APPEND kiln.sysroot=$SYSROOT systemd.unified_cgroup_hierarchy=1 systemd.show_status=0"
fi
# The repository and $PWD stay at their own paths in both VMs, even where
# the VM mounts a fresh tmpfs (a CI clone under /tmp).
binds=${KILN_VM_BINDS:-"$REPO $PWD"}
for b in $binds; do
	b=$(cd "$b" 2>/dev/null && pwd -P) || continue
	[ "$b" = / ] || APPEND="$APPEND kiln.bind=$b"
done

CONSOLE=${KILN_VM_CONSOLE:-$WORK/console.log}
timeout_s=${KILN_VM_TIMEOUT:-1200}
vm_log "booting $MODE VM ($KVER, TCG, ${KILN_VM_SMP:-2} cpus, ${KILN_VM_MEM:-2560} MiB); prepared in $((SECONDS - t0)) s"
tboot=$(date +%s)
# ttyS0: console (log file); ttyS1: the command's output (our stdout)
timeout -k 10 "$timeout_s" "$QEMU" -nodefaults -no-user-config -nographic -no-reboot \
	-machine q35 -accel tcg,thread=multi -cpu "${KILN_VM_CPU:-qemu64}" \
	-smp "${KILN_VM_SMP:-2}" -m "${KILN_VM_MEM:-2560}" \
	-kernel "$VMLINUZ" -initrd "$WORK/initrd.img" -append "$APPEND" \
	-monitor none -serial "file:$CONSOLE" -chardev stdio,id=out,signal=off -serial chardev:out \
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev local,id=kilnvm,path="$WORK/share",security_model=none \
	-device virtio-9p-pci,fsdev=kilnvm,mount_tag=kilnvm \
	-device virtio-rng-pci </dev/null &
QPID=$!
wait "$QPID"
qrc=$?
QPID=
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	vm_log "VM timed out after ${timeout_s} s (KILN_VM_TIMEOUT); console tail:"
	tail -n 30 "$CONSOLE" >&2
	exit 124
fi
if [ ! -f "$WORK/share/status" ]; then
	vm_log "VM ended (qemu exit $qrc) without reporting a status; console tail:"
	tail -n 40 "$CONSOLE" >&2
	exit 125
fi
rc=$(cat "$WORK/share/status")
# the share's files carry the host's clock: boot = qemu start to the command
t1=$(stat -c %Y "$WORK/share/started" 2>/dev/null || echo "$tboot")
t2=$(stat -c %Y "$WORK/share/status")
vm_log "$MODE VM: boot $((t1 - tboot)) s, command $((t2 - t1)) s, total $(($(date +%s) - tboot)) s; exit status $rc"
exit "$rc"
