# shellcheck shell=bash
# runtime-spec 1.3 fields and the runtime behaviours engines rely on (issue
# #14): each test looks at the kernel's view from inside the container
# (/proc/self/status, numa_maps, mountinfo, the interfaces of its netns).

# runc ignores capabilities it does not know, with a warning; so does kiln.
test_unknown_capabilities_warn() {
	local id
	id=$(new_id)
	C_CAPS='"CAP_KILL","CAP_BOGUS","cap_chown"' run_in "$id" sh -c 'grep ^CapEff /proc/self/status'
	expect_ok "run with unknown capabilities"
	expect_out_eq $'CapEff:\t0000000000000020' "only CAP_KILL applied"
	expect_err_has "ignoring unknown or unavailable capabilities: [CAP_BOGUS cap_chown]"
}

# linux.memoryPolicy: set_mempolicy for the payload and every exec'd
# process; numa_maps shows the policy of each mapping (the process's, where
# the mapping has none of its own).
test_memory_policy() {
	[ -r /proc/self/numa_maps ] || skip "kernel without NUMA (no /proc/self/numa_maps)"
	local id b node bad
	node=$(sed 's/[-,].*//' /sys/devices/system/node/online)
	id=$(new_id)
	b=$(mkb "$id" sh -c 'grep -m1 -o "^[0-9a-f]* [^ ]*" /proc/self/numa_maps | cut -d" " -f2; sleep 30')
	jedit "$b" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_BIND', 'nodes': '$node', 'flags': ['MPOL_F_STATIC_NODES']}"
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with memoryPolicy"
	cap rt exec "$id" sh -c 'grep -m1 -o "^[0-9a-f]* [^ ]*" /proc/self/numa_maps | cut -d" " -f2'
	expect_ok "exec"
	expect_out_eq "bind=static:$node" "exec'd process's memory policy"
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'grep -m1 -o "^[0-9a-f]* [^ ]*" /proc/self/numa_maps | cut -d" " -f2')
	jedit "$b" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_INTERLEAVE', 'nodes': '$node'}"
	cap rt run --bundle "$b" "$id"
	expect_ok "run with MPOL_INTERLEAVE"
	expect_out_eq "interleave:$node" "payload's memory policy"
	# A node the host does not have: the kernel refuses, kiln names the field.
	bad=$(($(sed 's/.*[-,]//' /sys/devices/system/node/possible) + 1))
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" "c['linux']['memoryPolicy'] = {'mode': 'MPOL_BIND', 'nodes': '$bad'}"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "memoryPolicy with a node the host lacks"
	[ "$RT_NAME" != kiln ] || expect_err_has "linux.memoryPolicy: set_mempolicy MPOL_BIND nodes $bad: Invalid argument"
	assert_clean "$id"
}

