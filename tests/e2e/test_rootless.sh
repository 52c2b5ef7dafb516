# shellcheck shell=bash
# Rootless: the runtime run by an unprivileged user the test makes (useradd,
# with the /etc/subuid and /etc/subgid ranges useradd gives it; removed by
# e2e_cleanup, see rl_user). Run as root; the same tests pass against runc
# (KILN=$(command -v runc)) where runc supports the case.
#
# Without a delegated cgroup (this hybrid host) containers run without
# cgroups and limits are refused. Under systemd (the tests/vm systemd VM)
# every command of the user runs in a delegated scope (Delegate=yes) of its
# user manager (user@UID.service), in a leaf "tool" of it: containers get a
# cgroup v2 beside that leaf (runc's rule) and limits are applied there.

# rl_user: a fresh user for this test: RL_USER RL_UID RL_GID, RL_SUBUID and
# RL_SUBGID (start of its 65536 subordinate ids, "" without), ROOT owned by
# it, RL_SYSTEMD=1 when a user manager with a delegated cgroup runs for it.
rl_user() {
	RL_USER=kiln-rl-$E2E_RUNID-$TEST_NO
	echo "$RL_USER" >>"$TD/.users"
	useradd -M -d "${RL_HOME:-/nonexistent}" -s /bin/sh "$RL_USER" >/dev/null 2>&1 || fail "useradd $RL_USER"
	RL_UID=$(id -u "$RL_USER") RL_GID=$(id -g "$RL_USER")
	RL_SUBUID=$(sed -n "s/^$RL_USER:\([0-9]*\):65536\$/\1/p" /etc/subuid 2>/dev/null)
	RL_SUBGID=$(sed -n "s/^$RL_USER:\([0-9]*\):65536\$/\1/p" /etc/subgid 2>/dev/null)
	chown "$RL_USER:" "$ROOT"
	chmod 700 "$ROOT"
	RL_SYSTEMD=0
	if [ -d /run/systemd/system ] && [ "${E2E_ROOTLESS_SYSTEMD:-1}" = 1 ]; then
		systemctl start "user@$RL_UID.service" >/dev/null 2>&1 || fail "systemctl start user@$RL_UID.service"
		RL_SYSTEMD=1
	fi
}

