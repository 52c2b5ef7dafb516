# shellcheck shell=bash
# Linux fields of the config applied in the container: scheduler, I/O
# priority, personality, time namespace offsets, user namespaces, sysctl
# checks, idmapped mounts, the seccomp notify listener. Fields runc 1.1
# lacks are skipped when RT_NAME=runc.

need_new_runc() { [ "$RT_NAME" != runc ] || skip "runc 1.1 has no $1"; }

USERNS_NS='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}'
USERNS_MAPS='c["linux"]["uidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]; c["linux"]["gidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]'

# /proc/self/stat of cut: field 19 nice, 40 rt_priority, 41 policy
test_scheduler() {
	need_new_runc process.scheduler
	local id b
	id=$(new_id)
	b=$(mkb "$id" cut -d' ' -f19,40,41 /proc/self/stat)
	jedit "$b" 'c["process"]["scheduler"]={"policy":"SCHED_BATCH","nice":7}'
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq "7 0 3" "SCHED_BATCH nice 7"
	id=$(new_id)
	# SCHED_FIFO needs rt runtime in the cgroup (v1 RT group scheduling):
	# a negative nice instead: reset-on-fork gives a forked child nice 0.
	b=$(mkb "$id" sh -c 'cut -d" " -f19,41 /proc/self/stat; cut -d" " -f19,41 /proc/$$/stat')
	jedit "$b" 'c["process"]["scheduler"]={"policy":"SCHED_BATCH","nice":-5,"flags":["SCHED_FLAG_RESET_ON_FORK"]}'
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq $'0 3\n-5 3' "SCHED_BATCH nice -5, reset on fork"
	# exec'd processes get the config's scheduler and I/O priority too
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	jedit "$b" 'c["process"]["scheduler"]={"policy":"SCHED_BATCH","nice":7}; c["process"]["ioPriority"]={"class":"IOPRIO_CLASS_BE","priority":6}'
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt exec "$id" cut -d' ' -f19,41 /proc/self/stat
	expect_ok
	expect_out_eq "7 3" "scheduler of an exec'd process"
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" 'c["process"]["scheduler"]={"policy":"SCHED_FIFO","priority":1000}'
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "process.scheduler"
}

# ioprio_get(IOPRIO_WHO_PROCESS, pid) from the host on the created init.
test_io_priority() {
	need_new_runc process.ioPriority
	local id b pid got
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" 'c["process"]["ioPriority"]={"class":"IOPRIO_CLASS_BE","priority":5}'
	cap rt create --bundle "$b" "$id"
	expect_ok
	pid=$(pid_of "$id")
	got=$(python3 -c 'import ctypes,sys; print(ctypes.CDLL(None, use_errno=True).syscall(252, 1, int(sys.argv[1])))' "$pid")
	expect_eq "$got" $(((2 << 13) | 5)) "ioprio of the init (class BE, level 5)"
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" 'c["process"]["ioPriority"]={"class":"IOPRIO_CLASS_IDLE","priority":0}'
	cap rt create --bundle "$b" "$id"
	expect_ok
	got=$(python3 -c 'import ctypes,sys; print(ctypes.CDLL(None).syscall(252, 1, int(sys.argv[1])))' "$(pid_of "$id")")
	expect_eq "$got" $((3 << 13)) "ioprio of the init (class IDLE)"
	cap rt delete -f "$id"
}

test_personality() {
	need_new_runc linux.personality
	local id b
	id=$(new_id)
	b=$(mkb "$id" uname -m)
	jedit "$b" 'c["linux"]["personality"]={"domain":"LINUX32"}'
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq i686 "uname -m under LINUX32"
	id=$(new_id)
	b=$(mkb "$id" uname -m)
	jedit "$b" 'c["linux"]["personality"]={"domain":"LINUX"}'
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq "$(uname -m)" "uname -m under LINUX"
}