# Container processes never inherit the runtime's own CPU affinity (runc
# 1.3.1): kiln runs pinned to one cpu (taskset), the init and an exec'd
# process get every cpu of the container's cpuset. process.execCPUAffinity
# (exec only): initial until the cgroup is joined, final after it.
test_exec_cpu_affinity() {
	command -v taskset >/dev/null || skip "no taskset (util-linux)"
	local id b all last
	all=$(sed -n 's/^Cpus_allowed_list:\t//p' /proc/self/status)
	last=$(nproc --all)
	last=$((last - 1))
	[ "$last" -ge 1 ] || skip "one cpu only"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'sed -n "s/^Cpus_allowed_list:\t//p" /proc/self/status >/mnt/init; sleep 30')
	cap taskset -c 0 "$KILN" --root "$ROOT" run -d --bundle "$b" "$id"
	expect_ok "run -d pinned to cpu 0"
	wait_nonempty "$b/share/init"
	expect_eq "$(cat "$b/share/init")" "$all" "the init's affinity (kiln ran on cpu 0)"
	cap taskset -c 0 "$KILN" --root "$ROOT" exec "$id" sed -n 's/^Cpus_allowed_list:\t//p' /proc/self/status
	expect_ok "exec pinned to cpu 0"
	expect_out_eq "$all" "an exec'd process's affinity"
	printf '{"cwd":"/","args":["sed","-n","s/^Cpus_allowed_list:\\t//p","/proc/self/status"],"execCPUAffinity":{"initial":"%s"}}' "$last" >"$TD/p.json"
	cap taskset -c 0 "$KILN" --root "$ROOT" exec -p "$TD/p.json" "$id"
	expect_ok "exec with execCPUAffinity.initial"
	expect_out_eq "$last" "execCPUAffinity.initial (no final: left as it was)"
	printf '{"cwd":"/","args":["sed","-n","s/^Cpus_allowed_list:\\t//p","/proc/self/status"],"execCPUAffinity":{"initial":"0","final":"%s"}}' "$last" >"$TD/p.json"
	cap rt exec -p "$TD/p.json" "$id"
	expect_ok "exec with execCPUAffinity.final"
	expect_out_eq "$last" "execCPUAffinity.final"
	printf '{"cwd":"/","args":["true"],"execCPUAffinity":{"final":"%s"}}' "$((last + 4096))" >"$TD/p.json"
	cap rt exec -p "$TD/p.json" "$id"
	expect_rc 255 "exec with a final affinity of no cpu the container has"
	expect_err_has "error setting final CPU affinity"
	# The config's own execCPUAffinity applies to exec, never to the init.
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'sed -n "s/^Cpus_allowed_list:\t//p" /proc/self/status >/mnt/init; sleep 30')
	jedit "$b" "c['process']['execCPUAffinity'] = {'final': '$last'}"
	rm -f "$b/share/init"
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with execCPUAffinity"
	wait_nonempty "$b/share/init"
	expect_eq "$(cat "$b/share/init")" "$all" "the init's affinity (execCPUAffinity is for exec)"
	cap rt exec "$id" sed -n 's/^Cpus_allowed_list:\t//p' /proc/self/status
	expect_out_eq "$last" "exec takes the config's execCPUAffinity"
}

# linux.intelRdt goes through resctrl; a host without it refuses the
# field by name and leaves nothing behind (kiln; runc 1.1.5 ignores it).
# Where resctrl is mounted the group is checked from the kernel's side.
test_intel_rdt() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'sleep 30')
	jedit "$b" "c['linux']['intelRdt'] = {'closID': '', 'schemata': ['L3:0=1'], 'enableMonitoring': True}"
	if ! grep -q " resctrl " /proc/self/mountinfo; then
		[ "$RT_NAME" = kiln ] || skip "no resctrl on this host; $RT_NAME's refusal text differs"
		cap rt run -d --bundle "$b" "$id"
		expect_rc 1 "intelRdt without resctrl"
		expect_err_has "linux.intelRdt: intelRdt is specified in config, but Intel RDT is not enabled"
		assert_clean "$id"
		# update --l3-cache-schema needs it too
		b=$(mkb "$id" sleep 30)
		cap rt run -d --bundle "$b" "$id"
		expect_ok "run -d"
		cap rt update --l3-cache-schema "L3:0=1" "$id"
		expect_rc 1 "update --l3-cache-schema without resctrl"
		expect_err_has "Intel RDT/CAT: l3 cache schema is not enabled"
		return
	fi
	local root
	root=$(awk '$9 == "resctrl" {print $5; exit}' /proc/self/mountinfo)
	jedit "$b" "c['linux']['intelRdt'] = {'enableMonitoring': True}"
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with intelRdt"
	grep -qx "$(pid_of "$id")" "$root/$id/tasks" || fail "the init is not in $root/$id/tasks"
	grep -qx "$(pid_of "$id")" "$root/$id/mon_groups/$id/tasks" || fail "the init is not in its monitoring group"
	cap rt delete -f "$id"
	[ ! -e "$root/$id" ] || fail "resctrl group $root/$id left behind"
}