# as_user CMD...: CMD as RL_USER with a plain environment (in a scope of its
# user manager under systemd, with XDG_RUNTIME_DIR=/run/user/UID). RL_XDG
# set: CMD's XDG_RUNTIME_DIR ("" = none).
as_user() {
	[ "$RL_UID" != 0 ] || { "$@"; return; }
	local env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/ USER="$RL_USER" LOGNAME="$RL_USER")
	local inner=(env)
	if [ -n "${RL_XDG+set}" ]; then
		if [ -n "$RL_XDG" ]; then inner+=(XDG_RUNTIME_DIR="$RL_XDG"); else inner+=(-u XDG_RUNTIME_DIR); fi
	fi
	if [ -n "${RL_CGLEAF:-}" ]; then
		# Root puts CMD in the leaf of the user's delegated cgroup (moving
		# it needs write access to the common ancestor's cgroup.procs).
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$RL_CGLEAF" \
			setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups env -i "${env[@]}" "${inner[@]}" "$@"
	elif [ "$RL_SYSTEMD" = 1 ]; then
		# A delegated scope, as a build tool gets one; CMD moves to a leaf
		# in it, so that the container's cgroup goes beside CMD's (runc's
		# v2 rule) inside the scope, where systemd leaves the controllers
		# alone.
		setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups env -i "${env[@]}" XDG_RUNTIME_DIR="/run/user/$RL_UID" \
			systemd-run --user --scope --quiet --collect -p Delegate=yes -- sh -c '
				c=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)
				mkdir "$c/tool" && echo $$ >"$c/tool/cgroup.procs" && exec "$@"' sh "${inner[@]}" "$@"
	else
		setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups env -i "${env[@]}" "${inner[@]}" "$@"
	fi
}
# urt ARGS...: the runtime as RL_USER with our private state dir
urt() { as_user timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$ROOT" "$@"; }

# mkb_rl ID [ARGS...]: mkb for RL_USER: a user namespace mapping its own ids
# to 0 (runc spec --rootless), or with RL_MAPS=sub also 1..65536 to its
# subordinate ids; no cgroupsPath, devpts without gid=5 (unmapped) unless
# those are mapped.
mkb_rl() {
	local b id=$1 maps ns=${C_NS:-$DEFAULT_NS}
	shift
	b=$(C_CGPATH=- C_NS="$ns,{\"type\":\"user\"}" mkb "$id" "$@")
	maps="[{'containerID': 0, 'hostID': $RL_UID, 'size': 1}]"
	local gmaps="[{'containerID': 0, 'hostID': $RL_GID, 'size': 1}]"
	if [ "${RL_MAPS:-own}" = sub ]; then
		maps="[{'containerID': 0, 'hostID': $RL_UID, 'size': 1}, {'containerID': 1, 'hostID': $RL_SUBUID, 'size': 65536}]"
		gmaps="[{'containerID': 0, 'hostID': $RL_GID, 'size': 1}, {'containerID': 1, 'hostID': $RL_SUBGID, 'size': 65536}]"
	fi
	jedit "$b" "
c['linux']['uidMappings'] = $maps
c['linux']['gidMappings'] = $gmaps
if '${RL_MAPS:-own}' != 'sub':
    for m in c['mounts']:
        m['options'] = [o for o in m.get('options', []) if not o.startswith('gid=')]
"
	[ "$RL_UID" = 0 ] || chown "$RL_USER:" "$b/share"
	echo "$b"
}

need_subids() {
	[ -n "$RL_SUBUID" ] && [ -n "$RL_SUBGID" ] || skip "no /etc/subuid and /etc/subgid range for $RL_USER"
	command -v newuidmap >/dev/null && command -v newgidmap >/dev/null || skip "no newuidmap/newgidmap (uidmap package)"
}

# squeeze: uid_map lines as "A B C"
squeeze() { tr -s ' ' | sed 's/^ //'; }

test_rootless_run_own_ids() {
	local id b
	rl_user
	id=$(new_id)
	b=$(mkb_rl "$id" sh -c 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; id -g; hostname')
	cap urt run --bundle "$b" "$id"
	expect_ok "rootless run, own ids mapped"
	expect_eq "$(squeeze <<<"$OUT")" "$(printf '0 %s 1\n0 %s 1\ndeny\n0\n0\nkiln-e2e' "$RL_UID" "$RL_GID")" \
		"maps, setgroups, ids, hostname"
	assert_clean "$id"
}

test_rootless_run_subid_ranges() {
	local id b
	rl_user
	need_subids
	id=$(new_id)
	b=$(RL_MAPS=sub C_UID=1000 C_GID=1000 mkb_rl "$id" sh -c 'cat /proc/self/uid_map /proc/self/setgroups; id -u; id -g; echo x >/mnt/f')
	cap urt run --bundle "$b" "$id"
	expect_ok "rootless run with newuidmap/newgidmap ranges"
	expect_eq "$(squeeze <<<"$OUT")" "$(printf '0 %s 1\n1 %s 65536\nallow\n1000\n1000' "$RL_UID" "$RL_SUBUID")" \
		"maps, setgroups, ids"
	expect_eq "$(stat -c %u:%g "$b/share/f")" "$((RL_SUBUID + 999)):$((RL_SUBGID + 999))" "owner of a file the container made"
	# A range outside /etc/subuid: newuidmap refuses, nothing is left.
	id=$(new_id)
	b=$(RL_MAPS=sub mkb_rl "$id" true)
	jedit "$b" "c['linux']['uidMappings'][1]['hostID'] = $RL_SUBUID + 65536"
	cap urt run --bundle "$b" "$id"
	expect_rc 1 "a uid range the user does not own"
	assert_clean "$id"
}

test_rootless_lifecycle() {
	local id b pid
	rl_user
	id=$(new_id)
	b=$(mkb_rl "$id" sleep 600)
	cap urt create --bundle "$b" "$id"
	expect_ok "rootless create"
	cap urt state "$id"
	expect_out_has '"status": "created"'
	cap urt start "$id"
	expect_ok "rootless start"
	cap urt state "$id"
	expect_out_has '"status": "running"'
	pid=$(json_get pid <<<"$OUT")
	cap urt list
	expect_ok
	expect_out_has "$id"
	expect_out_has "$RL_USER"
	cap urt exec "$id" sh -c 'id -u; cat /proc/self/uid_map'
	expect_ok "rootless exec"
	expect_eq "$(squeeze <<<"$OUT")" "$(printf '0\n0 %s 1' "$RL_UID")" "exec: uid and map"
	cap urt ps "$id"
	if [ "$RL_SYSTEMD" = 1 ] || [ "$RT_NAME" = kiln ]; then
		# kiln without a cgroup: the processes of the container's pid namespace
		expect_ok "rootless ps"
		expect_out_has "$pid"
	else
		expect_rc 1 "runc ps without a cgroup"
	fi
	cap urt pause "$id"
	if [ "$RL_SYSTEMD" = 1 ]; then
		expect_ok "rootless pause (delegated cgroup)"
		cap urt state "$id"
		expect_out_has '"status": "paused"'
		cap urt resume "$id"
		expect_ok "rootless resume"
	else
		expect_rc 1 "pause without a cgroup"
	fi
	cap urt kill "$id" KILL
	expect_ok "rootless kill"
	wait_status_u "$id" stopped
	cap urt delete "$id"
	expect_ok "rootless delete"
	assert_clean "$id"
}

# exec at once after run -d: the init may not have exec'd yet, and until
# then the user may not join its namespaces (kiln waits for it; runc's exec
# tests hit it one time in five).
test_rootless_exec_after_run() {
	local id b i
	rl_user
	for i in 1 2 3 4 5 6 7 8 9 10; do
		id=$(new_id)
		b=$(mkb_rl "$id" sleep 600)
		cap urt run -d --bundle "$b" "$id"
		expect_ok "run -d #$i"
		cap urt exec "$id" id -u
		expect_ok "exec right after run -d #$i"
		expect_out_eq 0
		cap urt delete -f "$id"
		expect_ok
	done
}

# wait_status_u ID STATUS: wait_status as RL_USER
_status_is_u() { [ "$(urt state "$1" 2>/dev/null | json_get status)" = "$2" ]; }
wait_status_u() { poll 10 _status_is_u "$1" "$2" || fail "container $1 did not become $2"; }

test_rootless_default_root() {
	local id b
	rl_user
	RL_XDG=$TD/xdg
	mkdir -m 700 "$RL_XDG" && chown "$RL_USER:" "$RL_XDG"
	id=$(new_id)
	b=$(mkb_rl "$id" true)
	cap as_user timeout 30 "$KILN" run --bundle "$b" "$id"
	expect_ok "run with the default state root"
	local want=$RL_XDG/$RT_NAME
	[ -d "$want" ] || fail "no state root $want"
	expect_eq "$(stat -c %a "$want")" 1700 "mode of $want"
	# Neither $XDG_RUNTIME_DIR nor /run/<runtime> usable: a clear error.
	RL_XDG=
	id=$(new_id)
	b=$(mkb_rl "$id" true)
	cap as_user timeout 30 "$KILN" run --bundle "$b" "$id"
	expect_rc 1 "run without XDG_RUNTIME_DIR, /run not writable"
	if [ "$RT_NAME" = kiln ]; then
		expect_err_has 'XDG_RUNTIME_DIR is not set'
	else
		expect_err_has 'permission denied'
	fi
	assert_clean "$id"
}

test_rootless_cgroup_rules() {
	local id b
	rl_user
	[ "$RL_SYSTEMD" = 0 ] || skip "a delegated cgroup is there (see rootless_build_step)"
	# No limits, no cgroupsPath, no permission: runs without a cgroup.
	id=$(new_id)
	b=$(mkb_rl "$id" true)
	cap urt run --bundle "$b" "$id"
	expect_ok "no limits, no cgroupsPath"
	# Limits without a cgroup: refused, runc's words.
	id=$(new_id)
	b=$(mkb_rl "$id" true)
	jedit "$b" "c['linux']['resources']['pids'] = {'limit': 20}"
	cap urt run --bundle "$b" "$id"
	expect_rc 1 "limits without a delegated cgroup"
	[[ $ERR == *"rootless needs no limits + no cgrouppath when no permission is granted for cgroups"* ||
		$ERR == *"cannot set pids limit: container could not join or create cgroup"* ]] || fail "$(ctx "limits refused, wording")"
	assert_clean "$id"
	# A cgroupsPath the user may not create: a permission error.
	id=$(new_id)
	b=$(mkb_rl "$id" true)
	jedit "$b" "c['linux']['cgroupsPath'] = '$(cg_path "$id")'"
	cap urt run --bundle "$b" "$id"
	expect_rc 1 "cgroupsPath without permission"
	expect_err_has "unable to apply cgroup configuration: mkdir "
	expect_err_has ": permission denied"
	assert_clean "$id"
}

test_rootless_userns_limits() {
	local id b hard
	rl_user
	# sysfs without a network namespace of its own: kiln binds the host's
	# (runc 1.1 only does so through `spec --rootless`).
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' mkb_rl "$id" sh -c 'test -d /sys/kernel && echo sys; touch /sys/x 2>/dev/null || echo ro')
	cap urt run --bundle "$b" "$id"
	if [ "$RT_NAME" = kiln ]; then
		expect_ok "sysfs without a network namespace"
		expect_out_eq $'sys\nro'
	else
		expect_rc 1 "runc: sysfs mount refused without a network namespace"
	fi
	assert_clean "$id"
	# runc spec --rootless's rbind of /sys
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' mkb_rl "$id" sh -c 'test -d /sys/kernel && echo sys')
	jedit "$b" "
for m in c['mounts']:
    if m['destination'] == '/sys':
        m.update(type='none', source='/sys', options=['rbind', 'nosuid', 'noexec', 'nodev', 'ro'])
"
	cap urt run --bundle "$b" "$id"
	expect_ok "rbind /sys"
	expect_out_eq sys
	# /dev nodes are the host's, bound (no mknod in a user namespace).
	id=$(new_id)
	b=$(mkb_rl "$id" sh -c 'stat -c "%t:%T %F" /dev/null /dev/zero; echo x >/dev/null && head -c 3 /dev/zero | wc -c')
	cap urt run --bundle "$b" "$id"
	expect_ok "devices"
	expect_out_eq $'1:3 character special file\n1:5 character special file\n3'
	# /dev/ptmx among linux.devices stays the pts/ptmx symlink (runc's
	# dev.bats "redundant default /dev/ptmx"; the host's bound opened none).
	id=$(new_id)
	b=$(mkb_rl "$id" sh -c 'readlink /dev/ptmx; stat -L -c "%t:%T" /dev/ptmx')
	jedit "$b" "c['linux']['devices'] = [{'path': '/dev/ptmx', 'type': 'c', 'major': 5, 'minor': 2}]"
	cap urt run --bundle "$b" "$id"
	expect_ok "/dev/ptmx in linux.devices"
	expect_out_eq $'pts/ptmx\n5:2'
	# An rlimit above the user's hard limit: refused like runc.
	hard=$(as_user sh -c 'ulimit -Hn')
	id=$(new_id)
	b=$(C_RLIMITS="[{\"type\": \"RLIMIT_NOFILE\", \"hard\": $((hard + 1)), \"soft\": 1024}]" mkb_rl "$id" true)
	cap urt run --bundle "$b" "$id"
	expect_rc 1 "raising RLIMIT_NOFILE above $hard"
	expect_err_has "error setting rlimit type"
	assert_clean "$id"
	# additionalGids: runc refuses them in a rootless container.
	id=$(new_id)
	b=$(C_GIDS='[0]' mkb_rl "$id" true)
	cap urt run --bundle "$b" "$id"
	expect_rc 1 "additionalGids"
	expect_err_has "cannot set any additional groups in a rootless container"
	assert_clean "$id"
	# No user namespace at all.
	id=$(new_id)
	b=$(C_CGPATH=- mkb "$id" true)
	cap urt run --bundle "$b" "$id"
	expect_rc 1 "no user namespace"
	expect_err_has "rootless container requires user namespaces"
	assert_clean "$id"
}

# Join the user namespace of A, then make pid, mount, uts, ipc and network
# namespaces inside it: hostname, loopback and mounts must work.
_join_userns() {
	local a b ba bb pid
	a=$(new_id)
	ba=$(mkb_rl "$a" sleep 600)
	cap urt run -d --bundle "$ba" "$a"
	expect_ok "run A"
	pid=$(urt state "$a" | json_get pid)
	b=$(new_id)
	bb=$(C_HOSTNAME=joiner mkb_rl "$b" sh -c 'hostname; readlink /proc/self/ns/user; echo $$; ip -o link | grep -c "lo:.*UP"; grep -c " /dev/shm " /proc/self/mounts')
	jedit "$bb" "
for n in c['linux']['namespaces']:
    if n['type'] == 'user':
        n['path'] = '/proc/$pid/ns/user'
"
	cap urt run --bundle "$bb" "$b"
	expect_ok "run B in A's user namespace"
	expect_eq "$OUT" "$(printf 'joiner\n%s\n1\n1\n1' "$(readlink /proc/$pid/ns/user)")" "B: hostname, user ns, pid, lo up, mounts"
	assert_clean "$b"
	cap urt delete -f "$a"
}

test_rootless_join_userns() {
	rl_user
	_join_userns
}

test_join_userns_as_root() {
	# The same as root (as_user runs as root): ids 1.. mapped to 200000..
	RL_USER=root RL_UID=0 RL_GID=0 RL_SYSTEMD=0 RL_SUBUID=200000 RL_SUBGID=200000
	RL_MAPS=sub _join_userns
}

# The build step of a daemonless CI tool: no network but loopback, the
# workspace read-write at /workspace and nothing else writable, output
# captured, exit status propagated, nothing left. With a delegated cgroup:
# memory and pids limits, read back from inside and outside.
test_rootless_build_step() {
	local id b ws cg="" rootfs=$TD/rootfs-rl
	rl_user
	ws=$TD/ws
	mkdir "$ws" && echo 'int main(){}' >"$ws/src.c" && chown -R "$RL_USER:" "$ws"
	# The image as the build tool unpacks it: the user's files.
	make_rootfs "$rootfs" && mkdir "$rootfs/workspace" && chown -R "$RL_USER:" "$rootfs" || fail "rootfs"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs C_NS='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}' \
		C_CWD=/workspace mkb_rl "$id" sh -c '
		ip -o link | cut -d: -f2 | tr -d " " | tr "\n" " "; echo
		wget -q -T 2 -O- http://10.0.2.2/ 2>/dev/null && echo NET || echo nonet
		touch /etc/x 2>/dev/null && echo rootfs-rw || echo rootfs-ro
		echo built >out.txt && cat src.c
		cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>/dev/null | tr "\n" " "; echo
		echo to-stderr >&2
		exit 7')
	jedit "$b" "
c['mounts'].append({'destination': '/workspace', 'type': 'bind', 'source': '$ws', 'options': ['rbind', 'rw']})
"
	if [ "$RL_SYSTEMD" = 1 ]; then
		jedit "$b" "c['linux']['resources'].update(memory={'limit': 67108864}, pids={'limit': 32})"
	fi
	cap urt run --bundle "$b" "$id"
	expect_rc 7 "the step's exit status"
	expect_eq "$(sed -n 1p <<<"$OUT")" "lo " "network: loopback only"
	expect_eq "$(sed -n 2,4p <<<"$OUT")" $'nonet\nrootfs-ro\nint main(){}' "no network, read-only rootfs, workspace"
	if [ "$RL_SYSTEMD" = 1 ]; then
		expect_eq "$(sed -n 5p <<<"$OUT")" "67108864 32 " "limits read back inside"
	fi
	expect_eq "$ERR" to-stderr "stderr captured"
	expect_eq "$(cat "$ws/out.txt")" built "output in the workspace"
	expect_eq "$(stat -c %U "$ws/out.txt")" "$RL_USER" "owner of the output"
	assert_clean "$id"
	[ -z "$(ls -A "$ROOT")" ] || fail "state left in $ROOT: $(ls -A "$ROOT")"
	! grep -q " $ws " /proc/self/mountinfo || fail "workspace mount left on the host"
	if [ "$RL_SYSTEMD" = 1 ]; then
		# Limits while it runs, read from the host in the user's delegated tree.
		id=$(new_id)
		b=$(mkb_rl "$id" sleep 600)
		jedit "$b" "c['linux']['resources'].update(memory={'limit': 67108864}, pids={'limit': 32})"
		cap urt run -d --bundle "$b" "$id"
		expect_ok "run -d with limits"
		cg=$(sed -n 's/^0:://p' "/proc/$(urt state "$id" | json_get pid)/cgroup")
		case $cg in "/user.slice/user-$RL_UID.slice/user@$RL_UID.service/"*.scope/"$id") ;; *) fail "container cgroup $cg is not in the user's delegated scope" ;; esac
		expect_eq "$(cat "/sys/fs/cgroup$cg/memory.max") $(cat "/sys/fs/cgroup$cg/pids.max")" "67108864 32" "limits from the host"
		cap urt delete -f "$id"
		expect_ok
		[ ! -d "/sys/fs/cgroup$cg" ] || fail "cgroup $cg left behind"
	fi
}

