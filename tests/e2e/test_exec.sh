# shellcheck shell=bash
# exec's process against the init's: one setup function serves both, and
# where runc's setns init (exec) and standard init differ, kiln's do too.

# No process.user.umask: the init sets 022, exec keeps the caller's umask
# (runc's setns init); a umask given with exec's process is applied.
test_exec_umask() {
	local id b old
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt exec "$id" grep Umask /proc/1/status
	expect_ok
	[[ $OUT =~ Umask:[[:space:]]+0022 ]] || fail "init's default umask: $OUT"
	old=$(umask)
	umask 0027
	cap rt exec "$id" sh -c umask
	umask "$old"
	expect_ok
	expect_out_eq 0027 "exec keeps the caller's umask"
	cat >"$TD/process.json" <<-'E'
		{"args": ["sh", "-c", "umask"], "cwd": "/", "env": ["PATH=/bin:/sbin:/usr/bin"],
		 "user": {"uid": 0, "gid": 0, "umask": 63}}
	E
	cap rt exec -p "$TD/process.json" "$id"
	expect_ok
	expect_out_eq 0077 "exec's process.user.umask"
	rt kill "$id" KILL >/dev/null 2>&1
}

# A missing cwd: the init makes it (runc's prepareRootfs), exec fails
# (runc's finalizeNamespace) and makes nothing.
test_exec_missing_cwd() {
	local id b
	id=$(new_id)
	b=$(C_CWD=/mnt/made/by/init mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt exec "$id" pwd
	expect_ok
	expect_out_eq /mnt/made/by/init "the init made its missing cwd"
	cap rt exec --cwd /mnt/not/made "$id" pwd
	expect_rc 255 "exec with a missing cwd"
	expect_err_has '/mnt/not/made' "exec with a missing cwd"
	expect_err_has 'set in config.json failed: No such file or directory' "exec with a missing cwd"
	cap rt exec "$id" test -e /mnt/not/made
	expect_rc 1 "exec made no cwd"
	rt kill "$id" KILL >/dev/null 2>&1
}
