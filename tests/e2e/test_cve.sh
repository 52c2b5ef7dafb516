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
	cp "$bb" "$TD/host/hostbin"
	id=$(new_id)
	b=$(mkb "$id" /proc/self/fd/9/hostbin echo ran-host-binary)
	cap rt run --bundle "$b" "$id" 9<"$TD/host"
	[[ $OUT != *ran-host-binary* ]] || fail "$(ctx "the container ran a host binary through a leaked fd")"
	[ "$RC" != 0 ] || fail "$(ctx "args[0] = /proc/self/fd/9/... was accepted")"
	cap rt delete -f "$id"
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'touch /mnt/ready; exec sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	cap rt exec "$id" /proc/self/fd/9/hostbin echo ran-host-binary 9<"$TD/host"
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