# rl_delegate: on a pure cgroup v2 host without systemd (the tests/vm v2
# VM), delegate a cgroup to RL_USER as cgroup-v2.rst says (the directory,
# its cgroup.procs, cgroup.threads and cgroup.subtree_control chowned; memory
# and pids enabled down to it) with a leaf "tool" for the user's commands
# (RL_CGLEAF): containers go beside the leaf (runc's v2 rule), in
# RL_CGDELEG, relative to /sys/fs/cgroup.
rl_delegate() {
	[ -f /sys/fs/cgroup/cgroup.subtree_control ] || skip "needs a pure cgroup v2 host (tests/vm v2)"
	[ ! -d /run/systemd/system ] || skip "systemd delegates here (see rootless_build_step)"
	local c=/sys/fs/cgroup
	grep -qw memory $c/cgroup.controllers && grep -qw pids $c/cgroup.controllers || skip "no memory and pids controllers"
	RL_CGDELEG=/$E2E_CGPARENT/rl-$TEST_NO
	mkdir -p "$c$RL_CGDELEG/tool" || fail "mkdir $c$RL_CGDELEG/tool"
	echo "$c$RL_CGDELEG" >>"$TD/.cgdirs"
	echo "+memory +pids" >"$c/cgroup.subtree_control" && echo "+memory +pids" >"$c/$E2E_CGPARENT/cgroup.subtree_control" ||
		fail "enable memory and pids down to $RL_CGDELEG"
	chown "$RL_USER:" "$c$RL_CGDELEG" "$c$RL_CGDELEG"/cgroup.{procs,threads,subtree_control} "$c$RL_CGDELEG/tool" \
		"$c$RL_CGDELEG"/tool/cgroup.{procs,threads,subtree_control} || fail "chown the delegated cgroup"
	RL_CGLEAF=$c$RL_CGDELEG/tool
}

