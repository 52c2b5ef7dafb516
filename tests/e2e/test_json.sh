# shellcheck shell=bash
# Hostile JSON in config.json (issue #11, finding 7). Each test fails with its
# protection switched off (build-unsafe, KILN_UNSAFE=json-comments or
# json-nul; rows in tests/cve-off.sh).

# rt_both_fail ID BUNDLE MESSAGE: create and run exit 1 naming MESSAGE, print
# nothing from the payload, and leave nothing behind. (runc, which fails some
# of these only at exec, is held to: run fails and the payload does not run.)
rt_both_fail() {
	local id=$1 b=$2 m=$3 cmd cmds="create run"
	[ "$RT_NAME" = kiln ] || cmds=run
	for cmd in $cmds; do
		cap rt "$cmd" --bundle "$b" "$id"
		[[ $OUT != *RAN* ]] || fail "$(ctx "$cmd: the payload ran")"
		if [ "$RT_NAME" = kiln ]; then
			expect_rc 1 "$cmd"
			expect_err_has "$m" "$cmd"
		else
			[ "$RC" != 0 ] || fail "$(ctx "$cmd: want a failure")"
			rt delete -f "$id" >/dev/null 2>&1
		fi
		assert_clean "$id"
	done
}

# A comment full of close brackets drove kiln's depth guard negative, and
# 2,000,000 levels of nesting after it crashed create with SIGSEGV (yajl's
# tree free recurses once per level). JSON has no comments: Go's
# encoding/json refuses them, and so does runc.
test_json_comment_bomb() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" echo RAN)
	python3 - "$b/config.json" <<'PY' || fail "cannot write the bomb"
import sys
path, n = sys.argv[1], 2000000
text = open(path).read()
bomb = '"x-bomb": /* ' + ']' * n + ' */ ' + '[' * n + ']' * n + ',\n'
open(path, 'w').write(text.replace('{', '{' + bomb, 1))
PY
	rt_both_fail "$id" "$b" "invalid character '/'"
}

# yajl hands strings over as C strings, so "a\u0000b" became "a" without a
# word: kiln ran, mounted or set something other than what the config (and
# any engine or policy that checked it) said. kiln refuses it naming the
# field; runc keeps the NUL and its syscall fails.
test_json_nul_truncation() {
	local id b
	id=$(new_id)
	b=$(C_ARGS_JSON='["sh", "-c", "echo RAN-$0", "a\u0000b"]' mkb "$id")
	rt_both_fail "$id" "$b" "process.args[3]: string contains a NUL character"
	id=$(new_id)
	b=$(C_ENV='"X=a\u0000b"' mkb "$id" sh -c 'echo RAN-$X')
	rt_both_fail "$id" "$b" "process.env[2]: string contains a NUL character"
	id=$(new_id)
	b=$(C_MOUNTS='{ "destination": "/tmp\u0000/x", "type": "tmpfs", "source": "tmpfs" }' mkb "$id" echo RAN)
	rt_both_fail "$id" "$b" "mounts[8].destination: string contains a NUL character"
}
