#!/usr/bin/env bash
# tests/engines/containerd.sh - kiln under a private containerd through the
# runc v2 shim (ctr run --runtime io.containerd.runc.v2 --runc-binary), runc
# as reference. containerd has its own config, root, state and sockets; the
# CRI plugin is off here (tests/cri/ drives it). Every container is put in a
# cgroup of ours (--cgroup /$CG/ID). Last line: "N passed, N failed". Root only.
#   KILN=build/kiln tests/engines/containerd.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 2
eng_private_ns 0 "$@"
eng_init containerd
eng_km_setup
eng_containerd_start kiln-eng
eng_at_exit engine_reset
arch=$(eng_oci_archive busybox localhost/kiln-eng:latest) || eng_setup_error "cannot build the OCI image archive"
ct images import --snapshotter "$CTD_SNAP" "$arch" >"$W/logs/import.log" 2>&1 ||
	eng_setup_error "ctr images import: $(tail -n 2 "$W/logs/import.log")"
IMG=localhost/kiln-eng:latest
export IMG

engine_reset() {
	local c
	for c in $(ct containers ls -q); do
		ct tasks kill -s KILL "$c"
		ct tasks rm -f "$c"
		ct containers rm "$c"
	done
}
# crun_ ID [ctr run options] -- ARGS...: ctr run with the runtime under test
crun_() {
	local id=$1
	shift
	local -a opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	ct run --snapshotter "$CTD_SNAP" --runtime io.containerd.runc.v2 --runc-binary "${BIN:-$RTBIN}" \
		--runc-root "$W/runc-$RT" --cgroup "/$CG/$id" --fifo-dir "$W/fifo" "${opts[@]}" "$IMG" "$id" "$@"
}
# cbg ID [options]: detached $LOOP container logging to $W/logs/ID.out
cbg() {
	local id=$1
	shift
	crun_ "$id" -d --log-uri "file://$W/logs/$id.out" "$@" -- sh -c "$LOOP" >/dev/null || fail "ctr run -d $id failed"
	wait_for 15 grep -q ready "$W/logs/$id.out" || fail "$id never printed ready"
}
tstatus() { ct tasks ls | awk -v id="$1" '$1 == id { print $3 }'; }
tpid() { ct tasks ls | awk -v id="$1" '$1 == id { print $2 }'; }