# A delegated cgroup v2 subtree without systemd: the build step gets its
# memory and pids limits there (read back inside and from the host), pause
# and resume work, delete removes the cgroup (rootless_cgroup_rules: the
# same limits refused without delegation).
test_rootless_delegated_v2() {
	local id b cg
	rl_user
	rl_delegate
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}' \
		mkb_rl "$id" sh -c 'cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max | tr "\n" " "; exit 3')
	jedit "$b" "c['linux']['resources'].update(memory={'limit': 67108864}, pids={'limit': 32})"
	cap urt run --bundle "$b" "$id"
	expect_rc 3 "run with limits in the delegated cgroup"
	expect_eq "$OUT" "0::/ 67108864 32 " "limits read back inside (own cgroup namespace)"
	assert_clean "$id"
	[ ! -d "/sys/fs/cgroup$RL_CGDELEG/$id" ] || fail "cgroup $RL_CGDELEG/$id left behind"
	# Running: the cgroup beside the leaf, limits from the host, pause.
	id=$(new_id)
	b=$(mkb_rl "$id" sleep 600)
	jedit "$b" "c['linux']['resources'].update(memory={'limit': 33554432}, pids={'limit': 16})"
	cap urt run -d --bundle "$b" "$id"
	expect_ok "run -d with limits"
	cg=$(sed -n 's/^0:://p' "/proc/$(urt state "$id" | json_get pid)/cgroup")
	expect_eq "$cg" "$RL_CGDELEG/$id" "container cgroup beside the user's leaf"
	expect_eq "$(cat "/sys/fs/cgroup$cg/memory.max") $(cat "/sys/fs/cgroup$cg/pids.max")" "33554432 16" "limits from the host"
	expect_eq "$(stat -c %U "/sys/fs/cgroup$cg")" "$RL_USER" "the cgroup is the user's"
	cap urt pause "$id"
	expect_ok "pause in the delegated cgroup"
	expect_eq "$(cat "/sys/fs/cgroup$cg/cgroup.freeze")" 1 "frozen"
	cap urt resume "$id"
	expect_ok "resume"
	cap urt ps "$id"
	expect_ok "ps"
	cap urt delete -f "$id"
	expect_ok "delete -f"
	[ ! -d "/sys/fs/cgroup$cg" ] || fail "cgroup $cg left behind"
	assert_clean "$id"
}

