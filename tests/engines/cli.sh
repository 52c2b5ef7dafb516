# shellcheck shell=bash
# tests/engines/cli.sh - the scenarios docker.sh and podman.sh share: both
# CLIs take the same commands and flags for what is tested here (sourced
# after lib.sh). The engine script defines:
#   e ARGS...        the engine's CLI (docker or podman, private instance)
#   erun ARGS...     `e run` with the runtime under test ($RT) and the
#                    engine's per-container defaults (no network, cgroup parent)
#   erun_cmd, ECLI   erun (a function printing it) and e as command line
#                    strings, for `script` (tty)
#   ENGINE           docker | podman, for the few differences
#   IMG              the busybox image
# The scenarios (s_NAME, see lib.sh for how they run and are judged):
#   run_exit env_user_workdir detach_exec_logs_stop_rm tty signals
#   pause_unpause limits_update init restart_policies read_only parallel20

# ebg NAME [OPTS...]: detached $LOOP container, waits for "ready"
ebg() {
	local n=$1
	shift
	erun -d --name "$n" "$@" "$IMG" sh -c "$LOOP" >/dev/null || fail "$ENGINE run -d $n failed"
	wait_for 15 logs_has "$n" ready || fail "$n never printed ready"
}
logs_has() { grep -q -- "$2" <<<"$(e logs "$1" 2>&1)"; }
st() { e inspect -f "{{.State.$2}}" "$1" 2>&1; }

