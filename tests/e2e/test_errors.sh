# shellcheck shell=bash
# Bad input: exit 1, a useful message, and nothing left behind
# (no <root>/<id>, no cgroup dir, no stray process).

# bad_create ID BUNDLE MESSAGE...: create and run must both fail cleanly
bad_create() {
	local id=$1 b=$2 m
	shift 2
	cap rt create --bundle "$b" "$id"
	expect_rc 1 "create"
	for m in "$@"; do expect_err_has "$m" "create"; done
	assert_clean "$id"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "run"
	for m in "$@"; do expect_err_has "$m" "run"; done
	assert_clean "$id"
	cap rt run -d --bundle "$b" "$id"
	expect_rc 1 "run -d"
	assert_clean "$id"
	cap rt list -q
	expect_out_eq "" "list after failed create"
}

test_invalid_id() {
	local b bad
	b=$(mkb valid-bundle true)
	for bad in 'a/b' '..' '.' 'a b' 'x:y' '../../escape'; do
		cap rt create --bundle "$b" -- "$bad"
		expect_rc 1 "create '$bad'"
		expect_err_has "invalid container ID format" "create '$bad'"
		[ -z "$(ls -A "$ROOT")" ] || fail "id '$bad' left $(ls -A "$ROOT")"
	done
	[ ! -e "$TD/b" ] || fail "created something outside the root for a/b"
	cap rt create --bundle "$b" ""
	expect_rc 1 "empty id"
	assert_clean valid-bundle
}

test_duplicate_id() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt create --bundle "$b" "$id"
	expect_ok
	pid=$(pid_of "$id")
	cap rt create --bundle "$b" "$id"
	expect_rc 1 "second create with the same id"
	expect_err_has "container with given ID already exists"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "run with an existing id"
	expect_err_has "container with given ID already exists"
	[ "$(status_of "$id")" = created ] || fail "first container damaged: $(status_of "$id")"
	expect_eq "$(pid_of "$id")" "$pid" "first container's pid"
	has_start_rendezvous "$id" || fail "first container's exec.fifo/exec.sock gone"
	[ "$(procs_of "$id" | wc -l)" -le 2 ] || fail "extra processes: $(procs_of "$id")"
	cap rt start "$id"
	expect_ok "start of the original"
	cap rt delete -f "$id"
	assert_clean "$id"
}

test_missing_config() {
	local id b
	id=$(new_id)
	b=$TD/empty-bundle
	mkdir -p "$b"
	bad_create "$id" "$b" "config.json"
	cap rt create --bundle "$TD/no-such-dir" "$id"
	expect_rc 1 "missing bundle dir"
	assert_clean "$id"
}

test_malformed_config() {
	local id b
	id=$(new_id)
	b=$(C_RAW='{ "ociVersion": "1.0.2", "process": { "args": [' mkb "$id")
	bad_create "$id" "$b"
	id=$(new_id)
	b=$(C_RAW='' mkb "$id")
	: >"$b/config.json"
	bad_create "$id" "$b"
	id=$(new_id)
	b=$(C_RAW='{"ociVersion": "1.0.2", "root": {"path": "rootfs"}}' mkb "$id")
	if [ "$RT_NAME" = kiln ]; then
		# runtime-spec: a config without a process can be created, and then
		# `start` MUST fail; `run` has nothing to run. (runc refuses at create.)
		cap rt run --bundle "$b" "$id"
		expect_rc 1 "run without a process"
		expect_err_has "process property must not be empty" "run"
		assert_clean "$id"
		mkdir -p "$b/rootfs"
		cap rt create --bundle "$b" "$id"
		expect_ok "create without a process"
		cap rt start "$id"
		expect_rc 1 "start without a process"
		expect_err_has "process property must not be empty" "start"
		wait_status "$id" stopped
		cap rt delete "$id"
		expect_ok "delete"
		assert_clean "$id"
	else
		bad_create "$id" "$b" "process property must not be empty"
	fi
	id=$(new_id)
	b=$(C_RAW='[1, 2, 3]' mkb "$id")
	bad_create "$id" "$b"
}

test_unknown_namespace_type() {
	local id b
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"mount"},{"type":"bogus"}' mkb "$id" true)
	bad_create "$id" "$b" "bogus"
}

test_relative_cwd() {
	local id b
	id=$(new_id)
	b=$(C_CWD=tmp mkb "$id" true)
	bad_create "$id" "$b" "Cwd must be an absolute path"
}

test_empty_args() {
	local id b
	id=$(new_id)
	b=$(C_ARGS_JSON='[]' mkb "$id")
	bad_create "$id" "$b" "args must not be empty"
}

test_nonexistent_args0() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" /nonexistent/binary arg)
	# runc's (Go's) words: docker turns them into exit codes 127 and 126
	bad_create "$id" "$b" 'stat /nonexistent/binary: no such file or directory'
	id=$(new_id)
	b=$(mkb "$id" no-such-command-in-path)
	bad_create "$id" "$b" "no-such-command-in-path"
	# not executable
	id=$(new_id)
	b=$(mkb "$id" /etc/passwd)
	bad_create "$id" "$b" 'passwd\": permission denied'
	id=$(new_id)
	b=$(mkb "$id" /etc)
	bad_create "$id" "$b" 'etc\": permission denied'
}

test_bad_rootfs() {
	local id b
	id=$(new_id)
	b=$(C_ROOTFS=$TD/no-such-rootfs mkb "$id" true)
	bad_create "$id" "$b"
}

test_bad_mount() {
	local id b
	id=$(new_id)
	b=$(C_MOUNTS='{"destination":"/x","type":"bind","source":"/nonexistent-kiln-src","options":["rbind"]}' mkb "$id" true)
	bad_create "$id" "$b"
}

test_terminal_without_console_socket() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" true)
	sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
	cap rt create --bundle "$b" "$id"
	expect_rc 1
	expect_err_has "cannot allocate tty if $RT_NAME will detach without setting console socket"
	assert_clean "$id"
	b=$(mkb "$id" true)
	cap rt create --console-socket "$TD/sock" --bundle "$b" "$id"
	expect_rc 1
	expect_err_has "cannot use console socket if $RT_NAME will not detach or allocate tty"
	assert_clean "$id"
}

test_bad_rlimit() {
	local id b
	id=$(new_id)
	b=$(C_RLIMITS='[{"type":"RLIMIT_BOGUS","hard":1,"soft":1}]' mkb "$id" true)
	bad_create "$id" "$b"
}

# An LSM label the host cannot apply is a clear error, never silently dropped.
test_lsm_label_without_lsm() {
	local id b
	[ "$RT_NAME" = kiln ] || skip "runc's wording differs"
	[ -e /sys/module/apparmor/parameters/enabled ] && skip "AppArmor is present here"
	id=$(new_id)
	b=$(mkb "$id" true)
	sed -i 's/"terminal": false,/"terminal": false, "apparmorProfile": "no-such-profile",/' "$b/config.json"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "run with an AppArmor profile on a host without AppArmor"
	expect_err_has "AppArmor is not enabled"
	assert_clean "$id"
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	cap rt run -d --bundle "$b" "$id"
	cap rt exec --apparmor no-such-profile "$id" true
	expect_rc 255 "exec --apparmor without AppArmor"
	expect_err_has "AppArmor is not enabled"
	cap rt delete -f "$id"
}