# podman ARGS...: rootless podman as RL_USER with the runtime under test,
# in a private mount namespace whose /dev/net/tun the user may open (no
# udev here: the host's is 0600; slirp4netns needs it) and whose /dev/null
# is surely 0666 (conmon opens it for writing). Nothing global changes.
pm() {
	unshare -m --propagation slave sh -c 'mount --bind "$1/tun" /dev/net/tun && mount --bind "$1/null" /dev/null &&
		mount --make-rshared / && shift &&
		exec setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME="$RL_HOME" USER="$RL_USER" XDG_RUNTIME_DIR="$RL_XDG" timeout -k 5 60 podman --runtime "$KILN" "$@"' \
		pm "$TD/dev" "$@"
}

test_rootless_podman() {
	local a b
	command -v podman >/dev/null || skip "no podman"
	RL_HOME=$TD/home
	rl_user
	[ -n "$RL_SUBUID" ] || skip "no /etc/subuid range for $RL_USER"
	# podman's runroot ($XDG_RUNTIME_DIR/containers) must be at most 50
	# characters, or its cleanup fails and every `run` waits 20 s.
	RL_XDG=/tmp/kiln-rl-$E2E_RUNID-$TEST_NO
	echo "$RL_XDG" >>"$TD/.paths"
	mkdir -m 700 "$RL_XDG" && chown "$RL_USER:" "$RL_XDG"
	mkdir -p "$RL_HOME/.config/containers"
	printf '[storage]\ndriver = "overlay"\n' >"$RL_HOME/.config/containers/storage.conf"
	tar -C "$E2E_TMP/rootfs" -cf "$RL_HOME/img.tar" . && chown -R "$RL_USER:" "$RL_HOME"
	mkdir "$TD/dev" && mknod -m 666 "$TD/dev/tun" c 10 200 && mknod -m 666 "$TD/dev/null" c 1 3 || fail "mknod"
	export RL_UID RL_GID RL_USER RL_HOME RL_XDG KILN
	cap pm import "$RL_HOME/img.tar" localhost/kiln-e2e:latest
	expect_ok "podman import"
	cap pm run --rm localhost/kiln-e2e echo hi
	expect_ok "podman run --rm"
	expect_out_eq hi
	cap pm run --rm localhost/kiln-e2e sh -c 'exit 3'
	expect_rc 3 "exit status through podman"
	cap pm run -d --name c1 localhost/kiln-e2e sh -c 'echo started; exec sleep 1000'
	expect_ok "podman run -d"
	cap pm exec c1 id -u
	expect_ok "podman exec"
	expect_out_eq 0
	cap pm logs c1
	expect_out_eq started "podman logs"
	cap pm stop -t 1 c1
	expect_ok "podman stop"
	cap pm inspect -f '{{.State.Status}}' c1
	expect_out_eq exited
	cap pm rm c1
	expect_ok "podman rm"
	cap pm run --rm --userns keep-id localhost/kiln-e2e id -u
	expect_ok "podman --userns keep-id"
	expect_out_eq "$RL_UID"
	cap pm run --rm localhost/kiln-e2e sh -c 'ip -o -4 addr show tap0 | grep -o "inet [0-9.]*"'
	expect_out_eq "inet 10.0.2.100" "slirp4netns network"
	cap pm pod create --name p1
	expect_ok "podman pod create"
	cap pm run -d --pod p1 --name pa localhost/kiln-e2e sleep 1000
	expect_ok "pod container a"
	cap pm run --rm --pod p1 localhost/kiln-e2e hostname
	expect_out_eq p1 "pod container b shares the pod's uts namespace"
	cap pm pod rm -f -t 1 p1
	expect_ok "podman pod rm"
	# A pod with a user namespace of its own, joined by each container.
	cap pm pod create --name p2 --userns keep-id
	expect_ok "podman pod create --userns keep-id"
	cap pm run -d --pod p2 --name qa localhost/kiln-e2e sleep 1000
	expect_ok "keep-id pod container a"
	cap pm exec qa readlink /proc/self/ns/user
	a=$OUT
	cap pm run --rm --pod p2 localhost/kiln-e2e sh -c 'id -u; readlink /proc/self/ns/user'
	expect_ok "keep-id pod container b"
	expect_eq "$OUT" "$(printf '%s\n%s' "$RL_UID" "$a")" "b: the pod's user namespace"
	cap pm pod rm -f -t 1 p2
	expect_ok
	cap pm ps -aq
	expect_out_eq "" "no container left"
	cap pm system reset -f
}
