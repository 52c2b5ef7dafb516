# shellcheck shell=bash
# Lifecycle: run, create/start, state, list, kill, delete, --pid-file.

test_run_echo() {
	local id
	id=$(new_id)
	run_in "$id" echo hello from the container
	expect_ok "run echo"
	expect_out_eq "hello from the container"
	# foreground run deletes the container afterwards
	cap rt state "$id"
	expect_rc 1 "state after run"
	expect_err_has "container does not exist"
	assert_clean "$id"
}

test_run_stdin() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'read x; echo "got:$x"; cat')
	printf 'line1\nline2\n' >"$TD/in"
	CAP_IN=$TD/in cap rt run --bundle "$b" "$id"
	expect_ok
	expect_out_eq $'got:line1\nline2'
}

test_run_exit_status() {
	local id
	id=$(new_id)
	run_in "$id" sh -c 'exit 42'
	expect_rc 42 "exit 42 propagated"
	id=$(new_id)
	run_in "$id" sh -c 'echo to-stderr >&2; exit 3'
	expect_rc 3
	expect_err_has "to-stderr"
	id=$(new_id)
	run_in "$id" false
	expect_rc 1 "false"
	assert_clean "$id"
}

test_run_killed_status() {
	# The payload is killed by a signal: run exits with 128+signal.
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	rt run --bundle "$b" "$id" </dev/null >"$TD/run.out" 2>&1 &
	pid=$!
	note_pid $pid
	wait_status "$id" running
	kill -9 "$(pid_of "$id")"
	wait $pid
	RC=$?
	expect_rc 137 "run of a SIGKILLed payload"
	assert_clean "$id"

	# A child killed by a signal inside sh: sh itself reports 128+9.
	id=$(new_id)
	run_in "$id" sh -c 'sh -c "kill -9 \$\$"; exit $?'
	expect_rc 137 "sh -c 'kill -9 \$\$' under sh"
	# pid 1 of a pid namespace cannot SIGKILL itself: the signal is ignored
	id=$(new_id)
	run_in "$id" sh -c 'kill -9 $$; echo survived'
	expect_ok "pid 1 kill -9 \$\$"
	expect_out_eq survived
}

test_run_detach() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	[ "$(status_of "$id")" = running ] || fail "status after run -d: $(status_of "$id")"
	pid=$(pid_of "$id")
	[ "$pid" -gt 0 ] 2>/dev/null || fail "pid $pid"
	[ -d "/proc/$pid" ] || fail "init pid $pid does not exist"
	grep -q sleep "/proc/$pid/cmdline" || fail "pid $pid is not the payload: $(tr '\0' ' ' </proc/$pid/cmdline)"
	cap rt kill "$id" KILL
	expect_ok
	wait_status "$id" stopped
	cap rt delete "$id"
	expect_ok
	assert_clean "$id"
}

