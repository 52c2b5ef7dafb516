#!/usr/bin/env bash
# tests/engines/workloads.sh - the workloads kiln exists for, through a
# private dockerd, with numbers for kiln, runc (the reference: kiln is
# judged against it) and crun (shown, not judged):
#   jobs_seq     ENG_TASKS (100) one-off `docker run --rm` tasks in a row,
#                each checking its output (a scanner starting a container
#                per task): wall time per task
#   jobs_par10   the same tasks 10 at a time
#                (both timed in ENG_ROUNDS (5) rounds, the runtimes' order
#                rotating, before they are judged)
#   http_service busybox httpd published on a loopback host port (private
#                bridge, docker-proxy), reachable from the host, surviving
#                `docker restart` (3 times), its logs readable: time to the
#                first answer after run and after restart (median)
#   build_step   a build as user 1000 with no network and the workspace
#                bind-mounted; artifacts on the host; a failing build's exit
#                code propagated (5 builds: the median time)
# Timing never fails a test; the numbers are printed as a table at the end
# (and appended to $ENG_METRICS: "workload|metric|runtime|value").
# crun 1.8 refuses hybrid cgroup hosts: on one, everything here (dockerd
# and all three runtimes) runs in a private mount namespace with the cgroup2
# mount hidden, i.e. on pure cgroup v1. Root only.
#   KILN=build/kiln tests/engines/workloads.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 2
hybrid=0
[ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] &&
	[ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && hybrid=1
CRUN=$(command -v crun || true)
[ -n "$CRUN" ] || hybrid=0
eng_private_ns "$hybrid" "$@"
eng_init workloads
: "${ENG_TASKS:=100}"
: "${ENG_METRICS:=}"
export ENG_TASKS
METRICS=$W/metrics
: >"$METRICS"
export METRICS
ENG_RUNTIMES="kiln runc${CRUN:+ crun}"
export ENG_RUNTIMES
[ -n "$CRUN" ] || eng_info "workloads: no crun (apt-get install crun): kiln and runc only"
rts="{\"kiln\": {\"path\": \"$KILN\"}, \"ref-runc\": {\"path\": \"$RUNC\"}${CRUN:+, \"ref-crun\": {\"path\": \"$CRUN\"\}}}"
eng_dockerd_start "$rts"
IMG=kiln-eng
export IMG

# a private bridge for the published port: a subnet no route uses, its
# interface named by us and deleted after dockerd stopped
NET=kiln-net BR=kilnbr$$
for o in $(seq $(($$ % 200 + 20)) 254) $(seq 20 254); do
	ip -4 route | grep -q "^10\.211\.$o\." || break
done
if dk network create -d bridge -o "com.docker.network.bridge.name=$BR" --subnet "10.211.$o.0/24" "$NET" >/dev/null 2>"$W/logs/net.err"; then
	eng_at_exit "dk network rm $NET"
	eng_at_final "ip link del $BR"
	eng_info "workloads: bridge $BR 10.211.$o.0/24 (no iptables rules), docker-proxy on 127.0.0.1"
else
	NET=
	eng_info "workloads: no private bridge ($(tail -n 1 "$W/logs/net.err")): http_service uses the host network"
fi
export NET

engine_reset() {
	local ids
	ids=$(dk ps -aq)
	[ -z "$ids" ] || dk rm -f $ids
}
rtname() { case $RT in kiln) echo kiln ;; runc) echo ref-runc ;; crun) echo ref-crun ;; esac; }
drun() { dk run --runtime "$(rtname)" "$@"; }
# metric WORKLOAD NAME VALUE
metric() { echo "$1|$2|$RT|$3" >>"$METRICS"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
stats_ms() { sort -n | awk '{ v[NR] = $1; s += $1 } END { printf "%.0f %.0f %.0f", s / NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)] }'; }

# task I: one job container; prints its result
task() { drun --rm --network none "$IMG" sh -c "echo task-$1 | md5sum | cut -c1-32"; }
want() { printf 'task-%s\n' "$1" | md5sum | cut -c1-32; }

# The job tasks are timed before the scenarios judge them: ENG_ROUNDS (5)
# rounds of ENG_TASKS/ENG_ROUNDS tasks per runtime, the runtimes' order
# rotating each round, so that the load of a shared machine drifting during
# the run weighs on all of them alike.
# jobs_round MODE N FIRST: N tasks from FIRST with $RT, in a row (seq) or 10
# at a time (par10); appends per-task ms (seq) or the batch's ms (par10) to
# $W/MODE-$RT.ms and each wrong result to $W/MODE-$RT.bad
jobs_round() {
	local mode=$1 n=$2 first=$3 i t0 out d=$W/$1-$RT
	if [ "$mode" = seq ]; then
		for ((i = first; i < first + n; i++)); do
			t0=$EPOCHREALTIME
			out=$(task "$i" 2>&1)
			ms_since "$t0" >>"$d.ms"
			echo >>"$d.ms"
			[ "$out" = "$(want "$i")" ] || echo "task $i: $out" >>"$d.bad"
		done
	else
		mkdir -p "$d"
		t0=$EPOCHREALTIME
		seq "$first" $((first + n - 1)) | xargs -P 10 -I{} bash -c 'task {} >"$0/{}.out" 2>&1' "$d"
		ms_since "$t0" >>"$d.ms"
		echo >>"$d.ms"
		for ((i = first; i < first + n; i++)); do
			[ "$(cat "$d/$i.out")" = "$(want "$i")" ] || echo "task $i: $(head -c 200 "$d/$i.out")" >>"$d.bad"
		done
	fi
}
jobs_timed() {
	local mode=$1 r k rts per first
	read -ra rts <<<"$ENG_RUNTIMES"
	: "${ENG_ROUNDS:=5}"
	per=$(((ENG_TASKS + ENG_ROUNDS - 1) / ENG_ROUNDS))
	for ((r = 0; r < ENG_ROUNDS; r++)); do
		first=$((r * per + 1))
		[ $first -le "$ENG_TASKS" ] || break
		[ $((first + per - 1)) -le "$ENG_TASKS" ] || per=$((ENG_TASKS - first + 1))
		for ((k = 0; k < ${#rts[@]}; k++)); do
			export RT=${rts[(r + k) % ${#rts[@]}]}
			jobs_round "$mode" "$per" "$first"
		done
	done
}
s_jobs_seq() {
	local mean med p90
	[ -s "$W/seq-$RT.ms" ] || fail "no timings (the timed run did not run)"
	read -r mean med p90 < <(stats_ms <"$W/seq-$RT.ms")
	metric jobs_seq "ms/task mean" "$mean"
	metric jobs_seq "ms/task median" "$med"
	metric jobs_seq "ms/task p90" "$p90"
	[ ! -s "$W/seq-$RT.bad" ] || fail "$(wc -l <"$W/seq-$RT.bad") of $ENG_TASKS tasks wrong; $(head -n 1 "$W/seq-$RT.bad")"
}
s_jobs_par10() {
	local total
	[ -s "$W/par10-$RT.ms" ] || fail "no timings (the timed run did not run)"
	total=$(awk '{ s += $1 } END { print s }' "$W/par10-$RT.ms")
	metric jobs_par10 "ms/task (wall/N)" "$((total / ENG_TASKS))"
	metric jobs_par10 "total s" "$(awk -v t="$total" 'BEGIN { printf "%.1f", t / 1000 }')"
	[ ! -s "$W/par10-$RT.bad" ] || fail "$(wc -l <"$W/par10-$RT.bad") of $ENG_TASKS tasks wrong; $(head -n 1 "$W/par10-$RT.bad")"
}
# get URL: the page, within 5 s
get() { timeout 5 "$BUSYBOX" wget -q -O - "$1" 2>/dev/null; }
wait_page() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ $(get "$1") == *"kiln-engines httpd"* ]] && return 0
		sleep 0.05
	done
	return 1
}
s_http_service() {
	local n=web-$RT t0 port url out
	# pid 1 (sh) stops httpd on SIGTERM, so that restart does not wait for SIGKILL
	local web='echo web-start; httpd -f -v -p ADDR -h /var/www & trap "kill \$!; exit 0" TERM; wait'
	t0=$EPOCHREALTIME
	if [ -n "$NET" ]; then
		drun -d --name "$n" --network "$NET" -p 127.0.0.1::80 "$IMG" sh -c "${web/ADDR/80}" >/dev/null ||
			fail "docker run -d -p failed"
		port=$(dk port "$n" 80/tcp | head -n 1)
		port=${port##*:}
	else
		port=$((20000 + RANDOM % 20000))
		drun -d --name "$n" --network host "$IMG" sh -c "${web/ADDR/127.0.0.1:$port}" >/dev/null ||
			fail "docker run -d --network host failed"
	fi
	url=http://127.0.0.1:$port/
	wait_page "$url" || fail "$url never answered: $(dk logs "$n" 2>&1 | tail -n 2)"
	metric http_service "ms run -> first answer" "$(ms_since "$t0")"
	local i ms=$W/restart-$RT
	for i in 1 2 3; do
		t0=$EPOCHREALTIME
		dk restart -t 10 "$n" >/dev/null || fail "docker restart failed"
		if [ -n "$NET" ]; then
			# an ephemeral host port is allocated anew on restart
			port=$(dk port "$n" 80/tcp | head -n 1)
			url=http://127.0.0.1:${port##*:}/
		fi
		wait_page "$url" || fail "$url not answering after restart $i"
		ms_since "$t0" >>"$ms"
		echo >>"$ms"
	done
	metric http_service "ms restart -> answer (median of 3)" "$(stats_ms <"$ms" | cut -d' ' -f2)"
	out=$(dk logs "$n" 2>&1)
	expect_eq "starts in the logs" "$(grep -c web-start <<<"$out")" 4
	[ "$(dk inspect -f '{{.State.Running}}/{{.RestartCount}}' "$n")" = true/0 ] || fail "state after restart"
}
s_build_step() {
	local ws=$W/ws-$RT t0 rc out
	mkdir -p "$ws/src" "$ws/out"
	printf 'b\nc\na\n' >"$ws/src/one.txt"
	printf 'z\ny\n' >"$ws/src/two.txt"
	chown -R 1000:1000 "$ws"
	local i ms=$W/build-$RT
	for i in 1 2 3 4 5; do
		t0=$EPOCHREALTIME
		out=$(drun --rm --network none --user 1000:1000 -v "$ws:/ws" -w /ws "$IMG" sh -c \
			'set -e; ls /sys/class/net | tr "\n" " " >out/net.txt; cat src/*.txt | sort >out/all.txt; sha256sum out/all.txt >out/all.sha; echo built' 2>&1)
		rc=$?
		ms_since "$t0" >>"$ms"
		echo >>"$ms"
		[ $rc = 0 ] && [ "$out" = built ] || fail "build $i: rc=$rc $out"
	done
	metric build_step "ms per build (median of 5)" "$(stats_ms <"$ms" | cut -d' ' -f2)"
	expect_eq "artifact" "$(cat "$ws/out/all.txt")" $'a\nb\nc\ny\nz'
	expect_eq "artifact owner" "$(stat -c %u:%g "$ws/out/all.txt")" 1000:1000
	expect_eq "network interfaces in the build" "$(cat "$ws/out/net.txt")" "lo "
	(cd "$ws" && sha256sum -c --quiet out/all.sha) || fail "checksum of the artifact"
	drun --rm --network none --user 1000:1000 -v "$ws:/ws" -w /ws "$IMG" sh -c 'echo compiling; exit 3' >/dev/null 2>&1
	expect_eq "exit code of a failing build" $? 3
}

if [ -z "$ENG_ONLY" ] || [[ " $ENG_ONLY " == *" jobs_seq "* ]]; then
	eng_export
	eng_info "workloads: timing $ENG_TASKS tasks in a row per runtime, in ${ENG_ROUNDS:-5} rotating rounds"
	timeout -k 10 900 bash -c 'jobs_timed seq' || true
fi
eng_scenario jobs_seq 30
if [ -z "$ENG_ONLY" ] || [[ " $ENG_ONLY " == *" jobs_par10 "* ]]; then
	eng_export
	eng_info "workloads: timing $ENG_TASKS tasks 10 at a time per runtime, in ${ENG_ROUNDS:-5} rotating rounds"
	timeout -k 10 900 bash -c 'jobs_timed par10' || true
fi
eng_scenario jobs_par10 30
eng_scenario http_service 120
eng_scenario build_step 120

eng_metrics_table "$METRICS"
[ -z "$ENG_METRICS" ] || cat "$METRICS" >>"$ENG_METRICS"
eng_info "workloads: $ENG_TASKS tasks; times through dockerd on $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
eng_summary
