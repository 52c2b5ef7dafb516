# shellcheck shell=bash
# What the payload sees inside the container.

test_hostname() {
	local id
	id=$(new_id)
	C_HOSTNAME=kiln-host-1 run_in "$id" hostname
	expect_ok
	expect_out_eq kiln-host-1
	id=$(new_id)
	C_HOSTNAME=other.example run_in "$id" cat /proc/sys/kernel/hostname
	expect_out_eq other.example
}

test_pid_namespace() {
	local id
	id=$(new_id)
	run_in "$id" sh -c 'echo $$; ps -o pid,comm | wc -l; readlink /proc/1/exe'
	expect_ok
	expect_eq "$(sed -n 1p <<<"$OUT")" 1 "payload is pid 1"
	# header + sh + ps (+ wc): no host processes visible
	[ "$(sed -n 2p <<<"$OUT")" -le 4 ] || fail "too many processes visible: $OUT"
	expect_eq "$(sed -n 3p <<<"$OUT")" /bin/busybox "pid 1 exe"
	id=$(new_id)
	run_in "$id" readlink /proc/self/ns/pid
	[ "$OUT" != "$(readlink /proc/self/ns/pid)" ] || fail "container shares the host pid namespace"
}

test_devices() {
	sh_in '
		for d in null zero full random urandom tty; do
			test -c /dev/$d || { echo "/dev/$d not a char device"; exit 1; }
		done
		echo x > /dev/null || exit 2
		test "$(head -c 4 /dev/zero | od -An -tx1 | tr -d " ")" = 00000000 || exit 3
		test "$(head -c 16 /dev/urandom | wc -c)" = 16 || exit 4
		test "$(readlink /dev/fd)" = /proc/self/fd || { echo "/dev/fd -> $(readlink /dev/fd)"; exit 5; }
		test "$(readlink /dev/stdin)" = /proc/self/fd/0 || exit 6
		test "$(readlink /dev/stdout)" = /proc/self/fd/1 || exit 7
		test "$(readlink /dev/stderr)" = /proc/self/fd/2 || exit 8
		test -L /dev/ptmx || test -c /dev/ptmx || exit 9
		test -d /dev/pts && test -d /dev/shm && test -d /dev/mqueue || exit 10
		ls /dev/sda /dev/mem 2>/dev/null && exit 11
		exit 0'
}

test_proc_sys_mounted() {
	sh_in '
		grep -q "^proc /proc proc " /proc/mounts || exit 1
		grep -q "^sysfs /sys sysfs ro," /proc/mounts || exit 2
		test -f /proc/self/status || exit 3
		test -d /sys/class/net || exit 4
		echo 1 > /proc/sysrq-trigger 2>/dev/null && exit 5
		test -z "$(cat /proc/kcore 2>/dev/null | head -c 1)" || exit 6
		exit 0'
}

test_readonly_rootfs() {
	local id
	id=$(new_id)
	C_READONLY=true run_in "$id" sh -c 'touch /x && echo wrote; grep " / " /proc/mounts'
	[ "$(head -n1 <<<"$OUT")" != wrote ] || fail "touch /x succeeded on a read-only rootfs"
	grep -q ' / [a-z0-9]* ro[, ]' <<<"$OUT" || fail "/ not mounted ro: $OUT"
	[ ! -e "$E2E_TMP/rootfs/x" ] || fail "file appeared on the host rootfs"
	# the bind mount stays writable
	id=$(new_id)
	C_READONLY=true run_in "$id" sh -c 'touch /mnt/ok'
	expect_ok "write to a rw bind mount under a ro rootfs"
	# readonly=false: writable (private rootfs copy for this)
	id=$(new_id)
	mkdir -p "$TD/rw"
	make_rootfs "$TD/rw/rootfs"
	C_READONLY=false C_ROOTFS=$TD/rw/rootfs run_in "$id" sh -c 'touch /x'
	expect_ok "touch /x on a rw rootfs"
	[ -e "$TD/rw/rootfs/x" ] || fail "file not in the rootfs"
}