test_create_start() {
	local id b pid s
	id=$(new_id)
	b=$(mkb "$id" sh -c 'echo ran > /mnt/marker; echo payload-output; exec sleep 60')
	: >"$TD/ctr.out"
	rt create --bundle "$b" "$id" </dev/null >"$TD/ctr.out" 2>"$TD/ctr.err"
	RC=$?
	expect_ok "create"
	s=$(state_json "$id")
	[ "$(json_get status <<<"$s")" = created ] || fail "status after create: $s"
	pid=$(json_get pid <<<"$s")
	[ "$pid" -gt 0 ] 2>/dev/null || fail "pid after create: $pid"
	[ -d "/proc/$pid" ] || fail "created init $pid does not exist"
	has_start_rendezvous "$id" || fail "exec.fifo/exec.sock missing: $(ls -la "$ROOT/$id")"
	sleep 0.3
	[ ! -e "$b/share/marker" ] || fail "payload ran before start"
	[ ! -s "$TD/ctr.out" ] || fail "payload wrote output before start: $(cat "$TD/ctr.out")"
	[ "$(status_of "$id")" = created ] || fail "not created any more: $(status_of "$id")"

	cap rt start "$id"
	expect_ok "start"
	wait_file "$b/share/marker"
	expect_eq "$(cat "$b/share/marker")" ran "marker"
	wait_nonempty "$TD/ctr.out"
	expect_eq "$(cat "$TD/ctr.out")" payload-output "payload stdout (create's stdout)"
	s=$(state_json "$id")
	[ "$(json_get status <<<"$s")" = running ] || fail "status after start: $s"
	expect_eq "$(json_get pid <<<"$s")" "$pid" "pid unchanged by start"
	! has_start_rendezvous "$id" || fail "exec.fifo/exec.sock still there after start"

	cap rt start "$id"
	expect_rc 1 "start of a running container"
	expect_err_has "cannot start an already running container"

	cap rt kill "$id" KILL
	expect_ok
	wait_status "$id" stopped
	s=$(state_json "$id")
	expect_eq "$(json_get pid <<<"$s")" 0 "pid of a stopped container"
	cap rt start "$id"
	expect_rc 1 "start of a stopped container"
	expect_err_has "cannot start a container that has stopped"
	cap rt delete "$id"
	expect_ok
	assert_clean "$id"
	cap rt start "$id"
	expect_rc 1 "start of a deleted container"
	expect_err_has "container does not exist"
}

test_create_returns_after_pidfile() {
	local id b i
	for i in 1 2 3; do
		id=$(new_id)
		b=$(mkb "$id" true)
		cap rt create --pid-file "$TD/p$i" --bundle "$b" "$id"
		expect_ok
		[ -s "$TD/p$i" ] || fail "pid file not there when create returned"
		cap rt delete "$id"
		expect_ok "delete of a created container"
		assert_clean "$id"
	done
}

test_pid_file() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	mkdir -p "$TD/cwd"
	# relative to the caller's cwd, not to the bundle
	cap sh -c "cd '$TD/cwd' && exec timeout 20 '$KILN' --root '$ROOT' create --pid-file rel.pid --bundle '$b' '$id'"
	expect_ok "create --pid-file rel.pid"
	[ -f "$TD/cwd/rel.pid" ] || fail "pid file not in the caller's cwd (bundle has: $(ls "$b"))"
	pid=$(cat "$TD/cwd/rel.pid")
	[ "$(tail -c1 "$TD/cwd/rel.pid" | od -An -c | tr -d ' ')" != '\n' ] || fail "pid file ends with a newline"
	expect_eq "$pid" "$(pid_of "$id")" "pid file vs state pid"
	cap rt delete -f "$id"
	# run -d --pid-file, absolute path
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --pid-file "$TD/abs.pid" --bundle "$b" "$id"
	expect_ok "run -d --pid-file"
	expect_eq "$(cat "$TD/abs.pid")" "$(pid_of "$id")" "run -d pid file vs state pid"
	cap rt delete -f "$id"
	expect_ok
	assert_clean "$id"
}

test_state_json() {
	local id b keys s
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt create --bundle "$b" "$id"
	expect_ok
	cap rt state "$id"
	expect_ok "state"
	s=$OUT
	keys=$(grep -oE '^  "[A-Za-z]+":' <<<"$s" | tr -d ' ":' | tr '\n' ' ')
	expect_eq "$keys" "ociVersion id pid status bundle rootfs created owner " "state keys (2-space indent, in order)"
	[[ $s == "{"$'\n'* ]] || fail "state is not pretty-printed: $s"
	[[ $s == *$'\n'"}" ]] || fail "state does not end with '}' (no trailing newline): $(printf %q "$s")"
	[ "$(tail -c1 "$TD/.out")" = "}" ] || fail "state output ends with a newline"
	expect_eq "$(json_get ociVersion <<<"$s")" "1.0.2-dev" "ociVersion (from config.json)"
	expect_eq "$(json_get id <<<"$s")" "$id" id
	expect_eq "$(json_get status <<<"$s")" created status
	expect_eq "$(json_get bundle <<<"$s")" "$b" bundle
	expect_eq "$(json_get rootfs <<<"$s")" "$E2E_TMP/rootfs" rootfs
	expect_eq "$(json_get owner <<<"$s")" "" owner
	[[ $(json_get created <<<"$s") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]] ||
		fail "created is not RFC3339 UTC: $(json_get created <<<"$s")"
	grep -q '^  "pid": [1-9][0-9]*,$' <<<"$s" || fail "pid is not a number > 0: $s"
	cap rt state
	expect_rc 1 "state without id"
	cap rt state no-such-ctr
	expect_rc 1 "state of a missing container"
	expect_err_has "container does not exist"
	cap rt delete -f "$id"
}