# linux.netDevices: kiln runs in a private network namespace of the test's
# (unshare -n, standing in for the host: the host's own interfaces are never
# touched) that holds two veth pairs; their first ends move into the
# container, renamed (one through the kernel's "eth%d" template), with their
# permanent global addresses and up. When the container's namespace goes,
# the kernel destroys them (virtual devices; physical ones would come back).
test_net_devices() {
	command -v unshare >/dev/null && command -v ip >/dev/null || skip "needs unshare and ip"
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'ip -o addr; ip -o link show c0; ip -o link show eth0')
	jedit "$b" "c['linux']['netDevices'] = {'d0': {'name': 'c0'}, 'v0': {'name': 'eth%d'}}"
	cat >"$TD/net.sh" <<-'SH'
		set -e
		ip link add d0 type veth peer name d1
		ip link add v0 type veth peer name v1
		ip addr add 10.9.8.7/24 dev d0
		ip addr add fd00::7/64 dev d0 nodad
		ip addr add 169.254.3.3/16 scope link dev d0
		ip addr add 10.1.1.1/30 dev v0
		set +e
		"$@"
		rc=$?
		echo "rc=$rc"
		[ $rc != 0 ] || for i in $(seq 100); do ip link show d1 >/dev/null 2>&1 || ip link show v1 >/dev/null 2>&1 || break; sleep 0.05; done
		ip -o link | sed -n 's/^[0-9]*: \([^:@]*\).*/host:\1/p'
	SH
	cap unshare -n bash "$TD/net.sh" timeout 30 "$KILN" --root "$ROOT" run --bundle "$b" "$id"
	expect_ok "run with netDevices in a private namespace"
	expect_out_has "rc=0"
	expect_out_has "c0    inet 10.9.8.7/24 scope global c0"
	expect_out_has "c0    inet6 fd00::7/64 scope global"
	expect_out_has "eth0    inet 10.1.1.1/30 scope global eth0"
	[[ $OUT != *169.254.3.3* ]] || fail "a link-scope address moved along: $OUT"
	[[ $OUT =~ c0@[^:]*:\ \<[A-Z,_-]*UP ]] || fail "c0 is not up in the container: $OUT"
	[[ $OUT =~ eth0@[^:]*:\ \<[A-Z,_-]*UP ]] || fail "eth0 is not up in the container: $OUT"
	[[ $OUT != *host:d0* && $OUT != *host:v0* ]] || fail "a moved device is still in the host namespace: $OUT"
	[[ $OUT != *host:d1* && $OUT != *host:v1* ]] || fail "the veth peers outlived the container's namespace: $OUT"
	assert_clean "$id"
	# A name the container's namespace has already, and a device the host lacks.
	jedit "$b" "c['linux']['netDevices'] = {'d0': {'name': 'lo'}}"
	cap unshare -n bash "$TD/net.sh" timeout 30 "$KILN" --root "$ROOT" run --bundle "$b" "$id"
	expect_out_has "rc=1"
	[ "$RT_NAME" != kiln ] || expect_err_has "move netDevice d0 to namespace /proc/"
	expect_err_has "File exists"
	assert_clean "$id"
	jedit "$b" "c['linux']['netDevices'] = {'nosuchdev0': {}}"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "a device the host lacks"
	expect_err_has "nosuchdev0"
	assert_clean "$id"
	jedit "$b" "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "netDevices without a network namespace"
	expect_err_has "unable to move network devices without a NET namespace"
}