test_env_cwd() {
	local id
	id=$(new_id)
	C_ENV='"FOO=bar baz","EMPTY="' C_CWD=/tmp run_in "$id" sh -c 'echo "$FOO|${EMPTY-unset}|$PWD|$(pwd)|$TERM|$HOME"'
	expect_ok
	# HOME is set by the runtime from /etc/passwd when not in env (runc: /root)
	expect_out_eq "bar baz||/tmp|/tmp|xterm|/root"
	id=$(new_id)
	C_CWD=/does/not/exist run_in "$id" pwd
	# runc creates a missing cwd (on a ro rootfs it cannot): accept either
	# success in that dir or an error, but never another dir.
	[ "$RC" != 0 ] || expect_out_eq /does/not/exist "missing cwd"
}

test_user() {
	local id
	id=$(new_id)
	C_UID=1000 C_GID=1000 C_GIDS='[5, 6]' run_in "$id" sh -c 'id -u; id -g; id -G; grep -E "^(Uid|Gid|Groups):" /proc/self/status'
	expect_ok
	expect_eq "$(sed -n 1p <<<"$OUT")" 1000 uid
	expect_eq "$(sed -n 2p <<<"$OUT")" 1000 gid
	expect_eq "$(sed -n 3p <<<"$OUT" | tr ' ' '\n' | sort -n | tr '\n' ' ')" "5 6 1000 " "groups"
	grep -q $'^Uid:\t1000\t1000\t1000\t1000' <<<"$OUT" || fail "Uid line: $OUT"
	id=$(new_id)
	C_UID=1000 C_GID=1000 run_in "$id" sh -c 'id -G; touch /mnt/by-user'
	expect_ok
	expect_out_eq 1000 "no supplementary groups left from the runtime"
	[ "$(stat -c %u:%g "$TD/b-$id/share/by-user")" = 1000:1000 ] || fail "file owner $(stat -c %u:%g "$TD/b-$id/share/by-user")"
}

test_capabilities_default() {
	local id
	id=$(new_id)
	run_in "$id" grep Cap /proc/self/status
	expect_ok
	# CAP_KILL(5) CAP_NET_BIND_SERVICE(10) CAP_AUDIT_WRITE(29). The ambient
	# set stays empty: raising an ambient cap needs it inheritable too, and
	# the config has no inheritable set (runc ignores the failed raise).
	for k in CapInh CapPrm CapEff CapBnd CapAmb; do
		local want=0000000020000420
		[ $k = CapInh ] || [ $k = CapAmb ] && want=0000000000000000
		grep -q "^$k:	$want$" <<<"$OUT" || fail "$k: want $want: $(tr '\n' ' ' <<<"$OUT")"
	done
}

test_capabilities_docker_set() {
	local id
	id=$(new_id)
	C_CAPS=$DOCKER_CAPS run_in "$id" grep Cap /proc/self/status
	expect_ok
	for k in CapPrm CapEff CapBnd; do
		grep -q "^$k:	00000000a80425fb$" <<<"$OUT" || fail "$k: want 00000000a80425fb: $(tr '\n' ' ' <<<"$OUT")"
	done
	# with inheritable too, the ambient set is raised
	id=$(new_id)
	C_CAPS=$DOCKER_CAPS C_INH=$DOCKER_CAPS run_in "$id" grep Cap /proc/self/status
	expect_ok
	for k in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q "^$k:	00000000a80425fb$" <<<"$OUT" || fail "inheritable: $k: want 00000000a80425fb: $(tr '\n' ' ' <<<"$OUT")"
	done
	# a non-root user keeps capabilities across execve only through ambient
	# caps, which need the inheritable set
	id=$(new_id)
	C_UID=1000 C_GID=1000 C_CAPS='"CAP_NET_RAW"' run_in "$id" grep -E '^Cap(Eff|Bnd)' /proc/self/status
	expect_ok
	expect_out_eq $'CapEff:\t0000000000000000\nCapBnd:\t0000000000002000' "uid 1000 with CAP_NET_RAW, not inheritable"
	id=$(new_id)
	C_UID=1000 C_GID=1000 C_CAPS='"CAP_NET_RAW"' C_INH='"CAP_NET_RAW"' run_in "$id" grep -E '^Cap(Eff|Amb)' /proc/self/status
	expect_ok
	expect_out_eq $'CapEff:\t0000000000002000\nCapAmb:\t0000000000002000' "uid 1000 with ambient CAP_NET_RAW"
	id=$(new_id)
	C_CAPS=' ' run_in "$id" grep -E '^Cap(Eff|Bnd)' /proc/self/status
	expect_ok
	expect_out_eq $'CapEff:\t0000000000000000\nCapBnd:\t0000000000000000' "empty capability sets"
}

