# Regression tests that replay four container-escape attacks against the
# runtime (issue #5): each sets the trap the way an attacker's image, volume or
# config would and asserts that the runtime did not fall into it. Each test
# fails when its protection is switched off (build-unsafe, KILN_UNSAFE=knob;
# rows in tests/cve2-rows.txt).
#
# A trick several tests use: a config that mounts no procfs at /proc and an
# image whose /proc is a symlink to /mnt, where the bundle's share/ dir (a
# host dir) is bound: the container's /proc is a directory the attacker
# controls. A real procfs is mounted at /realproc for the payload's checks.

REALPROC='{ "destination": "/realproc", "type": "proc", "source": "proc" }'

# fake_proc BUNDLE ROOTFS: private rootfs whose /proc is a symlink to /mnt,
# and no proc mount at /proc in the bundle's config.
fake_proc() {
	make_rootfs "$2" || fail "cannot make a rootfs"
	rmdir "$2/proc" && ln -s /mnt "$2/proc"
	sed -i '/"destination": "\/proc", "type": "proc"/d' "$1/config.json"
	! grep -q '"destination": "/proc"' "$1/config.json" || fail "could not drop the /proc mount"
}

# add_sysctl BUNDLE KEY VALUE
add_sysctl() {
	sed -i "s|\"linux\": {|\"linux\": { \"sysctl\": { \"$2\": \"$3\" },|" "$1/config.json"
}

# SWAPPER DIR A B: swaps DIR/A and DIR/B with renameat2(RENAME_EXCHANGE) for ever.
SWAPPER='
import ctypes, os, sys
swap = ctypes.CDLL(None, use_errno=True).renameat2
d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
a, b = sys.argv[2].encode(), sys.argv[3].encode()
while True:
    swap(d, a, d, b, 2)
'

SWAPPER_C='
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int d = open(argv[1], O_RDONLY | O_DIRECTORY);
    for (;;) renameat2(d, argv[2], d, argv[3], RENAME_EXCHANGE);
}
'

# CVE-2021-30465: a volume the container shares holds a directory and a
# symlink to a host dir that a racer swaps with renameat2(RENAME_EXCHANGE);
# later mounts of the config target paths through that directory. A runtime
# that resolves the destination once and mounts by path again lands some
# mounts in the host dir (seen here through a later bind of it).
test_cve_2021_30465_mount_destination_swap() {
	local vol=$TD/vol target=$TD/target marker=$TD/marker mounts k i id b escaped=0 ran=0 racer
	command -v python3 >/dev/null || skip "python3 needed for the racer"
	mkdir -p "$vol/mnt1" "$target" "$marker"
	touch "$marker/ESCAPED"
	ln -s "$target" "$vol/swap"
	make_rootfs "$TD/rootfs" || fail "cannot make a rootfs"
	mounts="{ \"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$vol\", \"options\": [\"rbind\"] }"
	for k in $(seq 0 159); do
		mkdir -p "$vol/mnt1/sub$k" "$target/sub$k" "$TD/rootfs$target/sub$k"
		mounts+=", { \"destination\": \"/vol/mnt1/sub$k\", \"type\": \"bind\", \"source\": \"$marker\", \"options\": [\"bind\"] }"
	done
	mounts+=", { \"destination\": \"/hostview\", \"type\": \"bind\", \"source\": \"$target\", \"options\": [\"rbind\"] }"
	# A swap must fall in a window of microseconds: on a loaded host a racer
	# at normal priority is off the CPU nearly all the time.
	# A C racer (when there is a compiler) swaps some 20 times faster.
	if printf '%s\n' "$SWAPPER_C" | cc -O2 -x c -o "$TD/swapper" - 2>/dev/null; then
		nice -n -10 "$TD/swapper" "$vol" mnt1 swap &
	else
		nice -n -10 python3 -c "$SWAPPER" "$vol" mnt1 swap &
	fi
	racer=$!
	note_pid $racer
	poll 10 test -L "$vol/mnt1" || fail "the racer does not swap"
	# As many containers as fit in 20 s (at least 2): the window is short.
	local t_end=$((SECONDS + 20))
	for i in $(seq 1 50); do
		[ "$i" -le 2 ] || [ "$SECONDS" -lt "$t_end" ] || break
		id=$(new_id)
		b=$(C_ROOTFS=$TD/rootfs C_MOUNTS=$mounts mkb "$id" sh -c 'ls /hostview/sub*/ESCAPED 2>/dev/null | wc -l')
		cap rt run --bundle "$b" "$id"
		echo "run $i: rc=$RC out=$OUT err=$(head -c 200 <<<"$ERR")" >&2
		[ "$RC" = 0 ] && ran=$((ran + 1))
		[ "$RC" = 0 ] && [ "$OUT" != 0 ] && escaped=$((escaped + OUT))
		rt delete -f "$id" >/dev/null 2>&1
		[ "$escaped" = 0 ] || break
	done
	kill -9 $racer 2>/dev/null
	wait $racer 2>/dev/null
	[ "$escaped" = 0 ] || fail "$escaped config mounts landed outside the rootfs, in the host dir $target (run $i)"
	grep -q " $target[/ ]" /proc/self/mountinfo && fail "a mount appeared on the host under $target"
	# Some runs must have worked, or the test proves nothing (runc refuses a
	# destination it sees moved, which is also safe).
	[ "$ran" -gt 0 ] || [ "$RT_NAME" = runc ] || fail "$(ctx "no container ran")"
}