# A relative mount destination is relative to / (runtime-spec 1.2): the
# mount is where the container's mountinfo says /tmp/rel is, and
# mounts nested in it keep working.
test_relative_destination() {
	local id b
	id=$(new_id)
	b=$(C_MOUNTS='{"destination":"tmp/rel","type":"tmpfs","source":"tmpfs","options":["size=64k"]},
		{"destination":"tmp/rel/in","type":"tmpfs","source":"tmpfs","options":["size=32k"]}' \
		mkb "$id" sh -c 'awk "\$9 == \"tmpfs\" && \$5 ~ /^\/tmp\// {print \$5}" /proc/self/mountinfo')
	cap rt run --bundle "$b" "$id"
	expect_ok "run with relative destinations"
	expect_out_eq $'/tmp/rel\n/tmp/rel/in' "the container's mountinfo"
	assert_clean "$id"
}

# A destination whose last component is a symlink to a path that does not
# exist yet: the target is made inside the rootfs (crun and runc do) and the
# mount goes there; nothing is made on the host. Absolute and relative links,
# a file bind mount through one, a link to a link.
test_dangling_symlink_destination() {
	local id b rootfs
	rootfs=$TD/rootfs
	make_rootfs "$rootfs"
	mkdir -p "$rootfs/etc/sub"
	ln -s /run/kt-made-$E2E_RUNID/here "$rootfs/etc/abs"
	ln -s ../rel-made/x "$rootfs/etc/sub/rel"
	ln -s /etc/abs2 "$rootfs/etc/chain"
	ln -s /var/kt-chain-$E2E_RUNID "$rootfs/etc/abs2"
	ln -s /run/kt-file-$E2E_RUNID "$rootfs/etc/file"
	ln -s /run/kt-dir-$E2E_RUNID "$rootfs/etc/pdir"
	echo bound >"$TD/srcfile"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_MOUNTS="{\"destination\":\"/etc/abs\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},
		{\"destination\":\"/etc/sub/rel\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},
		{\"destination\":\"/etc/chain\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},
		{\"destination\":\"/etc/file\",\"type\":\"bind\",\"source\":\"$TD/srcfile\",\"options\":[\"bind\",\"ro\"]},
		{\"destination\":\"/etc/pdir/sub\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}" \
		mkb "$id" sh -c 'awk "\$5 ~ /^\/(run|etc|var)\// {print \$5}" /proc/self/mountinfo; cat /etc/file')
	cap rt run --bundle "$b" "$id"
	expect_ok "run with dangling symlink destinations"
	expect_out_eq "/run/kt-made-$E2E_RUNID/here
/etc/rel-made/x
/var/kt-chain-$E2E_RUNID
/run/kt-file-$E2E_RUNID
/run/kt-dir-$E2E_RUNID/sub
bound" "the container's mountinfo"
	[ -d "$rootfs/run/kt-made-$E2E_RUNID/here" ] || fail "absolute link target not made in the rootfs"
	[ -d "$rootfs/etc/rel-made/x" ] || fail "relative link target not made in the rootfs"
	[ -d "$rootfs/var/kt-chain-$E2E_RUNID" ] || fail "the chain's last target not made in the rootfs"
	[ -f "$rootfs/run/kt-file-$E2E_RUNID" ] || fail "a file bind mount's target is not a file in the rootfs"
	[ -d "$rootfs/run/kt-dir-$E2E_RUNID/sub" ] || fail "a dangling link as a parent: target not made in the rootfs"
	[ -L "$rootfs/etc/abs" ] || fail "the link itself was replaced"
	[ ! -e "/run/kt-made-$E2E_RUNID" ] && [ ! -e "/var/kt-chain-$E2E_RUNID" ] && [ ! -e "/run/kt-file-$E2E_RUNID" ] &&
		[ ! -e "/run/kt-dir-$E2E_RUNID" ] ||
		fail "a link target was made on the host"
	assert_clean "$id"
	# A loop is refused, not followed for ever.
	ln -s /etc/loop2 "$rootfs/etc/loop1"
	ln -s /etc/loop1 "$rootfs/etc/loop2"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_MOUNTS='{"destination":"/etc/loop1","type":"tmpfs","source":"tmpfs"}' mkb "$id" true)
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "a destination in a symlink loop"
	expect_err_has "Too many levels of symbolic links"
	assert_clean "$id"
}

# idmap/ridmap without mappings of their own take the container's user
# namespace maps (runc 1.2): files the host's root owns are root's inside a
# container whose root is host uid 100000, a file made through the mount is
# root's on disk; without a user namespace both maps are still needed.
test_idmap_userns_maps() {
	[ "$RT_NAME" != runc ] || skip "runc 1.1 has no id-mapped mounts"
	local id b src mnt rootfs
	src=$TD/idsrc
	rootfs=$TD/rootfs
	make_rootfs "$rootfs"
	mkdir -p "$src/sub" "$rootfs/idm" "$rootfs/plain"
	touch "$src/f0" "$src/f5"
	chown 5:7 "$src/f5"
	mnt="{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"ridmap\"]},
		{\"destination\":\"/plain\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\"]}"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_NS='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}' \
		C_MOUNTS=$mnt mkb "$id" sh -c 'stat -c "%u:%g" /idm/f0 /idm/f5 /idm/sub /plain/f0; touch /idm/made && echo made; grep " /idm " /proc/self/mountinfo | grep -o idmapped')
	jedit "$b" 'c["linux"]["uidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]; c["linux"]["gidMappings"]=[{"containerID":0,"hostID":100000,"size":65536}]'
	cap rt run --bundle "$b" "$id"
	expect_ok "run with idmap and no maps of its own"
	expect_out_eq "0:0
5:7
0:0
65534:65534
made
idmapped"
	expect_eq "$(stat -c %u:%g "$src/made")" 0:0 "owner on disk of a file made through the mount"
	assert_clean "$id"
	# No user namespace: the mount needs maps of its own.
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_MOUNTS="{\"destination\":\"/idm\",\"type\":\"bind\",\"source\":\"$src\",\"options\":[\"rbind\",\"idmap\"]}" mkb "$id" true)
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "idmap without maps and without a user namespace"
	expect_err_has "mounts[8]"
	expect_err_has "gidMappings"
	assert_clean "$id"
}

# _held_after_stop NAME FLAGS: an exec'd process of a container whose
# filter has FLAGS sits in a notified mkdir the agent has received and not
# answered; it is sent SIGSTOP. Prints the state (/proc/PID/status) it goes
# to: the kernel's view of the filter's wait.
_held_after_stop() {
	local ag=$TD/agent-$1 id b apid p st=S i
	mkdir -p "$ag"
	python3 "$E2E_DIR/seccomp_hold_agent.py" "$ag/sock" "$ag" &
	apid=$!
	note_pid "$apid"
	wait_file "$ag/ready"
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	jedit "$b" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'$ag/sock','flags':$2,'syscalls':[{'names':['mkdir','mkdirat'],'action':'SCMP_ACT_NOTIFY'}]}"
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with seccomp flags $2"
	rt exec "$id" mkdir /tmp/held >/dev/null 2>&1 &
	note_pid $!
	wait_file "$ag/held" 20
	p=$(awk 'NR == 1 { print $2 }' "$ag/held")
	kill -STOP "$p"
	for i in $(seq 100); do
		st=$(sed -n 's/^State:\t\(.\).*/\1/p' "/proc/$p/status")
		[ "$st" = S ] || break
		sleep 0.02
	done
	# a little longer: a killable wait must stay one
	sleep 0.2
	st=$(sed -n 's/^State:\t\(.\).*/\1/p' "/proc/$p/status")
	touch "$ag/go"
	kill -CONT "$p"
	rt delete -f "$id" >/dev/null 2>&1
	kill "$apid" 2>/dev/null
	echo "$st"
}

# SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19, no libseccomp 2.5
# attribute: kiln loads the filter with seccomp(2) itself). Once the agent
# has received a notification, the process waits killably: a SIGSTOP leaves
# it in the syscall (D, TASK_KILLABLE) where without the flag it is
# interrupted and stops (T). Without a notify rule the flag is refused.
test_seccomp_wait_killable_recv() {
	[ "$RT_NAME" != runc ] || skip "runc 1.1 has no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
	cap rt features
	[[ $OUT == *SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV* ]] || skip "this kernel does not take WAIT_KILLABLE_RECV"
	local st
	st=$(_held_after_stop plain '[]')
	expect_eq "$st" T "state of a held process after SIGSTOP, no flag"
	st=$(_held_after_stop killable '["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]')
	expect_eq "$st" D "state of a held process after SIGSTOP, WAIT_KILLABLE_RECV"
	local id b
	id=$(new_id)
	b=$(mkb "$id" true)
	jedit "$b" "c['linux']['seccomp']={'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],'syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO'}]}"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "WAIT_KILLABLE_RECV without a notify rule"
	expect_err_has "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule"
	assert_clean "$id"
}

# run --keep (runc's meaning): the payload's exit status, then the container
# stays, stopped, with its state and cgroup, until `delete`.
test_run_keep() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'echo kept; exit 3')
	cap rt run --keep --bundle "$b" "$id"
	expect_rc 3 "run --keep: the payload's status"
	expect_out_eq kept
	expect_eq "$(status_of "$id")" stopped "status after run --keep"
	[ -n "$(cg_dirs "$id")" ] || fail "run --keep removed the cgroup"
	cap rt delete "$id"
	expect_ok "delete after run --keep"
	assert_clean "$id"
	# without --keep nothing is left
	id=$(new_id)
	b=$(mkb "$id" true)
	cap rt run --bundle "$b" "$id"
	expect_ok
	cap rt state "$id"
	expect_rc 1 "state after run without --keep"
	assert_clean "$id"
}