# linux.timeOffsets: CLOCK_BOOTTIME (/proc/uptime) and CLOCK_MONOTONIC
# shifted inside; exec joins the same time namespace.
test_time_offsets() {
	need_new_runc "time namespaces"
	local id b host inside mono
	# The kernel refuses (ERANGE) an offset that would make the container's
	# monotonic clock negative: go back by half the host's monotonic clock,
	# at most 1000 s, so that a machine booted a minute ago tests it too.
	mono=$(python3 -c 'import time; print(int(time.monotonic()) // 2)')
	[ "$mono" -le 1000 ] || mono=1000
	[ "$mono" -ge 1 ] || mono=1
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	jedit "$b" 'c["linux"]["namespaces"].append({"type":"time"}); c["linux"]["timeOffsets"]={"boottime":{"secs":86400000,"nanosecs":0},"monotonic":{"secs":-'"$mono"',"nanosecs":500}}'
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt exec "$id" cat /proc/uptime /proc/self/timens_offsets
	expect_ok
	host=$(cut -d. -f1 /proc/uptime)
	inside=$(head -n1 <<<"$OUT" | cut -d. -f1)
	[ $((inside - host)) -ge 86399990 ] && [ $((inside - host)) -le 86400010 ] ||
		fail "uptime inside $inside, host $host: want +86400000 s"
	grep -Eq "^monotonic +-$mono +500\$" <<<"$OUT" || fail "timens_offsets (want monotonic -$mono 500): $OUT"
	expect_eq "$(readlink "/proc/$(pid_of "$id")/ns/time")" "$(readlink "/proc/$(pid_of "$id")/ns/time_for_children")" "init is in its own time namespace"
	[ "$(readlink "/proc/$(pid_of "$id")/ns/time")" != "$(readlink /proc/self/ns/time)" ] || fail "init shares the host time namespace"
	cap rt delete -f "$id"
	# offsets without a time namespace: refused, naming the field
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" 'c["linux"]["timeOffsets"]={"boottime":{"secs":1}}'
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "linux.timeOffsets"
}

# A new user namespace: the maps, root inside, capabilities, host devices
# bound (mknod is not allowed), files written land as the mapped host uid.
test_user_namespace() {
	local id b
	id=$(new_id)
	b=$(C_NS=$USERNS_NS C_CAPS='"CAP_CHOWN","CAP_KILL"' mkb "$id" sh -c '
		cat /proc/self/uid_map /proc/self/gid_map | tr -s " " | sed "s/^ //"
		id -u; id -g
		grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr -d "\t"
		test -c /dev/null && echo x > /dev/null && echo devnull-ok
		touch /mnt/f && echo touched
		mknod /mnt/n c 1 3 2>/dev/null || echo mknod-refused')
	jedit "$b" "$USERNS_MAPS"
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq "0 100000 65536
0 100000 65536
0
0
CapEff:0000000000000021
CapBnd:0000000000000021
devnull-ok
touched
mknod-refused"
	expect_eq "$(stat -c %u:%g "$b/share/f")" 100000:100000 "host owner of a file made inside"
	# the init's namespace differs from ours and its maps are those asked for
	id=$(new_id)
	b=$(C_NS=$USERNS_NS mkb "$id" sleep 30)
	jedit "$b" "$USERNS_MAPS"
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	[ "$(readlink "/proc/$(pid_of "$id")/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "init in the host user namespace"
	cap rt exec "$id" cat /proc/self/uid_map
	expect_ok
	expect_out_has 100000
	cap rt delete -f "$id"
}

# Bind sources the container's root cannot reach (0700 dirs of the host's
# root) are still mounted: the runtime opens them with the host's access
# (runc's userns.bats); a read-only one stays read-only; exec sees them.
test_user_namespace_inaccessible_binds() {
	local id b
	mkdir -p "$TD/priv1/dir" "$TD/priv2/f"
	echo one >"$TD/priv1/dir/foo"
	echo two >"$TD/priv2/file"
	chmod 700 "$TD/priv1" "$TD/priv2"
	chmod 755 "$TD"
	id=$(new_id)
	b=$(C_NS=$USERNS_NS C_MOUNTS='{"destination": "/mnt/m1", "type": "bind", "source": "'"$TD"'/priv1/dir", "options": ["bind"]},
		{"destination": "/mnt/m2", "type": "bind", "source": "'"$TD"'/priv2/file", "options": ["bind", "ro"]}' \
		mkb "$id" sleep 30)
	jedit "$b" "$USERNS_MAPS"
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with inaccessible bind sources"
	cap rt exec "$id" sh -c 'cat /mnt/m1/foo /mnt/m2; echo x >/mnt/m2 2>/dev/null && echo wrote; grep " /mnt/m2 " /proc/mounts'
	expect_ok "exec"
	grep -q '^one$' <<<"$OUT" && grep -q '^two$' <<<"$OUT" || fail "bind contents: $OUT"
	grep -q ' /mnt/m2 [^ ]* ro[, ]' <<<"$OUT" && ! grep -q wrote <<<"$OUT" || fail "/mnt/m2 not read-only: $OUT"
	cap rt delete -f "$id"
}

# runc's rule: a sysctl only in a namespace of the container's own.
test_sysctl_namespaces() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni)
	jedit "$b" 'c["linux"]["sysctl"]={"net.ipv4.ip_forward":"1","kernel.shmmni":"1234"}'
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq $'1\n1234'
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' mkb "$id" true)
	jedit "$b" 'c["linux"]["sysctl"]={"net.ipv4.ip_forward":"1"}'
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "net.ipv4.ip_forward"
	[ "$RT_NAME" = runc ] || expect_msg "linux.sysctl"
	[ ! -d "$ROOT/$id" ] || fail "state left behind"
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"network"},{"type":"uts"},{"type":"mount"}' mkb "$id" true)
	jedit "$b" 'c["linux"]["sysctl"]={"kernel.shmmax":"1000000"}'
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "kernel.shmmax"
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" 'c["linux"]["sysctl"]={"vm.swappiness":"10"}'
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "vm.swappiness"
}

