# Terminals through --console-socket: the engine receives the pty master.

# recv_tty SOCK: starts the receiver in the background; its output goes to SOCK.out.
recv_tty() {
	command -v python3 >/dev/null || skip "python3 needed for the console-socket receiver"
	python3 "$E2E_DIR/recvtty.py" "$1" "$1.ready" >"$1.out" 2>&1 &
	RECV_PID=$!
	_ready() { [ -e "$1.ready" ]; }
	poll 10 _ready "$1" || fail "console receiver did not start"
}

test_console_socket_run() {
	local id b sock
	id=$(new_id)
	b=$(mkb "$id" sh -c 'tty; stty size; echo term-ok')
	sed -i 's/"terminal": false/"terminal": true, "consoleSize": {"height": 33, "width": 111}/' "$b/config.json"
	sock=$TD/console.sock
	recv_tty "$sock"
	cap rt run -d --console-socket "$sock" --bundle "$b" "$id"
	expect_ok "run -d with a console socket"
	wait "$RECV_PID"
	grep -q '/dev/pts/' "$sock.out" || fail "payload has no pty: $(cat "$sock.out")"
	grep -q '33 111' "$sock.out" || fail "consoleSize not applied: $(cat "$sock.out")"
	grep -q 'term-ok' "$sock.out" || fail "no output through the pty: $(cat "$sock.out")"
	cap rt delete -f "$id"
}

test_console_socket_errors() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" true)
	sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
	cap rt create --bundle "$b" "$id"
	expect_rc 1 "create with a terminal and no console socket"
	expect_err_has "cannot allocate tty if"
	assert_clean "$id"
	id=$(new_id)
	b=$(mkb "$id" true)
	cap rt create --console-socket "$TD/nosuch.sock" --bundle "$b" "$id"
	expect_rc 1 "console socket without a terminal"
	expect_err_has "cannot use console socket if"
	assert_clean "$id"
}

test_console_socket_exec() {
	local id b sock
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	sock=$TD/exec.sock
	recv_tty "$sock"
	cap rt exec -t -d --console-socket "$sock" "$id" sh -c 'tty; echo exec-term-ok'
	expect_ok "exec -t -d with a console socket"
	wait "$RECV_PID"
	grep -q 'exec-term-ok' "$sock.out" || fail "no output through the exec pty: $(cat "$sock.out")"
	cap rt delete -f "$id"
}

# Foreground with a terminal and no console socket: the runtime relays the pty
# itself (under `script`, which gives us a terminal of 20x70).
test_terminal_relay_run() {
	local id b
	command -v script >/dev/null || skip "script (util-linux) needed for a pty"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'tty; stty size; read x; echo got:$x; exit 3')
	sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
	printf 'typed\n' >"$TD/in"
	script -qec "stty rows 20 cols 70; $KILN --root $ROOT run --bundle $b $id" "$TD/ts" <"$TD/in" >"$TD/out" 2>&1
	RC=$?
	expect_rc 3 "exit status through the relay"
	grep -q '/dev/pts/' "$TD/out" || fail "payload has no pty: $(cat "$TD/out")"
	grep -q '20 70' "$TD/out" || fail "window size not passed on: $(cat "$TD/out")"
	grep -q 'got:typed' "$TD/out" || fail "input not relayed: $(cat "$TD/out")"
	assert_clean "$id"
}

test_terminal_relay_exec() {
	local id b
	command -v script >/dev/null || skip "script (util-linux) needed for a pty"
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	script -qec "stty rows 21 cols 71; $KILN --root $ROOT exec -t $id sh -c 'tty; stty size; exit 4'" "$TD/ts" </dev/null >"$TD/out" 2>&1
	RC=$?
	expect_rc 4 "exec -t exit status"
	grep -q '/dev/pts/' "$TD/out" || fail "exec payload has no pty: $(cat "$TD/out")"
	# kiln sizes the pty before the payload runs; runc 1.1.5 only after the
	# start, so its payload may still read 0x0 (a race, not a failure of ours).
	if [ "$RT_NAME" = kiln ]; then
		grep -q '21 71' "$TD/out" || fail "exec window size not passed on: $(cat "$TD/out")"
	fi
	cap rt delete -f "$id"
}

test_pidfd_socket() {
	local id b sock pid
	[ "$RT_NAME" = kiln ] || skip "--pidfd-socket is runc >= 1.2; $RT_NAME may lack it"
	command -v python3 >/dev/null || skip "python3 needed for the receiver"
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	sock=$TD/pidfd.sock
	python3 "$E2E_DIR/recvfd.py" "$sock" "$sock.ready" >"$sock.out" 2>&1 &
	RECV_PID=$!
	_ready() { [ -e "$1.ready" ]; }
	poll 10 _ready "$sock" || fail "receiver did not start"
	cap rt run -d --pidfd-socket "$sock" --bundle "$b" "$id"
	expect_ok "run -d --pidfd-socket"
	wait "$RECV_PID"
	pid=$(state_json "$id" | json_get pid)
	expect_eq "$(cat "$sock.out")" "anon_inode:[pidfd] Pid:$pid" "the received fd is a pidfd of the init"
	cap rt delete -f "$id"
}

# A tmpfs /dev mounted "ro" (runc#3248): /dev/pts, the devices and, with a
# terminal, /dev/console are made in it first; then it is read-only.
test_readonly_dev() {
	local id b sock
	id=$(new_id)
	b=$(mkb "$id" sh -c 'grep "^tmpfs /dev " /proc/mounts; test -c /dev/null && echo x >/dev/null && test -d /dev/pts && echo devs-ok; touch /dev/x 2>/dev/null && echo wrote; tty; true')
	sed -i 's/"options": \["nosuid", "strictatime", "mode=755", "size=65536k"\]/"options": ["nosuid", "strictatime", "mode=755", "size=65536k", "ro"]/' "$b/config.json"
	grep -q '"size=65536k", "ro"' "$b/config.json" || fail "could not edit the /dev mount"
	cap rt run --bundle "$b" "$id"
	expect_ok "run with a ro /dev"
	grep -q '^tmpfs /dev tmpfs ro,' <<<"$OUT" || fail "/dev not read-only: $OUT"
	grep -q 'devs-ok' <<<"$OUT" || fail "devices missing under a ro /dev: $OUT"
	grep -q 'wrote' <<<"$OUT" && fail "/dev writable: $OUT"
	sed -i 's/"terminal": false/"terminal": true/' "$b/config.json"
	sock=$TD/console.sock
	recv_tty "$sock"
	cap rt run -d --console-socket "$sock" --bundle "$b" "$id"
	expect_ok "run -d with a terminal and a ro /dev"
	wait "$RECV_PID"
	grep -q 'tmpfs /dev tmpfs ro,' "$sock.out" || fail "/dev not read-only with a terminal: $(cat "$sock.out")"
	grep -q '/dev/pts/' "$sock.out" || fail "no pty: $(cat "$sock.out")"
	cap rt delete -f "$id"
}