s_run_exit() {
	local out
	out=$(erun --rm "$IMG" echo hello-from-container) || fail "$ENGINE run failed"
	expect_eq output "$out" hello-from-container
	erun --rm "$IMG" sh -c 'exit 42'
	expect_eq "exit code" $? 42
	# the engines map the runtime's error text to 127 and 126
	erun --rm "$IMG" /no/such/binary >/dev/null 2>&1
	expect_eq "exit code of a missing binary" $? 127
	erun --rm "$IMG" /etc/passwd >/dev/null 2>&1
	expect_eq "exit code of a non-executable" $? 126
}
s_env_user_workdir() {
	local out
	out=$(erun --rm -e KFOO=bar -w /home/user --user 1000:1000 "$IMG" sh -c 'echo "$KFOO:$PWD:$(id -u):$(id -g):$HOME"') ||
		fail "$ENGINE run failed"
	expect_eq "env:cwd:uid:gid:home" "$out" "bar:/home/user:1000:1000:/home/user"
	# docker creates a missing workdir, podman refuses one not in the image
	local wd=/nonexistent/dir
	[ "$ENGINE" = podman ] && wd=/tmp
	out=$(erun --rm --user user -w $wd "$IMG" sh -c 'echo $(id -un):$PWD' 2>&1) || fail "$ENGINE run --user user failed: $out"
	expect_eq "user by name, workdir" "$out" "user:$wd"
}
s_detach_exec_logs_stop_rm() {
	local out t0
	ebg e-de
	expect_eq status "$(st e-de Status)" running
	out=$(e exec e-de sh -c 'echo exec-ok; tr "\0" " " </proc/1/cmdline') || fail "$ENGINE exec failed"
	expect_has "exec output" "$out" exec-ok
	expect_has "pid 1" "$out" "sh -c"
	out=$(e exec --user 1000 -w /tmp -e X=y e-de sh -c 'echo $(id -u):$PWD:$X') || fail "$ENGINE exec --user failed"
	expect_eq "exec user:cwd:env" "$out" "1000:/tmp:y"
	e exec e-de sh -c 'exit 7'
	expect_eq "exec exit code" $? 7
	erun --name e-logs "$IMG" sh -c 'echo out-line; echo err-line >&2' >/dev/null 2>&1
	out=$(e logs e-logs 2>/dev/null)
	expect_eq "logs (stdout only)" "$out" out-line
	out=$(e logs e-logs 2>&1 >/dev/null)
	expect_eq "logs (stderr only)" "$out" err-line
	t0=$SECONDS
	e stop -t 20 e-de >/dev/null || fail "$ENGINE stop failed"
	[ $((SECONDS - t0)) -lt 10 ] || fail "stop took $((SECONDS - t0)) s: SIGTERM not delivered"
	expect_eq "exit code after stop" "$(st e-de ExitCode)" 0
	logs_has e-de got-term || fail "no got-term in the logs after stop"
	ebg e-rm
	e rm e-rm >/dev/null 2>&1 && fail "rm of a running container succeeded"
	e rm -f e-rm e-de e-logs >/dev/null || fail "$ENGINE rm -f failed"
	[ -z "$(e ps -aq)" ] || fail "containers left after rm"
}
s_tty() {
	local out rc
	# the client's window size reaches the container's pty
	out=$(in_pty "stty rows 40 cols 120; $(erun_cmd) --rm -t $IMG sh -c 'tty-size; exit 5'")
	rc=$?
	expect_has "tty" "$out" /dev/pts/
	expect_has "window size" "$out" "40 120"
	expect_eq "exit code through the tty" $rc 5
	ebg e-tty
	out=$(in_pty "stty rows 30 cols 90; $ECLI exec -it e-tty sh -c 'tty-size; exit 6'")
	rc=$?
	expect_has "exec -it" "$out" /dev/pts/
	expect_has "exec window size" "$out" "30 90"
	expect_eq "exec -it exit code" $rc 6
	out=$(printf 'echo from-stdin; exit 4\n' | erun --rm -i "$IMG" sh)
	rc=$?
	expect_eq "stdin" "$out" from-stdin
	expect_eq "exit code (-i)" $rc 4
}
s_signals() {
	ebg e-usr1
	e kill -s SIGUSR1 e-usr1 >/dev/null || fail "kill -s SIGUSR1 failed"
	expect_eq "exit code after USR1" "$(e wait e-usr1)" 3
	logs_has e-usr1 got-usr1 || fail "no got-usr1 in the logs"
	ebg e-term
	e kill -s TERM e-term >/dev/null || fail "kill -s TERM failed"
	expect_eq "exit code after TERM" "$(e wait e-term)" 0
	ebg e-kill
	e kill -s KILL e-kill >/dev/null || fail "kill -s KILL failed"
	expect_eq "exit code after KILL" "$(e wait e-kill)" 137
	erun -d --name e-stopsig --stop-signal SIGUSR1 "$IMG" sh -c "$LOOP" >/dev/null || fail "run --stop-signal failed"
	wait_for 15 logs_has e-stopsig ready || fail "not ready"
	e stop e-stopsig >/dev/null || fail "stop failed"
	expect_eq "exit code after stop with --stop-signal SIGUSR1" "$(st e-stopsig ExitCode)" 3
}
s_pause_unpause() {
	local a b pid
	# the counter is renamed into place: read from outside, never half written
	erun -d --name e-pause "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.1; done' >/dev/null || fail "run failed"
	sleep 0.5
	pid=$(st e-pause Pid)
	e pause e-pause >/dev/null || fail "$ENGINE pause failed"
	expect_eq "status when paused" "$(st e-pause Status)" paused
	a=$(cat "/proc/$pid/root/tmp/n")
	sleep 0.7
	b=$(cat "/proc/$pid/root/tmp/n")
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "the counter moved while paused ($a -> $b)"
	e unpause e-pause >/dev/null || fail "$ENGINE unpause failed"
	expect_eq "status after unpause" "$(st e-pause Status)" running
	sleep 0.7
	b=$(e exec e-pause cat /tmp/n) || fail "exec after unpause failed"
	[ "$b" -gt "$a" ] || fail "the counter did not move after unpause ($a -> $b)"
}
s_limits_update() {
	local out want="mem=33554432 cpu=100000/100000 pids=100" upd=(-m 32m --cpus 1 --pids-limit 100)
	# podman 4.3's update takes memory and cpu, no pids
	[ "$ENGINE" = podman ] && upd=(-m 32m --cpus 1) want="mem=33554432 cpu=100000/100000 pids=50"
	out=$(erun --rm -m 64m --cpus 0.5 --pids-limit 50 "$IMG" sh -c "$LIMITS_SH") || fail "$ENGINE run failed"
	expect_eq "limits" "$out" "mem=67108864 cpu=50000/100000 pids=50"
	ebg e-upd -m 64m --cpus 0.5 --pids-limit 50
	e update "${upd[@]}" e-upd >/dev/null || fail "$ENGINE update failed"
	out=$(e exec e-upd sh -c "$LIMITS_SH") || fail "exec failed"
	expect_eq "limits after update" "$out" "$want"
	# the pids limit is enforced: 8 background sleeps fit under 50, not under 5
	out=$(erun --rm --pids-limit 50 "$IMG" sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; echo all-forked' 2>&1)
	expect_eq "8 processes under --pids-limit 50" "$out" all-forked
	out=$(erun --rm --pids-limit 5 "$IMG" sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; echo all-forked' 2>&1)
	expect_has "8 processes under --pids-limit 5" "$out" "can't fork"
}
s_init() {
	local out rc
	out=$(erun --rm --init "$IMG" sh -c 'cat /proc/1/comm; exit 9')
	rc=$?
	expect_eq "exit code through the init" $rc 9
	case $out in docker-init | tini* | catatonit | podman-init) ;; *) fail "pid 1 is '$out', not an init" ;; esac
}
s_restart_policies() {
	local i p1 p2
	erun -d --name e-onfail --restart on-failure:2 "$IMG" sh -c 'echo run; exit 3' >/dev/null || fail "run failed"
	for ((i = 0; i < 100; i++)); do
		[ "$(e inspect -f '{{.RestartCount}}' e-onfail)/$(st e-onfail Status)" = 2/exited ] && break
		sleep 0.2
	done
	expect_eq "restart count (on-failure:2)" "$(e inspect -f '{{.RestartCount}}' e-onfail)" 2
	expect_eq "exit code" "$(st e-onfail ExitCode)" 3
	expect_eq "runs logged" "$(e logs e-onfail 2>&1 | grep -c run)" 3
	erun -d --name e-always --restart always "$IMG" sh -c 'echo up; sleep 0.3' >/dev/null || fail "run failed"
	wait_for 20 eval '[ "$(e inspect -f "{{.RestartCount}}" e-always)" -ge 2 ]' || fail "restart always: no restarts"
	e stop -t 1 e-always >/dev/null || fail "stop of a restart-always container failed"
	sleep 1
	expect_eq "stopped stays stopped" "$(st e-always Running)" false
	ebg e-manual
	p1=$(st e-manual Pid)
	e restart -t 5 e-manual >/dev/null || fail "$ENGINE restart failed"
	wait_for 15 eval '[ "$(e logs e-manual 2>&1 | grep -c ready)" = 2 ]' || fail "not ready after restart"
	p2=$(st e-manual Pid)
	[ "$p1" != "$p2" ] && [ "$(st e-manual Status)" = running ] || fail "restart: pid $p1 -> $p2, status $(st e-manual Status)"
}
s_read_only() {
	local out ro=(--read-only)
	[ "$ENGINE" = podman ] && ro+=(--read-only-tmpfs=false)
	out=$(erun --rm "${ro[@]}" --tmpfs /scratch "$IMG" sh -c 'touch /x 2>/dev/null && echo rw || echo ro; touch /scratch/x && echo tmpfs-ok; grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1') ||
		fail "$ENGINE run failed"
	expect_eq output "$out" $'ro\ntmpfs-ok\nro'
}
s_parallel20() {
	local i ok=0 d=$W/par-$RT
	mkdir -p "$d"
	for ((i = 0; i < 20; i++)); do
		erun --rm "$IMG" echo "par-$i" >"$d/$i.out" 2>"$d/$i.err" &
	done
	wait
	for ((i = 0; i < 20; i++)); do [ "$(cat "$d/$i.out")" = "par-$i" ] && ok=$((ok + 1)); done
	[ $ok = 20 ] || fail "$ok/20 right; e.g. $(cat "$d"/*.err | head -n 1)"
}

# eng_cli_scenarios: run them all
eng_cli_scenarios() {
	local s
	for s in run_exit env_user_workdir detach_exec_logs_stop_rm tty signals pause_unpause limits_update \
		init restart_policies read_only; do
		eng_scenario "$s"
	done
	eng_scenario parallel20 180
}