# run makes itself a child subreaper (runc's default): a process of a
# container without a pid namespace of its own whose parent dies is
# reparented to `run`; with --no-subreaper it goes to the host's
# reaper instead. The orphan reads its new parent's command line.
test_run_no_subreaper() {
	local id b script
	script='( sh -c "sleep 0.3; p=\$(sed -n \"s/^PPid:\t//p\" /proc/\$\$/status); tr \"\\0\" \" \" </proc/\$p/cmdline >/mnt/parent.tmp; mv /mnt/parent.tmp /mnt/parent" & ); while [ ! -e /mnt/parent ]; do sleep 0.05; done'
	id=$(new_id)
	b=$(C_NS='{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' mkb "$id" sh -c "$script")
	cap rt run --bundle "$b" "$id"
	expect_ok "run, orphan in the host pid namespace"
	[[ $(cat "$b/share/parent") == *" run "*"$id"* ]] || fail "the orphan's parent is not run: $(cat "$b/share/parent")"
	id=$(new_id)
	b=$(C_NS='{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' mkb "$id" sh -c "$script")
	cap rt run --no-subreaper --bundle "$b" "$id"
	expect_ok "run --no-subreaper"
	[ -s "$b/share/parent" ] || fail "the orphan did not report"
	[[ $(cat "$b/share/parent") != *"$id"* ]] || fail "with --no-subreaper the orphan went to run: $(cat "$b/share/parent")"
	assert_clean "$id"
}

