# shellcheck shell=bash
# Regression tests for the escapes of the security review in issue #11
# (findings 4, 5, 6 and the smaller ones of 8). Each test replays the attack
# and passes when it fails; each fails once its protection is switched off
# (tests/cve-off.sh: build-unsafe, KILN_UNSAFE=<knob>):
#
#   uid-range       uid/gid 4294967295 ((uid_t)-1, "unchanged" to setresuid)
#                   or above 2^31-1 in process.user and `exec --user`
#   keyring         containers sharing the engine's session keyring
#   mount-race      a racing volume (or rootfs) moving a mount destination
#                   between the check and the mount, or between the mount and
#                   the remount that makes it read-only
#   state-tmp       the state file written through a fixed temporary name by
#                   path, in a --root that others can write
#   net-sysctl      net.* sysctls with a joined host network namespace
#   lsm-proc        the LSM exec label written through the container's /proc
#   cgroup-kill     kill --all / delete missing processes in sub-cgroups
#   foreign-cgroup  a cgroupsPath naming a populated cgroup kiln did not make

# The limit runc gives (libcontainer/user: "uids and gids must be in range").
RANGE_ERR="must be in range 0-2147483647"

# C_FILE: compiles C source $2 statically to $1 (skips without a compiler).
_cc_static() {
	printf '%s\n' "$2" | cc -O2 -static -x c -o "$1" - 2>"$TD/cc.err" ||
		skip "cannot build a static C helper: $(head -c 200 "$TD/cc.err")"
}

# ------------------------------------------------------------- uid-range ---

# process.user.uid 4294967295 is (uid_t)-1: setresuid(-1, -1, -1) changes
# nothing and the payload runs as root. additionalGids above 2^31-1 are out
# of runc's range too. Safe: refused, naming the field, and nothing ran.
test_uid_4294967295_config() {
	local id want
	for want in "uid 4294967295" "gid 4294967295" "gids [2147483648]"; do
		id=$(new_id)
		case $want in
		uid*) C_UID=4294967295 run_in "$id" sh -c 'echo RAN uid=$(id -u)' ;;
		gid*) C_GID=4294967295 run_in "$id" sh -c 'echo RAN gid=$(id -g)' ;;
		gids*) C_GIDS='[2147483648]' run_in "$id" sh -c 'echo RAN groups=$(id -G)' ;;
		esac
		[[ $OUT != *RAN* ]] || fail "$(ctx "process.user $want: the payload ran")"
		[ "$RC" != 0 ] || fail "$(ctx "process.user $want was accepted")"
		expect_msg "$RANGE_ERR" "refusal of $want"
		if [ "$RT_NAME" = kiln ]; then
			case $want in
			uid*) expect_err_has "process.user.uid" ;;
			gid*) expect_err_has "process.user.gid" ;;
			gids*) expect_err_has "process.user.additionalGids[0]" ;;
			esac
		fi
		assert_clean "$id"
	done
}

# The same through `exec --user`, `--additional-gids` and `exec --process`.
test_uid_4294967295_exec() {
	local id b args
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	printf '{"args": ["sh", "-c", "echo RAN uid=$(id -u)"], "cwd": "/", "user": {"uid": 4294967295, "gid": 0}}' >"$TD/p.json"
	for args in "--user 4294967295" "--user 0:4294967295" "--additional-gids 2147483648" "--process $TD/p.json"; do
		# shellcheck disable=SC2086
		cap rt exec $args "$id" sh -c 'echo RAN uid=$(id -u)'
		[[ $OUT != *RAN* ]] || fail "$(ctx "exec $args: the process ran")"
		[ "$RC" != 0 ] || fail "$(ctx "exec $args was accepted")"
		expect_msg "$RANGE_ERR" "refusal of exec $args"
		if [ "$RT_NAME" = kiln ]; then
			case $args in
			--user*) expect_err_has "--user" ;;
			--add*) expect_err_has "--additional-gids" ;;
			--pro*) expect_err_has "process.user.uid" ;;
			esac
		fi
	done
}