test_domainname() {
	need_new_runc "domainname (1.1.5 ignores it)"
	local id b
	id=$(new_id)
	b=$(mkb "$id" cat /proc/sys/kernel/domainname)
	jedit "$b" 'c["domainname"]="kiln.example"'
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq kiln.example
	id=$(new_id)
	b=$(C_HOSTNAME=- C_NS='{"type":"pid"},{"type":"mount"}' mkb "$id" true)
	jedit "$b" 'c["domainname"]="kiln.example"'
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "domainname"
}

# SCMP_ACT_NOTIFY: the agent at listenerPath gets runc's state JSON and the
# listener fd; the notified syscall waits for the agent's answer, which
# here is "success" without the directory being made.
test_seccomp_notify() {
	local id b ag apid i
	id=$(new_id)
	ag=$TD/agent
	mkdir -p "$ag"
	python3 "$E2E_DIR/seccomp_agent.py" "$TD/agent.sock" "$ag" &
	apid=$!
	wait_file "$ag/ready"
	b=$(mkb "$id" sh -c 'mkdir /mnt/d; echo rc=$? > /mnt/done')
	jedit "$b" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'$TD/agent.sock','listenerMetadata':'meta-$id','syscalls':[{'names':['mkdir','mkdirat'],'action':'SCMP_ACT_NOTIFY'}]}"
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	wait_file "$ag/state.json"
	local js pid
	js=$(cat "$ag/state.json")
	pid=$(pid_of "$id")
	[[ $js == *'"fds":["seccompFd"]'* || $js == *'"fds": ["seccompFd"]'* ]] || fail "fds: $js"
	expect_eq "$(json_get metadata <<<"$js")" "meta-$id" "metadata"
	expect_eq "$(json_get id <<<"$js")" "$id" "state.id"
	expect_eq "$(json_get pid <<<"$js")" "$pid" "pid"
	expect_eq "$(json_get status <<<"$js")" creating "state.status"
	expect_eq "$(cat "$ag/fd")" "anon_inode:seccomp notify" "the fd received"
	wait_file "$ag/notified"
	# the agent holds the answer: the payload must still wait in mkdir
	for i in 1 2 3 4 5; do
		[ ! -e "$b/share/done" ] || fail "mkdir returned before the agent answered"
		sleep 0.2
	done
	touch "$ag/go"
	wait_file "$b/share/done"
	expect_eq "$(cat "$b/share/done")" rc=0 "mkdir answered by the agent"
	[ ! -e "$b/share/d" ] || fail "the agent's answer was not used: /mnt/d exists"
	cap rt delete -f "$id"
	kill "$apid" 2>/dev/null
	wait "$apid" 2>/dev/null
	# no agent listening: create fails, naming the field, leaving nothing
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'$TD/none.sock','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_NOTIFY'}]}"
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "failed to connect with seccomp agent"
	[ "$RT_NAME" = runc ] || expect_msg "listenerPath"
	[ ! -d "$ROOT/$id" ] || fail "state left behind"
}