# CVE-2025-31133: maskedPaths are masked by binding /dev/null over them. With
# the container's /dev/null a symlink to a procfs file (here the bundle's /dev
# dir is bound at /dev, so the runtime makes no devices of its own), a
# runtime that binds the path "/dev/null" puts that procfs file in place of
# every mask. Safe: the masks are the null device, or the run fails clearly.
test_cve_2025_31133_devnull_symlink_mask() {
	local id b devdir=$TD/devdir
	mkdir -p "$devdir"
	ln -s /proc/sys/kernel/domainname "$devdir/null"
	id=$(new_id)
	b=$(C_MOUNTS="{ \"destination\": \"/dev\", \"type\": \"bind\", \"source\": \"$devdir\", \"options\": [\"rbind\"] }" \
		mkb "$id" sh -c 'for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
			[ -e "$f" ] && echo "$f $(stat -c %F:%t:%T "$f") $(head -c 100 "$f" | wc -c)"; done; true')
	cap rt run --bundle "$b" "$id"
	if [ "$RC" != 0 ]; then
		expect_msg "/dev/null" "a refused /dev/null should be named"
		return 0
	fi
	local line
	while read -r line; do
		[[ $line == *" character special file:1:3 0" ]] || fail "$(ctx "masked path is not the null device: $line")"
	done <<<"$OUT"
	[ -n "$OUT" ] || fail "$(ctx "payload printed nothing")"
}

# CVE-2025-52565: with a terminal, the pty is bound onto /dev/console. With
# the container's /proc a directory of the image (see fake_proc), a
# runtime that binds the pty by its /proc/self/fd/N path binds whatever the
# image's self/fd/N symlinks name: here a real procfs file, writable, on
# /dev/console. Safe: /dev/console is the pty (devpts, major 136).
test_cve_2025_52565_console_source_redirect() {
	local id b sock n
	command -v python3 >/dev/null || skip "python3 needed for the console-socket receiver"
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs C_MOUNTS=$REALPROC mkb "$id" sh -c 'echo "console=$(stat -f -c %T /dev/console):$(stat -c %t /dev/console)"')
	fake_proc "$b" "$TD/rootfs"
	mkdir -p "$b/share/self/fd"
	for n in $(seq 0 99); do ln -s /realproc/sys/kernel/domainname "$b/share/self/fd/$n"; done
	sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
	sock=$TD/console.sock
	python3 "$E2E_DIR/recvtty.py" "$sock" "$sock.ready" >"$sock.out" 2>&1 &
	note_pid $!
	poll 30 _exists "$sock.ready" || fail "console receiver did not start: $(cat "$sock.out")"
	cap rt run -d --console-socket "$sock" --bundle "$b" "$id"
	if [ "$RC" != 0 ]; then
		# Refusing a /proc that is not procfs (runc does) is safe too.
		expect_msg "proc" "a refusal should name /proc"
		return 0
	fi
	wait_file_has() { grep -q "console=" "$1"; }
	poll 10 wait_file_has "$sock.out" || fail "no output from the payload: $(cat "$sock.out")"
	rt delete -f "$id" >/dev/null 2>&1
	grep -q 'console=devpts:88' "$sock.out" || fail "/dev/console is not the pty: $(cat "$sock.out")"
}