test_no_new_privs() {
	local id
	id=$(new_id)
	C_NNP=true run_in "$id" grep NoNewPrivs /proc/self/status
	expect_ok
	expect_out_eq $'NoNewPrivs:\t1'
	id=$(new_id)
	C_NNP=false run_in "$id" grep NoNewPrivs /proc/self/status
	expect_ok
	expect_out_eq $'NoNewPrivs:\t0'
}

test_rlimits() {
	local id
	id=$(new_id)
	run_in "$id" sh -c 'ulimit -n; ulimit -Hn'
	expect_ok
	expect_out_eq $'1024\n1024' "default RLIMIT_NOFILE"
	id=$(new_id)
	C_RLIMITS='[{"type":"RLIMIT_NOFILE","hard":600,"soft":512},{"type":"RLIMIT_CORE","hard":0,"soft":0},{"type":"RLIMIT_NPROC","hard":300,"soft":200}]' \
		run_in "$id" sh -c 'ulimit -n; ulimit -Hn; ulimit -c; grep "Max processes" /proc/self/limits'
	expect_ok
	expect_eq "$(sed -n 1,3p <<<"$OUT" | tr '\n' ' ')" "512 600 0 " "nofile soft, hard, core"
	[[ $(sed -n 4p <<<"$OUT") =~ Max\ processes\ +200\ +300 ]] || fail "nproc: $OUT"
}

test_umask() {
	local id
	id=$(new_id)
	C_UMASK=63 run_in "$id" sh -c 'umask; touch /mnt/f; mkdir /mnt/d'
	expect_ok
	expect_out_eq 0077 "umask 077"
	expect_eq "$(stat -c %a "$TD/b-$id/share/f")" 600 "file mode under umask 077"
	id=$(new_id)
	run_in "$id" sh -c umask
	expect_ok
	expect_out_eq 0022 "default umask"
}

test_loopback_up() {
	local id
	id=$(new_id)
	run_in "$id" sh -c 'ip -o link show; cat /sys/class/net/lo/flags; ls /sys/class/net'
	expect_ok
	grep -q '^1: lo: <LOOPBACK,UP,LOWER_UP>' <<<"$OUT" || fail "lo not up: $OUT"
	grep -q '^0x9$' <<<"$OUT" || fail "lo flags: $OUT"
	expect_eq "$(tail -n1 <<<"$OUT")" lo "only lo in a new network namespace"
	id=$(new_id)
	C_CAPS="$DEFAULT_CAPS,\"CAP_NET_RAW\"" run_in "$id" sh -c 'ip -o addr show dev lo | grep -q "inet 127.0.0.1/8" && ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok'
	expect_ok "127.0.0.1 configured and reachable"
	expect_out_eq ping-ok
}