test_state_annotations() {
	local id b keys
	id=$(new_id)
	b=$(C_ANNOT='{"org.kiln.test": "yes", "com.example/x": "1"}' C_OCI=1.0.2 mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt state "$id"
	expect_ok
	keys=$(grep -oE '^  "[A-Za-z]+":' <<<"$OUT" | tr -d ' ":' | tr '\n' ' ')
	expect_eq "$keys" "ociVersion id pid status bundle rootfs created annotations owner " "state keys with annotations"
	expect_out_has '"org.kiln.test": "yes"'
	expect_out_has '"com.example/x": "1"'
	# runc 1.1 reports its own spec version here, not the config's
	[[ $(json_get ociVersion <<<"$OUT") =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "ociVersion: $OUT"
	cap rt delete -f "$id"
}

test_list() {
	local id b line
	cap rt list
	expect_ok "list (empty)"
	[ "$(awk '{$1=$1; print}' <<<"$OUT")" = "ID PID STATUS BUNDLE CREATED OWNER" ] || fail "list header: $OUT"
	cap rt list -q
	expect_ok
	expect_out_eq "" "list -q (empty)"
	cap rt list --format json
	expect_ok
	[ "$OUT" = null ] || [ "$OUT" = "[]" ] || fail "list --format json (empty): $OUT"
	cap rt list -f json
	[ "$OUT" = null ] || [ "$OUT" = "[]" ] || fail "list -f json (empty): $OUT"

	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt create --bundle "$b" "$id"
	expect_ok
	cap rt list
	expect_ok
	[ "$(wc -l <<<"$OUT")" = 2 ] || fail "list: want 2 lines: $OUT"
	[[ $(head -n1 <<<"$OUT") =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]] || fail "list header: $OUT"
	line=$(tail -n1 <<<"$OUT")
	read -r f_id f_pid f_status f_bundle f_created f_owner <<<"$line"
	expect_eq "$f_id" "$id" "list id"
	expect_eq "$f_pid" "$(pid_of "$id")" "list pid"
	expect_eq "$f_status" created "list status"
	expect_eq "$f_bundle" "$b" "list bundle"
	[[ $f_created =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || fail "list created: $f_created"
	expect_eq "$f_owner" root "list owner"
	cap rt list -q
	expect_out_eq "$id" "list -q"
	cap rt list --quiet
	expect_out_eq "$id" "list --quiet"
	cap rt list --format json
	expect_ok
	[[ $OUT == "["*"]" ]] || fail "list json is not an array: $OUT"
	[[ $OUT =~ \"id\":\ ?\"$id\" ]] || fail "list json lacks id: $OUT"
	[[ $OUT =~ \"status\":\ ?\"created\" ]] || fail "list json lacks status: $OUT"
	[[ $OUT =~ \"owner\":\ ?\"root\" ]] || fail "list json lacks owner root: $OUT"
	cap rt list --format yaml
	expect_rc 1 "list --format yaml"
	expect_err_has "invalid format option"
	cap rt delete -f "$id"

	# Sorted by id, as runc (it reads the state dir with os.ReadDir):
	# made in the order 3 1 2, listed 1 2 3.
	local ids=() i
	for i in 1 2 3; do ids+=("$(new_id)"); done
	for i in 2 0 1; do
		b=$(mkb "${ids[i]}" sleep 60)
		cap rt create --bundle "$b" "${ids[i]}"
		expect_ok "create ${ids[i]}"
	done
	cap rt list -q
	expect_out_eq "$(printf '%s\n' "${ids[@]}")" "list -q order"
	cap rt list
	expect_eq "$(awk 'NR > 1 { print $1 }' <<<"$OUT" | tr '\n' ' ')" "${ids[*]} " "list order"
	for i in "${ids[@]}"; do cap rt delete -f "$i"; done
}

test_kill_signal_forms() {
	local id b sig
	id=$(new_id)
	b=$(mkb "$id" sh -c 'for s in HUP USR1 USR2 TERM; do trap "echo $s >> /mnt/sig" $s; done; echo ready > /mnt/ready; while :; do sleep 0.05; done')
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	wait_file "$b/share/ready"
	local n=0
	# One at a time: a second USR1 sent while the first is still pending
	# would merge with it (standard signals do not queue).
	_lines_at_least() { [ "$(wc -l <"$b/share/sig" 2>/dev/null || echo 0)" -ge "$1" ]; }
	for sig in HUP SIGUSR1 12 sigusr1 usr2; do
		cap rt kill "$id" "$sig"
		expect_ok "kill $sig"
		n=$((n + 1))
		poll 10 _lines_at_least "$n" || fail "signal $sig not seen"
	done
	_five_lines() { [ "$(wc -l <"$b/share/sig" 2>/dev/null)" -ge 5 ]; }
	poll 10 _five_lines || fail "signals seen: $(cat "$b/share/sig" 2>/dev/null | tr '\n' ' ')"
	expect_eq "$(tr '\n' ' ' <"$b/share/sig")" "HUP USR1 USR2 USR1 USR2 " "signals delivered"
	cap rt kill "$id"
	expect_ok "kill (default SIGTERM)"
	_six_lines() { [ "$(wc -l <"$b/share/sig" 2>/dev/null)" -ge 6 ]; }
	poll 10 _six_lines || fail "default signal not delivered"
	expect_eq "$(tail -n1 "$b/share/sig")" TERM "default signal"
	[ "$(status_of "$id")" = running ] || fail "trapped signals should not stop the container"
	cap rt kill "$id" NOSUCHSIG
	expect_rc 1 "kill with an unknown signal"
	expect_err_has "unknown signal"
	cap rt kill "$id" 0
	expect_ok "kill 0 (probe) of a running container"
	[ "$(status_of "$id")" = running ] || fail "still running after unknown signal"
	cap rt delete -f "$id"
}

test_kill_kill_forms() {
	local id b sig
	for sig in 9 KILL SIGKILL; do
		id=$(new_id)
		b=$(mkb "$id" sleep 60)
		cap rt run -d --bundle "$b" "$id"
		expect_ok
		cap rt kill "$id" "$sig"
		expect_ok "kill $sig"
		wait_status "$id" stopped
		cap rt kill "$id" KILL
		expect_rc 1 "kill of a stopped container"
		expect_err_has "container not running"
		cap rt delete "$id"
		expect_ok
		assert_clean "$id"
	done
}

test_kill_default_sigterm() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'trap "echo term > /mnt/term; exit 0" TERM; echo ready > /mnt/ready; while :; do sleep 0.05; done')
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	wait_file "$b/share/ready"
	cap rt kill "$id"
	expect_ok "kill without signal"
	wait_status "$id" stopped
	expect_eq "$(cat "$b/share/term")" term "TERM trap ran"
	cap rt delete "$id"
	expect_ok
}

test_kill_created() {
	local id b sig
	for sig in KILL TERM; do
		id=$(new_id)
		b=$(mkb "$id" sh -c 'echo ran > /mnt/marker')
		cap rt create --bundle "$b" "$id"
		expect_ok
		cap rt kill "$id" "$sig"
		expect_ok "kill $sig of a created container"
		wait_status "$id" stopped
		[ ! -e "$b/share/marker" ] || fail "payload ran after kill of a created container"
		cap rt start "$id"
		expect_rc 1 "start after kill"
		cap rt delete "$id"
		expect_ok
		assert_clean "$id"
	done
}

test_kill_all() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sh -c 'sleep 60 & sleep 60 & wait')
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt kill --all "$id" KILL
	expect_ok "kill --all running"
	wait_status "$id" stopped
	cap rt delete "$id"
	expect_ok
	assert_clean "$id"
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt create --bundle "$b" "$id"
	expect_ok
	cap rt kill -a "$id" 9
	expect_ok "kill -a created"
	wait_status "$id" stopped
	cap rt delete "$id"
	expect_ok
	assert_clean "$id"
}

test_kill_missing() {
	cap rt kill no-such-ctr KILL
	expect_rc 1
	expect_err_has "container does not exist"
}

test_delete_running_refused() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	pid=$(pid_of "$id")
	[ -n "$(cg_dirs "$id")" ] || fail "no cgroup dir for the running container"
	cap rt delete "$id"
	expect_rc 1 "delete of a running container"
	expect_err_has "cannot delete container $id that is not stopped: running"
	[ "$(status_of "$id")" = running ] || fail "refused delete changed the status: $(status_of "$id")"
	cap rt delete --force "$id"
	expect_ok "delete --force"
	_pid_dead "$pid" || fail "init $pid still alive after delete --force"
	assert_clean "$id"
	cap rt state "$id"
	expect_rc 1
}

test_delete_created() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sh -c 'echo ran > /mnt/marker')
	cap rt create --bundle "$b" "$id"
	expect_ok
	pid=$(pid_of "$id")
	cap rt delete "$id"
	expect_ok "delete of a created container (no --force needed)"
	poll 5 _pid_dead "$pid" || fail "created init $pid survived delete"
	[ ! -e "$b/share/marker" ] || fail "payload ran"
	assert_clean "$id"
}

test_delete_stopped() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" true)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	wait_status "$id" stopped
	[ "$(pid_of "$id")" = 0 ] || fail "pid of stopped container: $(pid_of "$id")"
	[ -d "$ROOT/$id" ] || fail "state dir missing"
	cap rt delete "$id"
	expect_ok
	assert_clean "$id"
}

test_delete_missing() {
	cap rt delete no-such-ctr
	expect_rc 1
	expect_err_has "container does not exist"
	cap rt delete --force no-such-ctr
	expect_ok "delete --force of a missing container"
	cap rt delete -f no-such-ctr
	expect_ok "delete -f of a missing container"
}

test_exec_basics() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt exec "$id" sh -c 'echo in-exec $(hostname); exit 7'
	expect_rc 7 "exec exit status"
	expect_out_has "in-exec" "exec output"
	cap rt exec -u 1000:1000 -e EXTRA=yes "$id" sh -c 'echo $(id -u):$(id -g):$EXTRA'
	expect_ok "exec --user --env"
	expect_out_eq "1000:1000:yes" "exec --user --env"
	cap rt exec --cwd /tmp "$id" pwd
	expect_out_eq "/tmp" "exec --cwd"
	cap rt exec "$id" /no/such/binary
	expect_rc 255 "exec of a missing binary"
	expect_err_has "exec failed" "exec of a missing binary"
	cap rt exec -d --pid-file "$TD/exec.pid" "$id" sleep 5
	expect_ok "exec -d"
	[ -s "$TD/exec.pid" ] || fail "exec --pid-file not written"
	grep -qx "$(cat "$TD/exec.pid")" /sys/fs/cgroup/pids/kiln-test-*/"$id"/cgroup.procs 2>/dev/null ||
		[ ! -d /sys/fs/cgroup/pids ] || fail "exec'd process is not in the container's cgroup"
	cap rt delete -f "$id"
	expect_ok
	cap rt exec "$id" true
	expect_rc 255 "exec into a deleted container"
}

test_pause_resume_ps() {
	local id b a z pids
	id=$(new_id)
	b=$(mkb "$id" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /mnt/count; sleep 0.05; done')
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	wait_file "$b/share/count"
	cap rt pause "$id"
	expect_ok "pause"
	[ "$(status_of "$id")" = paused ] || fail "status after pause: $(status_of "$id")"
	a=$(cat "$b/share/count"); sleep 0.3; z=$(cat "$b/share/count")
	[ "$a" = "$z" ] || fail "counter advanced while paused ($a -> $z)"
	cap rt pause "$id"
	expect_rc 1 "pause of a paused container"
	cap rt ps --format json "$id"
	expect_ok "ps --format json"
	pids=$(tr -d '[]' <<<"$OUT")
	[ -n "$pids" ] && [ "${pids//[0-9,]/}" = "" ] || fail "ps json: $OUT"
	cap rt ps "$id" -o pid,comm
	expect_ok "ps table"
	expect_out_has "PID" "ps table header"
	expect_out_has "sh" "ps table lists the payload"
	cap rt resume "$id"
	expect_ok "resume"
	[ "$(status_of "$id")" = running ] || fail "status after resume: $(status_of "$id")"
	sleep 0.3; z=$(cat "$b/share/count")
	[ "$a" != "$z" ] || fail "counter did not advance after resume"
	cap rt resume "$id"
	expect_rc 1 "resume of a running container"
	expect_err_has "container not paused"
	cap rt pause "$id"
	cap rt delete "$id"
	expect_rc 1 "delete of a paused container without --force"
	cap rt delete -f "$id"
	expect_ok "delete -f of a paused container"
	assert_clean "$id"
}

test_update_resources() {
	local id b mem pids
	[ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/pids ] || skip "needs the v1 memory and pids hierarchies"
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	mem=/sys/fs/cgroup/memory/$E2E_CGPARENT/$id
	pids=/sys/fs/cgroup/pids/$E2E_CGPARENT/$id
	cap rt update --memory 32m --pids-limit 100 "$id"
	expect_ok "update with flags"
	expect_eq "$(cat "$mem/memory.limit_in_bytes")" 33554432 "memory limit after update"
	expect_eq "$(cat "$pids/pids.max")" 100 "pids limit after update"
	# containerd's shim passes the resources on stdin ("-r -").
	printf '%s' '{"memory": {"limit": 67108864}, "pids": {"limit": 7}}' >"$TD/res.json"
	"$KILN" --root "$ROOT" update -r - "$id" <"$TD/res.json" >"$TD/upd.out" 2>&1
	RC=$?
	expect_ok "update -r - ($(cat "$TD/upd.out"))"
	expect_eq "$(cat "$mem/memory.limit_in_bytes")" 67108864 "memory limit after update -r"
	expect_eq "$(cat "$pids/pids.max")" 7 "pids limit after update -r"
	cap rt update --memory 12x "$id"
	expect_rc 1 "update with a bad size"
	cap rt delete -f "$id"
	cap rt update --pids-limit 5 "$id"
	expect_rc 1 "update of a deleted container"
}

test_events_stats() {
	local id b
	command -v python3 >/dev/null || skip "python3 needed to read the JSON"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	sleep 0.3
	cap rt events --stats "$id"
	expect_ok "events --stats"
	python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
assert e["type"] == "stats" and e["id"] == sys.argv[1], e
d = e["data"]
assert d["cpu"]["usage"]["total"] > 0, d["cpu"]
assert "throttling" in d["cpu"]
assert d["memory"]["usage"]["usage"] > 0, d["memory"]
assert isinstance(d["memory"]["raw"], dict) and d["memory"]["raw"], d["memory"]
assert d["pids"]["current"] >= 1, d["pids"]
' "$id" <<<"$OUT" || fail "stats event: $OUT"
	cap rt events --interval 0s "$id"
	expect_rc 1 "events with a zero interval"
	cap rt delete -f "$id"
	cap rt events --stats "$id"
	expect_rc 1 "events --stats of a deleted container"
}

# Each hook records its stdin (the state) and appends its name to an order file.
test_hooks_record_state() {
	local id b h hooks="" out
	command -v python3 >/dev/null || skip "python3 needed to read the JSON"
	id=$(new_id)
	b=$(C_ANNOT='{"org.test.a": "b"}' mkb "$id" true)
	for h in prestart createRuntime createContainer poststart poststop; do
		hooks+="\"$h\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"/bin/cat > $TD/$h.json; echo $h >> $TD/order; pwd > $TD/$h.cwd\"], \"env\": [\"X=1\"], \"timeout\": 10}],"
	done
	# startContainer runs in the container: it sees the shared dir at /mnt.
	hooks+="\"startContainer\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"/bin/cat > /mnt/startContainer.json\"]}],"
	sed -i "0,/{/s|{|{ \"hooks\": { ${hooks%,} },|" "$b/config.json"
	cap rt create --bundle "$b" "$id"
	expect_ok "create with hooks"
	cap rt start "$id"
	expect_ok "start with hooks"
	wait_status "$id" stopped
	cap rt delete "$id"
	expect_ok "delete with hooks"
	expect_eq "$(tr '\n' ' ' <"$TD/order" | sed 's/ $//')" "prestart createRuntime createContainer poststart poststop" "hook order"
	cp "$b/share/startContainer.json" "$TD/startContainer.json" 2>/dev/null || fail "startContainer hook did not run"
	# runc's working directories: the bundle for the runtime's creation
	# hooks, the rootfs for createContainer (before pivot_root).
	expect_eq "$(cat "$TD/prestart.cwd")" "$b" "prestart cwd"
	expect_eq "$(cat "$TD/createRuntime.cwd")" "$b" "createRuntime cwd"
	expect_eq "$(cat "$TD/createContainer.cwd")" "$E2E_TMP/rootfs" "createContainer cwd"
	for h in prestart createRuntime createContainer startContainer poststart poststop; do
		python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["id"] == sys.argv[2], s
assert s["bundle"] == sys.argv[3], s
assert s["annotations"] == {"org.test.a": "b"}, s
want = {"prestart": "creating", "createRuntime": "creating", "createContainer": "creating",
        "startContainer": "created", "poststop": "stopped"}.get(sys.argv[4])
if want: assert s["status"] == want, (sys.argv[4], s)
if sys.argv[4] != "poststop": assert s["pid"] > 0, s
' "$TD/$h.json" "$id" "$b" "$h" || fail "state on the stdin of $h: $(cat "$TD/$h.json")"
	done
	# A failing createRuntime hook aborts create and leaves nothing behind.
	id=$(new_id)
	b=$(mkb "$id" true)
	sed -i '0,/{/s//{ "hooks": { "createRuntime": [{"path": "\/bin\/false"}] },/' "$b/config.json"
	cap rt create --bundle "$b" "$id"
	expect_rc 1 "create with a failing createRuntime hook"
	assert_clean "$id"
	# A hook killed by a signal: runc's words, the signal as Go names it.
	id=$(new_id)
	b=$(mkb "$id" true)
	sed -i '0,/{/s//{ "hooks": { "createRuntime": [{"path": "\/bin\/sh", "args": ["sh", "-c", "kill -TERM $$"]}] },/' "$b/config.json"
	cap rt run --bundle "$b" "$id"
	expect_rc 1 "run with a hook killed by SIGTERM"
	expect_err_has "hook #0: error running hook: signal: terminated"
	assert_clean "$id"
}

test_exec_cgroup() {
	local id b d
	[ -d /sys/fs/cgroup/pids ] || skip "needs the v1 pids hierarchy"
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	d=/sys/fs/cgroup/pids/$E2E_CGPARENT/$id/sub
	mkdir "$d" || fail "mkdir $d"
	cap rt exec --cgroup pids:sub "$id" cat /proc/self/cgroup
	expect_ok "exec --cgroup pids:sub"
	grep -q "pids:/$E2E_CGPARENT/$id/sub\$" <<<"$OUT" || grep -q "pids:/sub\$" <<<"$OUT" || fail "not in the sub-cgroup: $OUT"
	cap rt exec --cgroup ":sub" "$id" true
	expect_rc 255 "empty controller prefix"
	# runc cleans the path (path.Join); one that leaves the container's
	# cgroup is refused; a missing one names the cgroup.procs file.
	cap rt exec --cgroup pids:x/../sub "$id" cat /proc/self/cgroup
	expect_ok "exec --cgroup pids:x/../sub"
	grep -q "pids:.*/sub\$" <<<"$OUT" || fail "x/../sub: not in the sub-cgroup: $OUT"
	cap rt exec --cgroup .. "$id" true
	expect_rc 255 "exec --cgroup .."
	expect_err_has ".. is not a sub cgroup path"
	cap rt exec --cgroup pids:sub/../../x "$id" true
	expect_rc 255 "exec --cgroup pids:sub/../../x"
	expect_err_has "sub/../../x is not a sub cgroup path"
	cap rt exec --cgroup pids:nonexistent "$id" true
	expect_rc 255 "exec --cgroup pids:nonexistent"
	expect_err_has "/nonexistent/cgroup.procs: no such file or directory"
	cap rt exec --cgroup whaaat:/ "$id" true
	expect_rc 255 "exec --cgroup whaaat:/"
	expect_err_has "unknown controller whaaat"
	# delete removes the sub-cgroups too (runc's RemovePath), at once
	local t0=$SECONDS
	cap rt delete -f "$id"
	expect_ok "delete -f with a sub-cgroup"
	[ ! -d "$d" ] && [ ! -d "${d%/sub}" ] || fail "cgroup left after delete: $d"
	[ $((SECONDS - t0)) -le 3 ] || fail "delete with a sub-cgroup took $((SECONDS - t0)) s"
}

test_events_oom() {
	local id b
	[ -d /sys/fs/cgroup/memory ] || skip "needs the v1 memory hierarchy"
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'sleep 0.6; dd if=/dev/zero of=/dev/shm/fill bs=1M count=64; sleep 3')
	sed -i 's|"resources": {|"resources": { "memory": { "limit": 16777216, "swap": 16777216 },|' "$b/config.json"
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	timeout 4 "$KILN" --root "$ROOT" events --interval 200ms "$id" >"$TD/events" 2>&1
	grep -q "{\"type\":\"oom\",\"id\":\"$id\"}" "$TD/events" || fail "no oom event: $(head -c 300 "$TD/events") config: $(grep -o "resources[^]]*" "$b/config.json" | head -c 300)"
	cap rt delete -f "$id"
}

test_events_network_interfaces() {
	local id b pid
	# runc 1.1 reports only the interfaces it configured itself (none from a
	# plain config); kiln reports every interface of the container.
	[ "$RT_NAME" = kiln ] || skip "kiln reports all interfaces; $RT_NAME only its own"
	command -v ip >/dev/null || skip "iproute2 needed"
	command -v python3 >/dev/null || skip "python3 needed to read the JSON"
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	pid=$(state_json "$id" | json_get pid)
	# One end of a veth pair moved into the container's network namespace.
	ip link add "kh$$" type veth peer name "kd$$" || skip "cannot create a veth pair"
	ip link set "kd$$" netns "$pid" || { ip link del "kh$$"; fail "move link into the container"; }
	cap rt events --stats "$id"
	ip link del "kh$$" 2>/dev/null
	expect_ok
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())["data"]
names = [i["Name"] for i in d.get("network_interfaces", [])]
assert sys.argv[1] in names, names
i = [i for i in d["network_interfaces"] if i["Name"] == sys.argv[1]][0]
assert set(i) == {"Name", "RxBytes", "RxPackets", "RxErrors", "RxDropped", "TxBytes", "TxPackets", "TxErrors", "TxDropped"}, i
' "kd$$" <<<"$OUT" || fail "network_interfaces: $OUT"
	cap rt delete -f "$id"
}
