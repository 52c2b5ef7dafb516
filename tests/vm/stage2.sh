#!/bin/sh
# tests/vm/stage2.sh - runs the command in the VM (see README.md).
# v2: this is PID 1 (busybox sh, after switch_root); systemd: the ExecStart of
# kiln-vm.service (argument "systemd"). Runs /kiln-vm/cmd.sh (written by
# run.sh) with its output on the second serial port (run.sh's stdout), writes
# its exit status to /kiln-vm/status (the host reads it) and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec </dev/null
stty -F /dev/ttyS1 raw -echo 2>/dev/null
# its mtime (host clock, through 9p) tells run.sh when the boot ended
: >/kiln-vm/started
sh /kiln-vm/cmd.sh >/dev/ttyS1 2>&1
echo $? >/kiln-vm/status
sync
if [ "${1:-}" = systemd ]; then
	systemctl --force poweroff
	sleep 30
fi
/run/kiln-vm-bin/busybox poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
sleep 30