test_no_fd_leak() {
	local id
	# Open extra fds in the caller: the runtime must not hand them (or its own) on.
	exec 7</dev/null 8>"$TD/extra-fd" 9<"$E2E_TMP/rootfs/bin/busybox"
	id=$(new_id)
	run_in "$id" ls /proc/self/fd
	expect_ok
	expect_eq "$(tr '\n' ' ' <<<"$OUT")" "0 1 2 3 " "fds in the container (3 = ls's dir fd)"
	# the same through a created+started container (create's own fds)
	local b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'ls /proc/self/fd > /mnt/fds')
	cap rt create --bundle "$b" "$id"
	expect_ok
	cap rt start "$id"
	expect_ok
	wait_nonempty "$b/share/fds"
	expect_eq "$(tr '\n' ' ' <"$b/share/fds")" "0 1 2 3 " "fds after create+start"
	exec 7<&- 8>&- 9<&-
}

test_cgroup_membership() {
	local id b pid d
	id=$(new_id)
	b=$(mkb "$id" sh -c 'cat /proc/self/cgroup > /mnt/cgroup; exec sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	wait_nonempty "$b/share/cgroup"
	grep -q ":$(cg_path "$id")\$" "$b/share/cgroup" || fail "container not in its cgroupsPath: $(cat "$b/share/cgroup")"
	# every controller hierarchy in which the runtime made a cgroup for us
	pid=$(pid_of "$id")
	[ -n "$(cg_dirs "$id")" ] || fail "no cgroup dir for $id"
	for d in /sys/fs/cgroup/memory /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -f "$d/cgroup.procs" ] || continue
		[ -d "$d/$(cg_path "$id")" ] || { [ "$d" = /sys/fs/cgroup/unified ] && continue; fail "no cgroup in $d"; }
		grep -qx "$pid" "$d/$(cg_path "$id")/cgroup.procs" || fail "pid $pid not in $d$(cg_path "$id")/cgroup.procs"
	done
	# host cgroup of our own shell is not the container's
	grep -q "$(cg_path "$id")" /proc/self/cgroup && fail "the test shell was moved into the container cgroup"
	cap rt delete -f "$id"
	expect_ok
	assert_clean "$id"
}

test_join_namespace_by_path() {
	local a b ba bb pid
	a=$(new_id)
	ba=$(C_HOSTNAME=joined-host mkb "$a" sleep 60)
	cap rt run -d --bundle "$ba" "$a"
	expect_ok
	pid=$(pid_of "$a")
	b=$(new_id)
	bb=$(C_HOSTNAME=- C_NS="{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"uts\",\"path\":\"/proc/$pid/ns/uts\"},{\"type\":\"network\",\"path\":\"/proc/$pid/ns/net\"}" \
		mkb "$b" sh -c 'hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/net')
	cap rt run --bundle "$bb" "$b"
	expect_ok "run joining uts+net of $a"
	expect_eq "$(sed -n 1p <<<"$OUT")" joined-host "hostname via joined uts ns"
	expect_eq "$(sed -n 2p <<<"$OUT")" "$(readlink /proc/$pid/ns/uts)" "uts ns"
	expect_eq "$(sed -n 3p <<<"$OUT")" "$(readlink /proc/$pid/ns/net)" "net ns"
	# bad path: error, nothing left
	b=$(new_id)
	bb=$(C_HOSTNAME=- C_NS='{"type":"pid"},{"type":"mount"},{"type":"uts","path":"/proc/999999999/ns/uts"}' mkb "$b" true)
	cap rt run --bundle "$bb" "$b"
	expect_rc 1 "joining a nonexistent ns path"
	assert_clean "$b"
	cap rt delete -f "$a"
}

