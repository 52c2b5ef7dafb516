# shellcheck shell=bash
# Teardown: what a runtime leaves behind when it is killed half-way, and
# whether `delete` can always finish the job.

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