# runc's -ENOSYS stub: under a deny-by-default profile, a syscall newer than
# every one the profile names gets ENOSYS (programs then fall back), one it
# leaves out below that the default errno (runc's seccomp.bats).
test_seccomp_enosys() {
	[ "$(uname -m)" = x86_64 ] || skip "the profile below is for x86_64"
	command -v cc >/dev/null || skip "needs a C compiler for the probe"
	local id b
	id=$(new_id)
	b=$(mkb "$id" /mnt/probe)
	printf '%s\n' '#include <errno.h>' '#include <stdio.h>' '#include <unistd.h>' '#include <sys/syscall.h>' \
		'int main(void) { errno = 0; syscall(1000, 0, 0, 0); printf("nr1000=%d\n", errno);' \
		'errno = 0; syscall(SYS_kexec_load, 0, 0, 0, 0); printf("kexec_load=%d\n", errno); return 0; }' |
		cc -static -O1 -x c -o "$b/share/probe" - || skip "cc -static failed"
	# Every syscall libseccomp knows on x86_64 allowed but kexec_load; default EPERM.
	jedit "$b" '
import ctypes
l = ctypes.CDLL("libseccomp.so.2")
l.seccomp_syscall_resolve_num_arch.restype = ctypes.c_char_p
names = [n.decode() for n in (l.seccomp_syscall_resolve_num_arch(0xc000003e, i) for i in range(0, 600)) if n]
names = [n for n in names if n != "kexec_load"]
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
	"syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]}
c["process"]["noNewPrivileges"] = True'
	cap rt run --bundle "$b" "$id"
	expect_ok "run under the profile"
	expect_out_eq $'nr1000=38\nkexec_load=1' "ENOSYS past the profile's syscalls, EPERM below"
}

# Id-mapped bind mounts: on-disk ids seen through the mount's maps.
test_idmapped_mount() {
	need_new_runc "id-mapped mounts"
	local id b src
	src=$TD/idsrc
	mkdir -p "$src/sub"
	touch "$src/f0" "$src/f5" "$src/f500"
	chown 5:7 "$src/f5"
	chown 500:500 "$src/f500"
	# no user namespace: disk 0 -> 1000, 5 -> 1005; 500 is unmapped
	id=$(new_id)
	b=$(C_MOUNTS="{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"idmap\",\"ro\"],
		\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":100}],
		\"gidMappings\":[{\"containerID\":0,\"hostID\":2000,\"size\":100}]}" \
		mkb "$id" sh -c 'stat -c "%u:%g" /idm/f0 /idm/f5 /idm/f500; touch /idm/x 2>/dev/null || echo ro')
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq "1000:2000
1005:2007
65534:65534
ro"
	expect_eq "$(stat -c %u "$src/f0")" 0 "the source keeps its owner"
	# with a user namespace mapping 0 -> 100000, the same mount map makes
	# the host's root-owned files root's inside; a file made there is root's on disk
	id=$(new_id)
	b=$(C_NS=$USERNS_NS C_MOUNTS="{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"ridmap\"],
		\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],
		\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]}" \
		mkb "$id" sh -c 'stat -c "%u:%g" /idm/f0 /idm/f5 /idm/sub; touch /idm/made && echo made')
	jedit "$b" "$USERNS_MAPS"
	cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq "0:0
