# shellcheck shell=bash
# Teardown: what a runtime leaves behind when it is killed half-way, and
# whether `delete` can always finish the job.

# Kill points: KILL_POINTS creates, and as many foreground runs (default 8;
# tests/kill9-leftovers.sh runs 60 against kiln and runc), each killed with
# SIGKILL at a random delay in [0, the duration of one create (run -d for the
# runs)], then `delete -f`; a point with anything
# left (a cgroup dir under our test parent, a state dir, a mount under the
# test's dir, a process of the container) or a failed `delete -f` counts.

# sleep_us N: sleep N microseconds without forking (read times out on a
# pipe nobody writes to).
sleep_us() {
	[ "$1" -gt 0 ] || return 0
	[ -n "${_SLEEP_FD:-}" ] || exec {_SLEEP_FD}<> <(:)
	read -r -t "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))" -u "$_SLEEP_FD" _ || true
}

# in_test_dir: pids of processes whose root or cwd is under the test's dir:
# a container init before pivot_root (cwd: the bundle) and after (root: the rootfs).
in_test_dir() {
	find /proc/[0-9]*/root /proc/[0-9]*/cwd -maxdepth 0 -printf '%l %p\n' 2>/dev/null |
		sed -n "s|^$TD/[^ ]* /proc/\([0-9]*\)/.*|\1|p" | sort -un
}

# leftovers ID ROOTDIR: what is left of container ID, one word per kind, "" when nothing.
leftovers() {
	local id=$1 root=$2 out=""
	[ -z "$(cg_dirs "$id")" ] || out+="cgroup "
	[ -z "$(ls -A "$root")" ] || out+="state($(ls -A "$root" | tr '\n' ' ')) "
	grep -q " ${TD}[/ ]" /proc/self/mountinfo && out+="mount "
	[ -z "$(procs_of "$id")$(in_test_dir)" ] || out+="process "
	echo "$out"
}
_no_leftovers() { [ -z "$(leftovers "$@")" ]; }