test_no_pivot() {
	local id b
	id=$(new_id)
	b=$(C_HOSTNAME=nopivot mkb "$id" sh -c 'hostname; echo $$; ls /bin/busybox; test -e /mnt && echo mnt')
	cap rt run --no-pivot --bundle "$b" "$id"
	expect_ok "run --no-pivot"
	expect_out_eq $'nopivot\n1\n/bin/busybox\nmnt'
	assert_clean "$id"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'echo started > /mnt/m')
	cap rt create --no-pivot --bundle "$b" "$id"
	expect_ok "create --no-pivot"
	cap rt start "$id"
	expect_ok
	wait_file "$b/share/m"
	wait_status "$id" stopped
	cap rt delete "$id"
	expect_ok
	assert_clean "$id"
	# The host's proc is not left reachable beside the chroot: a new user
	# and pid namespace inside cannot mount a bare proc (runc's no_pivot.bats).
	id=$(new_id)
	b=$(C_CAPS='"CAP_SYS_ADMIN","CAP_SETFCAP","CAP_SETUID","CAP_SETGID"' mkb "$id" sh -c 'unshare -mrpf sh -c "mount -t proc none /proc && echo mounted-bare-proc" 2>&1')
	cap rt run --no-pivot --bundle "$b" "$id"
	[[ $OUT == *mounted-bare-proc* ]] && fail "a bare proc could be mounted under --no-pivot: $OUT"
	[[ $OUT == *"ermission denied"* ]] || fail "mount of a bare proc: want permission denied: $OUT"
}

test_masked_readonly_paths() {
	sh_in '
		test -z "$(cat /proc/keys 2>/dev/null)" || exit 1
		echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && exit 2
		grep -q " /proc/sys [a-z]* ro," /proc/mounts || exit 3
		exit 0'
}

test_mount_bind_readonly() {
	local id
	id=$(new_id)
	mkdir -p "$TD/ro"
	echo content >"$TD/ro/file"
	make_rootfs "$TD/rootfs2"
	C_MOUNTS="{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"$TD/ro\",\"options\":[\"rbind\",\"ro\"]},{\"destination\":\"/scratch\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"size=1m\"]}" \
		C_READONLY=false C_ROOTFS=$TD/rootfs2 run_in "$id" sh -c 'cat /data/file; touch /data/x 2>/dev/null && echo writable; touch /scratch/y && echo tmpfs-ok'
	expect_ok
	expect_out_eq $'content\ntmpfs-ok' "ro bind + tmpfs (mount points created in the rootfs)"
	[ -d "$TD/rootfs2/data" ] || fail "mount point /data not created in rootfs"
	[ ! -e "$TD/ro/x" ] || fail "wrote through a ro bind mount"
}

test_seccomp_denies_syscall() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'mkdir /tmp/blocked 2>&1; echo mkdir-rc=$?; uname -s')
	# Allow everything, but mkdir/mkdirat fail with EPERM (1); unknown names are skipped.
	sed -i 's|"linux": {|"linux": { "seccomp": { "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [ { "names": ["mkdir", "mkdirat", "no_such_syscall_xyz"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 } ] },|' "$b/config.json"
	sed -i 's/"readonly": true/"readonly": false/' "$b/config.json"
	cap rt run --bundle "$b" "$id"
	expect_ok "run with a seccomp filter"
	expect_out_has "mkdir-rc=1" "mkdir denied by seccomp"
	expect_out_has "Linux" "other syscalls still allowed"
}

test_socket_activation_fds() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'echo fds=$LISTEN_FDS pid=$LISTEN_PID; cat <&3; cat <&4')
	echo listen-fd-content >"$TD/l3"
	echo preserved-fd-content >"$TD/p4"
	# LISTEN_PID must be the runtime's own pid: exec keeps the shell's.
	bash -c 'exec 3<"$1" 4<"$2"; export LISTEN_FDS=1 LISTEN_PID=$$; exec "$3" --root "$4" run --preserve-fds 1 --bundle "$5" "$6"' \
		_ "$TD/l3" "$TD/p4" "$KILN" "$ROOT" "$b" "$id" >"$TD/out" 2>&1
	RC=$?
	expect_ok "run with LISTEN_FDS and --preserve-fds ($(cat "$TD/out"))"
	grep -q 'fds=1 pid=1' "$TD/out" || fail "LISTEN_FDS/LISTEN_PID not set for the payload: $(cat "$TD/out")"
	grep -q 'listen-fd-content' "$TD/out" || fail "listen fd 3 not passed: $(cat "$TD/out")"
	grep -q 'preserved-fd-content' "$TD/out" || fail "preserved fd 4 not passed: $(cat "$TD/out")"
}