5:7
0:0
made"
	expect_eq "$(stat -c %u:%g "$src/made")" 0:0 "owner on disk of a file made through the mount"
	# only bind mounts, and both maps
	id=$(new_id)
	b=$(C_MOUNTS='{"destination":"/t","type":"tmpfs","source":"tmpfs","uidMappings":[{"containerID":0,"hostID":1,"size":1}],"gidMappings":[{"containerID":0,"hostID":1,"size":1}]}' mkb "$id" true)
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "mounts[8]"
	id=$(new_id)
	b=$(C_MOUNTS="{\"destination\":\"/t\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\"],\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}" mkb "$id" true)
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_msg "gidMappings"
}

# An id-mapped mount in a container that joins an existing user namespace by
# path (issue 14): the namespace is a helper's (unshare -U), its maps written
# here (0 -> 100000, 65536), not by the runtime. The kernel marks the mount
# idmapped, and ids go through the mount's maps: the host's root-owned files
# are root's inside, a file made there is root's on disk.
test_idmapped_mount_joined_userns() {
	need_new_runc "id-mapped mounts"
	local id b src pid i
	src=$TD/idsrc
	mkdir -p "$src"
	touch "$src/f0" "$src/f5"
	chown 5:7 "$src/f5"
	# a rootfs of the namespace's root, where it makes the mount point
	make_rootfs "$TD/uroot"
	chown -R 100000:100000 "$TD/uroot"
	unshare -U sleep 600 &
	pid=$!
	# global: the EXIT trap runs after this function has returned
	HELPER=$pid
	trap 'kill "$HELPER" 2>/dev/null' EXIT
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$pid/ns/user")" = "$(readlink /proc/self/ns/user)" ] || break
		sleep 0.05
	done
	[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "the helper has no user namespace of its own"
	echo "0 100000 65536" >"/proc/$pid/uid_map" || fail "uid_map of the helper"
	echo "0 100000 65536" >"/proc/$pid/gid_map" || fail "gid_map of the helper"
	id=$(new_id)
	b=$(C_ROOTFS=$TD/uroot C_NS='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user","path":"/proc/'$pid'/ns/user"}' \
		C_MOUNTS="{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"idmap\"],
		\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],
		\"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]}" \
		mkb "$id" sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map | tr -s " " " "; stat -c "%u:%g" /idm/f0 /idm/f5;
			touch /idm/made && echo made; grep " /idm " /proc/self/mountinfo | grep -c idmapped')
	cap rt run --bundle "$b" "$id"
	expect_ok "run in the helper's user namespace"
	expect_out_eq "$(readlink "/proc/$pid/ns/user")
 0 100000 65536
0:0
5:7
made
1" "user namespace, its maps, owners through the mount, the kernel's idmapped flag"
	expect_eq "$(stat -c %u:%g "$src/made")" 0:0 "owner on disk of a file made through the mount"
	expect_eq "$(stat -c %u:%g "$src/f5")" 5:7 "the source keeps its owners"
	assert_clean "$id"
}

# Recursive atime options go through mount_setattr(2), which changes the atime
# mode only with all of MOUNT_ATTR__ATIME in attr_clr: "rnoatime" alone used to
# fail with EINVAL (found by tests/fuzz/fuzz_mount_options.cpp).
test_mount_recursive_atime() {
	local id b src=$TD/src opts
	mkdir -p "$src"
	for opts in '"rnoatime"' '"rnoatime", "ratime"'; do
		[ "$RT_NAME" = kiln ] || [ "$opts" = '"rnoatime"' ] || continue # runc: EINVAL for ratime
		id=$(new_id)
		b=$(C_MOUNTS="{\"destination\": \"/ra\", \"type\": \"bind\", \"source\": \"$src\", \"options\": [\"rbind\", $opts]}" \
			mkb "$id" sh -c 'grep " /ra " /proc/self/mountinfo')
		cap rt run --bundle "$b" "$id"
		expect_ok "options [$opts]"
		if [ "$opts" = '"rnoatime"' ]; then
			expect_out_has "noatime" "options [$opts]"
		else
			[[ $OUT != *noatime* ]] || fail "$(ctx "options [$opts]: still noatime")"
		fi
	done
}