s_run_exit() {
	local out
	out=$(crun_ "e-echo-$RT" --rm -- echo hello-from-container) || fail "ctr run failed"
	expect_eq output "$out" hello-from-container
	crun_ "e-exit-$RT" --rm -- sh -c 'exit 42'
	expect_eq "exit code" $? 42
	out=$(crun_ "e-nobin-$RT" --rm -- /no/such/binary 2>&1) && fail "ctr run of a missing binary succeeded"
	expect_has "error of a missing binary" "$out" "no such file or directory"
	ct containers rm "e-nobin-$RT" >/dev/null 2>&1
	return 0
}
s_env_user_workdir() {
	local out
	out=$(crun_ "e-env-$RT" --rm --env KFOO=bar --cwd /home/user -- sh -c 'echo "$KFOO:$PWD:$(id -u)"') || fail "ctr run failed"
	expect_eq "env:cwd:uid" "$out" "bar:/home/user:0"
	cbg "e-user-$RT" --env KFOO=bar --cwd /home/user
	out=$(ct tasks exec --exec-id x1 --user 1000 "e-user-$RT" sh -c 'echo "$KFOO:$PWD:$(id -u):$(id -g)"') || fail "exec --user failed"
	expect_eq "exec env:cwd:uid:gid" "$out" "bar:/home/user:1000:1000"
}
s_detach_exec_logs_stop_rm() {
	local id=e-de-$RT out
	cbg "$id"
	expect_eq status "$(tstatus "$id")" RUNNING
	out=$(ct tasks exec --exec-id x1 --cwd /tmp "$id" sh -c 'echo exec-ok:$PWD; tr "\0" " " </proc/1/cmdline') || fail "exec failed"
	expect_has "exec output" "$out" exec-ok:/tmp
	expect_has "pid 1" "$out" "sh -c"
	ct tasks exec --exec-id x2 "$id" sh -c 'exit 7'
	expect_eq "exec exit code" $? 7
	ct tasks exec --exec-id x3 "$id" sh -c 'echo err-line >&2' 2>/dev/null
	ct tasks kill "$id" || fail "ctr task kill (SIGTERM) failed"
	wait_for 10 eval '[ "$(tstatus "$id")" = STOPPED ]' || fail "not stopped 10 s after SIGTERM: $(tstatus "$id")"
	grep -q got-term "$W/logs/$id.out" || fail "no got-term in the log"
	ct tasks rm "$id" >/dev/null || fail "ctr task rm failed"
	ct containers rm "$id" || fail "ctr container rm failed"
	[ -z "$(ct containers ls -q)" ] || fail "containers left after rm"
}
s_tty() {
	local out rc
	out=$(in_pty "stty rows 40 cols 120; $CTR -a $CTD_SOCK -n $CTD_NS run -t --rm --snapshotter $CTD_SNAP --runtime io.containerd.runc.v2 --runc-binary $RTBIN --runc-root $W/runc-$RT --cgroup /$CG/e-tty-$RT --fifo-dir $W/fifo $IMG e-tty-$RT sh -c 'tty-size; exit 5'")
	rc=$?
	expect_has "tty" "$out" /dev/pts/
	expect_has "window size" "$out" "40 120"
	expect_eq "exit code through the tty" $rc 5
}
# sig_exit ID SIGNAL: attached `ctr run` of $LOOP, signalled once ready;
# prints the exit status ctr returned
sig_exit() {
	local id=$1 pid
	crun_ "$id" --rm -- sh -c "$LOOP" >"$W/logs/$id.out" 2>&1 &
	pid=$!
	wait_for 15 grep -q ready "$W/logs/$id.out" || fail "$id never ready"
	ct tasks kill -s "$2" "$id" || fail "kill -s $2 failed"
	wait "$pid"
	echo $?
}
s_signals() {
	expect_eq "exit code after USR1" "$(sig_exit "e-sig-$RT" SIGUSR1)" 3
	grep -q got-usr1 "$W/logs/e-sig-$RT.out" || fail "no got-usr1"
	expect_eq "exit code after TERM" "$(sig_exit "e-sigt-$RT" TERM)" 0
	expect_eq "exit code after KILL" "$(sig_exit "e-sigk-$RT" KILL)" 137
}
s_pause_unpause() {
	local id=e-pause-$RT a b pid
	# the counter is renamed into place: read from outside, never half written
	crun_ "$id" -d -- sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.1; done' >/dev/null || fail "run failed"
	sleep 0.5
	pid=$(tpid "$id")
	ct tasks pause "$id" || fail "ctr task pause failed"
	expect_eq "status when paused" "$(tstatus "$id")" PAUSED
	a=$(cat "/proc/$pid/root/tmp/n")
	sleep 0.7
	b=$(cat "/proc/$pid/root/tmp/n")
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "the counter moved while paused ($a -> $b)"
	ct tasks resume "$id" || fail "ctr task resume failed"
	expect_eq "status after resume" "$(tstatus "$id")" RUNNING
	sleep 0.7
	b=$(cat "/proc/$pid/root/tmp/n")
	[ "$b" -gt "$a" ] || fail "the counter did not move after resume ($a -> $b)"
}
s_limits_update() {
	local id=e-lim-$RT c m q
	cbg "$id" --memory-limit 67108864 --cpu-quota 50000 --cpu-period 100000
	if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		m=$(cat "/sys/fs/cgroup/memory/$CG/$id/memory.limit_in_bytes")
		for c in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do
			[ -f "$c/$CG/$id/cpu.cfs_quota_us" ] && q=$(cat "$c/$CG/$id/cpu.cfs_quota_us")/$(cat "$c/$CG/$id/cpu.cfs_period_us")
		done
	else
		m=$(cat "/sys/fs/cgroup/$CG/$id/memory.max")
		q=$(tr ' ' / <"/sys/fs/cgroup/$CG/$id/cpu.max")
	fi
	expect_eq "limits in the container's cgroup" "mem=$m cpu=${q:-}" "mem=67108864 cpu=50000/100000"
	# ctr 1.6 has no update and no pids limit: tests/cri/ updates through CRI
}
s_init() { na "ctr run has no --init"; }
s_restart_policies() { na "ctr run has no restart policy"; }
s_read_only() {
	local out
	out=$(crun_ "e-ro-$RT" --rm --read-only -- sh -c 'touch /x 2>/dev/null && echo rw || echo ro; touch /dev/shm/x && echo tmpfs-ok') ||
		fail "ctr run failed"
	expect_eq output "$out" $'ro\ntmpfs-ok'
}
s_parallel20() {
	local i ok=0 d=$W/par-$RT
	mkdir -p "$d"
	for ((i = 0; i < 20; i++)); do
		crun_ "e-par-$RT-$i" --rm -- echo "par-$i" >"$d/$i.out" 2>"$d/$i.err" &
	done
	wait
	for ((i = 0; i < 20; i++)); do [ "$(cat "$d/$i.out")" = "par-$i" ] && ok=$((ok + 1)); done
	[ $ok = 20 ] || fail "$ok/20 right; e.g. $(cat "$d"/*.err | head -n 1)"
}
s_healthcheck() { na "containerd has no healthchecks (CRI ExecSync probes: tests/cri/)"; }
s_km() {
	[ "$RT" = kiln ] || na "the KM handler is kiln's"
	local out log=$KMDIR/share/km.log
	rm -f "$log"
	out=$(BIN=$KMDIR/kiln-km-wrap crun_ e-km --rm --mount "type=bind,src=$KMDIR/share,dst=/mnt,options=rbind:rw" \
		--env FAKE_KM_LOG=/mnt/km.log -- sh -c 'echo hello; ls /opt/kontain/bin' 2>&1) || fail "run under km failed: $out"
	expect_eq "output under km" "$out" $'hello\nkm'
	grep -qx 'argv\[1\]=/bin/sh' "$log" || fail "payload not under km: $(head -c 300 "$log")"
}

eng_scenario run_exit
eng_scenario env_user_workdir
eng_scenario detach_exec_logs_stop_rm
eng_scenario tty
eng_scenario signals
eng_scenario pause_unpause
eng_scenario limits_update
eng_scenario init
eng_scenario restart_policies
eng_scenario read_only
eng_scenario parallel20 180
eng_scenario healthcheck
eng_scenario km
eng_summary