# A static sd_notify for the busybox rootfs: sends argv[1] to $NOTIFY_SOCKET.
SDNOTIFY_C='#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a = {AF_UNIX};
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (!p || argc < 2 || s < 0 || strlen(p) >= sizeof a.sun_path) return 2;
	strcpy(a.sun_path, p);
	return sendto(s, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof a) < 0;
}'
# The host's end: every datagram appended to $TD/host.log, one per line.
NOTIFY_LISTENER_PY='import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
p = sys.argv[1]
if p[0] == "@":
    s.bind("\0" + p[1:])
else:  # by its directory: p may be longer than sun_path
    os.chdir(os.path.dirname(p))
    s.bind(os.path.basename(p))
open(sys.argv[2] + ".ready", "w").close()
while True:
    m = s.recv(4096)
    with open(sys.argv[2], "a") as f:
        f.write(m.decode().replace("\n", "|") + "\n")'

# notify_setup: $TD/rootfs with the sd_notify stand-in as /bin/sdnotify, and
# the host's listener on $TD/host.sock (log $TD/host.log); skips without a
# static C toolchain.
notify_setup() {
	local cc lpid
	cc=$(command -v cc || command -v gcc || true)
	[ -n "$cc" ] || skip "no C compiler for the sd_notify stand-in"
	make_rootfs "$TD/rootfs"
	printf '%s\n' "$SDNOTIFY_C" >"$TD/sdnotify.c"
	"$cc" -static -O2 -o "$TD/rootfs/bin/sdnotify" "$TD/sdnotify.c" 2>"$TD/cc.err" || skip "cannot build static: $(head -c 200 "$TD/cc.err")"
	python3 -c "$NOTIFY_LISTENER_PY" "$TD/host.sock" "$TD/host.log" &
	lpid=$!
	note_pid "$lpid"
	wait_file "$TD/host.log.ready"
}

# two_lines FILE: the listener has written both datagrams (it writes after
# kiln has sent them: under load a little later than kiln returns)
_two_lines() { [ "$(wc -l <"$1" 2>/dev/null)" -ge 2 ]; }
two_lines() { poll 10 _two_lines "$1" || true; }

# NOTIFY_SOCKET (runc's notify_socket.go): the container gets its own socket
# (/run/notify/notify.sock, its directory bound read-only); its READY= line
# reaches the host's socket, then MAINPID=: the init for start and run -d
# (which return only then), kiln itself for a foreground run. A container
# that ends without READY= does not keep start waiting.
test_notify_socket() {
	[ "$RT_NAME" != runc ] || skip "runc 1.1.5's run -d with NOTIFY_SOCKET does not return here"
	local id b rootfs kpid pid t0
	notify_setup
	rootfs=$TD/rootfs
	local payload='echo "$NOTIFY_SOCKET" >/mnt/env; grep " /run/notify " /proc/self/mountinfo >/mnt/mnt; sleep 1; sdnotify "STATUS=up
READY=1"; sleep 30'
	# run -d
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sh -c "$payload")
	t0=${EPOCHREALTIME/./}
	NOTIFY_SOCKET=$TD/host.sock cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d with NOTIFY_SOCKET"
	[ $((${EPOCHREALTIME/./} - t0)) -ge 900000 ] || fail "run -d returned before the container was ready"
	pid=$(pid_of "$id")
	two_lines "$TD/host.log"
	expect_eq "$(cat "$TD/host.log")" "READY=1|