# clean_up_after ID ROOTDIR: remove what a kill point left, so the next one starts clean.
clean_up_after() {
	local id=$1 root=$2 pids d
	pids="$(procs_of "$id") $(in_test_dir)"
	[ -z "${pids// /}" ] || kill -9 $pids 2>/dev/null
	for d in $(cg_dirs "$id"); do
		poll 5 rmdir "$d" 2>/dev/null
	done
	rm -rf "${root:?}"/* "$root"/.[!.]* 2>/dev/null
}

# kill9_points N CMD: N killed CMDs (create, or run: a foreground run); sets
# K9_LEFT (points with leftovers) and K9_FAILED (failed delete -f).
kill9_points() {
	local n=$1 cmd=$2 i id b t0 dur=0 delay rc left kpid timed=$2
	[ "$cmd" = run ] && timed="run -d"
	local root=$TD/k9root
	mkdir -p "$root"
	make_rootfs "$TD/rootfs" || fail "no rootfs"
	# The duration of one create or run -d (the longest of three).
	for i in 1 2 3; do
		id=$(new_id)
		b=$(C_ROOTFS=$TD/rootfs mkb "$id" sleep 100)
		t0=${EPOCHREALTIME/./}
		# shellcheck disable=SC2086 # "run -d": two words
		timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$root" $timed --bundle "$b" "$id" </dev/null >/dev/null 2>&1 ||
			fail "$timed failed"
		t0=$((${EPOCHREALTIME/./} - t0))
		[ "$t0" -le "$dur" ] || dur=$t0
		timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$root" delete -f "$id" >/dev/null 2>&1 || fail "delete -f failed"
	done
	echo "$timed takes ${dur} us" >&2
	K9_LEFT=0 K9_FAILED=0
	for ((i = 0; i < n; i++)); do
		id=$(new_id)
		b=$(C_ROOTFS=$TD/rootfs mkb "$id" sleep 100)
		delay=$(((RANDOM * 32768 + RANDOM) % (dur + 1)))
		"$KILN" --root "$root" "$cmd" --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
		kpid=$!
		sleep_us "$delay"
		kill -9 "$kpid" 2>/dev/null
		wait "$kpid" 2>/dev/null
		timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$root" delete -f "$id" >"$TD/.del" 2>&1
		rc=$?
		# a process on its way out is not left behind: give it a moment
		poll 2 _no_leftovers "$id" "$root"
		left=$(leftovers "$id" "$root")
		if [ "$rc" != 0 ]; then
			K9_FAILED=$((K9_FAILED + 1))
			left+="delete-f(rc=$rc: $(head -c 200 "$TD/.del")) "
		fi
		if [ -n "$left" ]; then
			K9_LEFT=$((K9_LEFT + 1))
			echo "kill point $i at ${delay} us: left $left" >&2
		fi
		clean_up_after "$id" "$root"
	done
}

# kill9_check CMD: kill9_points for CMD, reported (KILL9_REPORT: a line
# "RUNTIME CMD LEFT FAILED N" appended), and for kiln nothing may be left.
kill9_check() {
	local n=${KILL_POINTS:-8} cmd=$1
	kill9_points "$n" "$cmd"
	echo "kill -9 during $cmd: $RT_NAME left something behind at $K9_LEFT of $n kill points, delete -f failed $K9_FAILED times" >&2
	[ -z "${KILL9_REPORT:-}" ] || echo "$RT_NAME $cmd $K9_LEFT $K9_FAILED $n" >>"$KILL9_REPORT"
	# runc 1.1.5 leaves cgroups behind: it writes its state after the cgroup exists.
	[ "$RT_NAME" = runc ] && return 0
	[ "$K9_LEFT" = 0 ] || fail "left something behind at $K9_LEFT of $n kill points (delete -f failed $K9_FAILED times; see the log)"
}

test_kill9_create_leaves_nothing() { kill9_check create; }
test_kill9_run_leaves_nothing() { kill9_check run; }

# A state.json that cannot be read is no reason to forget the container:
# its processes and cgroups are still there (runc keeps it too).
test_delete_keeps_unreadable_state() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 100)
	cap rt create --bundle "$b" "$id"
	expect_ok
	pid=$(pid_of "$id")
	cp "$ROOT/$id/state.json" "$TD/state.json"
	echo '{"id": ' >"$ROOT/$id/state.json"
	cap rt delete "$id"
	expect_rc 1 "delete with a broken state.json"
	[ -s "$ROOT/$id/state.json" ] || fail "delete removed the state of $id"
	kill -0 "$pid" 2>/dev/null || fail "delete killed $pid without a record"
	[ -n "$(cg_dirs "$id")" ] || fail "delete removed the cgroup without a record"
	cap rt delete --force "$id"
	expect_rc 1 "delete --force with a broken state.json"
	[ -s "$ROOT/$id/state.json" ] || fail "delete --force removed the state of $id"
	cp "$TD/state.json" "$ROOT/$id/state.json"
	cap rt delete --force "$id"
	expect_ok
	assert_clean "$id"
	# A dir with no state.json at all (an aborted create) goes.
	mkdir "$ROOT/aborted"
	cap rt delete aborted
	expect_rc 1
	expect_err_has "container does not exist"
	[ ! -e "$ROOT/aborted" ] || fail "delete left the aborted create's dir"
}

# A cgroup that cannot be removed is an error, and the state stays so that a
# later `delete` can finish (a mount on a dir in it keeps it busy).
test_delete_keeps_state_of_busy_cgroup() {
	local id b d
	[ "$RT_NAME" = kiln ] || skip "runc 1.1 drops the state with the cgroup left"
	id=$(new_id)
	b=$(mkb "$id" sleep 100)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	d=$(cg_dirs "$id" | head -n1)
	[ -n "$d" ] || fail "no cgroup for $id"
	mkdir "$d/busy" || fail "mkdir $d/busy"
	trap 'umount "$d/busy" 2>/dev/null' EXIT TERM
	mount -t tmpfs kiln-test "$d/busy" || fail "mount on $d/busy"
	cap rt delete --force "$id"
	expect_rc 1 "delete --force of a container whose cgroup is busy"
	expect_err_has "remove cgroup"
	[ -s "$ROOT/$id/state.json" ] || fail "delete dropped the state of $id with its cgroup left"
	umount "$d/busy" || fail "umount $d/busy"
	cap rt delete --force "$id"
	expect_ok "delete --force once the cgroup can go"
	assert_clean "$id"
}

# `events` ends quietly only when the container stops; an error on the way
# is an error (exit 1).
test_events_error_exits_nonzero() {
	local id b epid rc
	# runc reads state.json once, and its stream outlives the container's end.
	[ "$RT_NAME" = kiln ] || skip "runc's events differ: it streams until the cgroup goes"
	id=$(new_id)
	b=$(mkb "$id" sleep 100)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	rt events --interval 50ms "$id" >"$TD/events.out" 2>"$TD/events.err" &
	epid=$!
	note_pid "$epid"
	wait_nonempty "$TD/events.out"
	cp "$ROOT/$id/state.json" "$TD/state.json"
	echo '{"id": ' >"$ROOT/$id/state.json"
	wait "$epid"
	rc=$?
	cp "$TD/state.json" "$ROOT/$id/state.json"
	[ "$rc" = 1 ] || fail "events after a broken state.json: exit $rc, want 1 ($(cat "$TD/events.err"))"
	# The container's end is the stream's normal end.
	rt events --interval 50ms "$id" >"$TD/events2.out" 2>"$TD/events.err" &
	epid=$!
	note_pid "$epid"
	wait_nonempty "$TD/events2.out"
	cap rt kill "$id" KILL
	expect_ok
	wait "$epid"
	rc=$?
	[ "$rc" = 0 ] || fail "events when the container stopped: exit $rc, want 0 ($(cat "$TD/events.err"))"
}

# A create refused because the id is taken undoes nothing of the container
# that has it (same id, same cgroupsPath).
test_create_taken_id_keeps_other() {
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" sleep 100)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	pid=$(pid_of "$id")
	cap rt create --bundle "$b" "$id"
	expect_rc 1 "create with a taken id"
	expect_msg "already exists"
	[ "$(status_of "$id")" = running ] || fail "the first container is $(status_of "$id") after the refused create"
	kill -0 "$pid" 2>/dev/null || fail "the refused create killed $pid"
	[ -n "$(cg_dirs "$id")" ] || fail "the refused create removed the cgroup of $id"
	cap rt delete -f "$id"
	expect_ok
	assert_clean "$id"
}

# A foreground run holds no lock while its container runs: pause, resume,
# update, exec and delete from another terminal answer at once (as runc),
# and the run ends when the container is deleted under it.
test_foreground_run_answers_others() {
	local id b rpid
	id=$(new_id)
	b=$(mkb "$id" sleep 100)
	"$KILN" --root "$ROOT" run --bundle "$b" "$id" </dev/null >"$TD/run.out" 2>"$TD/run.err" &
	rpid=$!
	note_pid "$rpid"
	wait_status "$id" running
	cap timeout 5 "$KILN" --root "$ROOT" pause "$id"
	expect_ok "pause beside a foreground run"
	[ "$(status_of "$id")" = paused ] || fail "status after pause: $(status_of "$id")"
	cap timeout 5 "$KILN" --root "$ROOT" resume "$id"
	expect_ok "resume beside a foreground run"
	cap timeout 5 "$KILN" --root "$ROOT" update --pids-limit 50 "$id"
	expect_ok "update beside a foreground run"
	cap timeout 5 "$KILN" --root "$ROOT" exec "$id" true
	expect_ok "exec beside a foreground run"
	cap timeout 5 "$KILN" --root "$ROOT" delete --force "$id"
	expect_ok "delete --force beside a foreground run"
	poll 5 _pid_dead "$rpid" || fail "the foreground run outlived its container"
	wait "$rpid"
	assert_clean "$id"
}