# CVE-2025-52881: sysctls written by path after pivot_root go wherever the
# container's /proc leads: here into a file of the bind-mounted share (the
# image's /proc is a symlink to it). Safe: the share's file is untouched and
# the real sysctl is set.
test_cve_2025_52881_sysctl_fake_proc() {
	local id b
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs C_MOUNTS=$REALPROC mkb "$id" cat /realproc/sys/kernel/domainname)
	fake_proc "$b" "$TD/rootfs"
	mkdir -p "$b/share/sys/kernel"
	echo ORIG >"$b/share/sys/kernel/domainname"
	add_sysctl "$b" kernel.domainname cve52881
	cap rt run --bundle "$b" "$id"
	[ "$(cat "$b/share/sys/kernel/domainname")" = ORIG ] || fail "$(ctx "the sysctl was written into the volume's file")"
	if [ "$RC" != 0 ]; then
		expect_msg "proc" "a refusal should name /proc"
		return 0
	fi
	expect_out_eq cve52881 "the real kernel.domainname"
}

# CVE-2025-52881, config variant: a host file bind-mounted over
# /proc/sys/kernel/domainname, and the same sysctl set. Safe: the host file is
# untouched (the runtime sets the real sysctl, or refuses the mount clearly).
test_cve_2025_52881_sysctl_overmount() {
	local id b f=$TD/hostfile
	echo ORIG >"$f"
	id=$(new_id)
	b=$(C_MOUNTS="$REALPROC, { \"destination\": \"/proc/sys/kernel/domainname\", \"type\": \"bind\", \"source\": \"$f\", \"options\": [\"bind\"] }" \
		mkb "$id" cat /realproc/sys/kernel/domainname)
	add_sysctl "$b" kernel.domainname cve52881
	cap rt run --bundle "$b" "$id"
	[ "$(cat "$f")" = ORIG ] || fail "$(ctx "the sysctl was written into the host file mounted over /proc/sys")"
	if [ "$RC" != 0 ]; then
		expect_msg "/proc" "a refused mount should be named"
		return 0
	fi
	expect_out_eq cve52881 "the real kernel.domainname"
}

# CVE-2025-52881, read side: the number of capabilities the runtime drops
# from the bounding set must come from the kernel, not from the container's
# /proc/sys/kernel/cap_last_cap (here a file of the share saying 0, which
# would leave every capability but CAP_CHOWN in the bounding set).
test_cve_2025_52881_fake_cap_last_cap() {
	local id b
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs C_MOUNTS=$REALPROC mkb "$id" sh -c 'grep CapBnd /realproc/self/status')
	fake_proc "$b" "$TD/rootfs"
	mkdir -p "$b/share/sys/kernel"
	echo 0 >"$b/share/sys/kernel/cap_last_cap"
	cap rt run --bundle "$b" "$id"
	if [ "$RC" != 0 ]; then
		# Refusing a /proc that is not procfs (runc does) is safe too.
		expect_msg "proc" "a refusal should name /proc"
		return 0
	fi
	# CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
	expect_out_eq "CapBnd:	0000000020000420" "the bounding set"
}