MAINPID=$pid|" "what the host's socket got from run -d"
	expect_eq "$(cat "$b/share/env")" /run/notify/notify.sock "NOTIFY_SOCKET in the container"
	[[ $(cat "$b/share/mnt") == *" /run/notify ro,"*nosuid*nodev*noexec* ]] || fail "/run/notify mount: $(cat "$b/share/mnt")"
	[ -S "$ROOT/$id/notify/notify.sock" ] || fail "no socket in the state dir"
	cap rt delete -f "$id"
	# create, then start
	: >"$TD/host.log"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sh -c "$payload")
	NOTIFY_SOCKET=$TD/host.sock cap rt create --bundle "$b" "$id"
	expect_ok "create with NOTIFY_SOCKET"
	[ ! -s "$TD/host.log" ] || fail "create sent something: $(cat "$TD/host.log")"
	t0=${EPOCHREALTIME/./}
	NOTIFY_SOCKET=$TD/host.sock cap rt start "$id"
	expect_ok "start with NOTIFY_SOCKET"
	[ $((${EPOCHREALTIME/./} - t0)) -ge 900000 ] || fail "start returned before the container was ready"
	two_lines "$TD/host.log"
	expect_eq "$(cat "$TD/host.log")" "READY=1|
MAINPID=$(pid_of "$id")|" "what the host's socket got from start"
	cap rt delete -f "$id"
	# foreground run: kiln is the main pid
	: >"$TD/host.log"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sh -c 'sdnotify READY=1 && sleep 0.5 && echo done')
	NOTIFY_SOCKET=$TD/host.sock "$KILN" --root "$ROOT" run --bundle "$b" "$id" >"$TD/fg.out" 2>&1 &
	kpid=$!
	wait "$kpid" || fail "foreground run: $(cat "$TD/fg.out")"
	expect_eq "$(cat "$TD/fg.out")" done "foreground run's output"
	two_lines "$TD/host.log"
	expect_eq "$(cat "$TD/host.log")" "READY=1|
MAINPID=$kpid|" "what the host's socket got from a foreground run"
	assert_clean "$id"
	# no READY=: start returns when the init ends
	: >"$TD/host.log"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sh -c 'sdnotify STATUS=starting; sleep 0.3')
	NOTIFY_SOCKET=$TD/host.sock cap rt create --bundle "$b" "$id"
	expect_ok
	NOTIFY_SOCKET=$TD/host.sock cap rt start "$id"
	expect_ok "start, container ends without READY="
	[ ! -s "$TD/host.log" ] || fail "the host got something without READY=: $(cat "$TD/host.log")"
	cap rt delete "$id"
	expect_ok
	# host sockets with an abstract name, or a path longer than sun_path
	local long=$TD/$(printf 'd%.0s' {1..110}) host
	mkdir -p "$long"
	for host in "@kiln-e2e-$E2E_RUNID-$TEST_NO" "$long/host.sock"; do
		python3 -c "$NOTIFY_LISTENER_PY" "$host" "$TD/other.log" &
		note_pid $!
		wait_file "$TD/other.log.ready"
		id=$(new_id)
		b=$(C_ROOTFS=$rootfs mkb "$id" sh -c 'sdnotify READY=1; sleep 30')
		NOTIFY_SOCKET=$host cap rt run -d --bundle "$b" "$id"
		expect_ok "run -d, NOTIFY_SOCKET=$host"
		two_lines "$TD/other.log"
		expect_eq "$(cat "$TD/other.log")" "READY=1|
MAINPID=$(pid_of "$id")|" "what $host got"
		cap rt delete -f "$id"
		kill $! 2>/dev/null
		rm -f "$TD/other.log" "$TD/other.log.ready"
	done
	# created without NOTIFY_SOCKET: start with it does not wait
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sleep 30)
	cap rt create --bundle "$b" "$id"
	NOTIFY_SOCKET=$TD/host.sock cap rt start "$id"
	expect_ok "start of a container created without NOTIFY_SOCKET"
	cap rt delete -f "$id"
	assert_clean "$id"
}
