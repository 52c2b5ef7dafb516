# shellcheck shell=bash
# checkpoint / restore through CRIU (src/container/checkpoint.cpp,
# restore.cpp), and of KM containers through KM snapshots with the stand-in
# monitor (src/handlers/km_snapshot.cpp, tests/km/fake-km.c).
#
# CRIU: Debian 12's criu 3.17 cannot run on kernels >= 6.13; tests/criu/build.sh
# builds a newer one into /var/cache/kiln-criu (tests/run-all.sh does, unless
# KILN_SKIP_CRIU=1). The CRIU tests use the first criu that passes `criu
# check`: $KILN_CRIU (an install prefix), the cache, then criu in PATH; they
# are skipped, saying so, when there is none. The same tests pass against
# runc (KILN=$(command -v runc)) with the same criu. Those this host's kernel
# cannot run (pre-dump, lazy pages) run in the 6.1 VM: tests/criu/vm.sh.
#
# Containers to be checkpointed get pipes as stdio (as runc's checkpoint.bats
# does): CRIU cannot dump a host file such as the /dev/null of `cap`.

# cr_setup: a working criu first in PATH (CRIU= its path), or skip.
cr_setup() {
	local d c
	for d in ${KILN_CRIU:-} $(ls -d "${KILN_CRIU_CACHE:-/var/cache/kiln-criu}"/criu-*/ 2>/dev/null | sort -V -r); do
		d=${d%/}
		if [ -x "$d/sbin/criu" ] && "$d/sbin/criu" check >/dev/null 2>&1; then
			export PATH="$d/sbin:$PATH"
			CRIU=$d/sbin/criu
			return 0
		fi
	done
	if c=$(command -v criu) && criu check >/dev/null 2>&1; then
		CRIU=$c
		return 0
	fi
	skip "no criu that works on this kernel ($(uname -r)): build one with tests/criu/build.sh (run-all does unless KILN_SKIP_CRIU=1)"
}

# cr_pipes: IN_W writes to the container's stdin, OUT_R reads its stdout+stderr
# (IN_R / OUT_W are the container's ends, kept for restore).
cr_pipes() {
	local p
	exec {p}<> <(:)
	exec {IN_R}</proc/self/fd/$p {IN_W}>/proc/self/fd/$p
	exec {p}>&-
	exec {p}<> <(:)
	exec {OUT_R}</proc/self/fd/$p {OUT_W}>/proc/self/fd/$p
	exec {p}>&-
}

# cr_rt ARGS...: the runtime with the container's pipes as stdio; RC, ERR
# (what it printed, read from the pipe when it failed).
cr_rt() {
	rt "$@" <&"$IN_R" >&"$OUT_W" 2>&"$OUT_W"
	RC=$?
	LAST_CMD="$*"
	ERR=""
	if [ "$RC" != 0 ]; then
		ERR=$(timeout 1 cat <&"$OUT_R" 2>/dev/null)
		# what CRIU said, as runc's checkpoint.bats shows it
		grep -h -B 3 Error "$TD"/work/*.log "$TD"/img/*.log >&2 2>/dev/null
		[ "${E2E_VERBOSE:-0}" = 1 ] && tail -n 40 "$TD"/work/*.log >&2 2>/dev/null
	fi
	return 0
}

# ping_pong WORD: the echo payload answers "pong WORD"
ECHO_LOOP='while read x; do echo "pong $x"; done'
ping_pong() {
	local line
	echo "$1" >&"$IN_W"
	read -r -t 10 -u "$OUT_R" line || fail "no answer to $1 (container stdio lost?)"
	expect_eq "$line" "pong $1" "the container's answer"
}

# cr_gone ID: the container does not exist any more (runc: "checkpointed")
cr_gone() {
	cap rt state "$1"
	[ "$RC" != 0 ] || fail "container $1 still exists after checkpoint: $OUT"
}

# cr_start ID: a bundle with the echo loop, run detached on the pipes; B= bundle
cr_start() {
	B=$(mkb "$1" sh -c "$ECHO_LOOP")
	cr_rt run -d --bundle "$B" "$1"
	expect_ok "run -d $1"
	wait_status "$1" running
	ping_pong first
}

test_checkpoint_restore() {
	cr_setup
	cr_pipes
	local id pid1
	id=$(new_id)
	cr_start "$id"
	pid1=$(pid_of "$id")
	for round in 1 2; do
		cr_rt checkpoint --image-path "$TD/img" --work-path "$TD/work" "$id"
		expect_ok "checkpoint (round $round)"
		[ -s "$TD/img/inventory.img" ] || fail "no CRIU images in $TD/img"
		[ -s "$TD/work/dump.log" ] || fail "no dump.log in the work dir"
		cr_gone "$id"
		_pid_dead "$pid1" || fail "the checkpointed init $pid1 still runs"
		cr_rt restore -d --bundle "$B" --image-path "$TD/img" --work-path "$TD/work" "$id"
		expect_ok "restore (round $round)"
		wait_status "$id" running
		ping_pong "round$round"
		pid1=$(pid_of "$id")
	done
	# A normal container: exec, kill, delete.
	cap rt exec "$id" echo ok
	expect_ok "exec in the restored container"
	expect_out_eq ok
	cap rt kill "$id" KILL
	expect_ok "kill the restored container"
	wait_status "$id" stopped
	cap rt delete "$id"
	expect_ok "delete the restored container"
	assert_clean "$id"
}

test_checkpoint_leave_running() {
	cr_setup
	cr_pipes
	local id pid
	id=$(new_id)
	cr_start "$id"
	pid=$(pid_of "$id")
	cr_rt checkpoint --leave-running --image-path "$TD/img" "$id"
	expect_ok "checkpoint --leave-running"
	[ -s "$TD/img/inventory.img" ] || fail "no CRIU images in $TD/img"
	[ "$(status_of "$id")" = running ] || fail "not running after --leave-running: $(status_of "$id")"
	expect_eq "$(pid_of "$id")" "$pid" "init pid after --leave-running"
	ping_pong still-here
	# The images are complete: the same tree comes back after the original goes.
	cap rt delete -f "$id"
	expect_ok "delete -f the original"
	cr_rt restore -d --bundle "$B" --image-path "$TD/img" "$id"
	expect_ok "restore from the --leave-running images"
	wait_status "$id" running
	ping_pong back
}

test_checkpoint_restore_new_id() {
	cr_setup
	cr_pipes
	local id id2 b2 st d pid
	id=$(new_id)
	id2=$(new_id)
	cr_start "$id"
	cr_rt checkpoint --image-path "$TD/img" "$id"
	expect_ok "checkpoint"
	cr_gone "$id"
	# the new container's own config (cgroupsPath and /mnt of $id2)
	b2=$(mkb "$id2" sh -c "$ECHO_LOOP")
	cr_rt restore -d --bundle "$b2" --image-path "$TD/img" --pid-file "$TD/pid" "$id2"
	expect_ok "restore as $id2"
	wait_status "$id2" running
	cr_gone "$id"
	ping_pong renamed
	st=$(state_json "$id2")
	[[ $st == *"\"id\": \"$id2\""* ]] || fail "state of $id2: $st"
	pid=$(pid_of "$id2")
	expect_eq "$(cat "$TD/pid")" "$pid" "--pid-file of restore"
	# The restored tree is in the new container's cgroups, every hierarchy.
	[ -n "$(cg_dirs "$id2")" ] || fail "no cgroup of $id2"
	for d in $(cg_dirs "$id2"); do
		grep -qx "$pid" "$d/cgroup.procs" || fail "the restored init is not in $d"
	done
	[ -z "$(cg_dirs "$id")" ] || fail "the old container's cgroups are back: $(cg_dirs "$id")"
	cap rt ps "$id2"
	expect_ok "ps of the restored container"
	expect_out_has "$pid"
	cap rt events --stats "$id2"
	expect_ok "events --stats of the restored container"
	expect_out_has '"type":"stats"'
	cap rt exec "$id2" hostname
	expect_ok "exec in $id2"
	cap rt pause "$id2"
	expect_ok "pause the restored container"
	expect_eq "$(status_of "$id2")" paused "status after pause"
	cap rt resume "$id2"
	expect_ok "resume"
	ping_pong resumed
	cap rt delete -f "$id2"
	expect_ok "delete -f $id2"
	assert_clean "$id2"
}

# Foreground restore: kiln stays, relays nothing (pipes), exits with the
# container's status and removes it.
test_checkpoint_restore_foreground() {
	cr_setup
	cr_pipes
	local id rpid rc
	id=$(new_id)
	cr_start "$id"
	cr_rt checkpoint --image-path "$TD/img" "$id"
	expect_ok "checkpoint"
	rt restore --bundle "$B" --image-path "$TD/img" "$id" <&"$IN_R" >&"$OUT_W" 2>&"$OUT_W" &
	rpid=$!
	wait_status "$id" running 20
	ping_pong foreground
	cap rt kill "$id" KILL
	expect_ok "kill"
	wait "$rpid"
	rc=$?
	expect_eq "$rc" 137 "exit status of the foreground restore"
	cr_gone "$id"
	assert_clean "$id"
}

# pre-dump needs soft-dirty page tracking (CONFIG_MEM_SOFT_DIRTY): Debian's
# 6.1 kernel has it (tests/vm), this development host's 6.18 does not.
test_checkpoint_pre_dump_restore() {
	cr_setup
	"$CRIU" check --feature mem_dirty_track >/dev/null 2>&1 ||
		skip "kernel $(uname -r) has no soft-dirty page tracking, which pre-dump needs (the 6.1 VM of tests/vm has it)"
	cr_pipes
	local id
	id=$(new_id)
	cr_start "$id"
	mkdir -p "$TD/parent" "$TD/img"
	cr_rt checkpoint --pre-dump --image-path "$TD/parent" "$id"
	expect_ok "checkpoint --pre-dump"
	[ "$(status_of "$id")" = running ] || fail "not running after --pre-dump"
	ping_pong between
	cr_rt checkpoint --parent-path ../parent --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "checkpoint --parent-path ../parent"
	[ -e "$TD/img/parent" ] || fail "no parent link in the images"
	cr_gone "$id"
	cr_rt restore -d --bundle "$B" --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "restore from the pre-dumped images"
	wait_status "$id" running
	ping_pong after
}

test_checkpoint_pre_dump_unsupported() {
	cr_setup
	! "$CRIU" check --feature mem_dirty_track >/dev/null 2>&1 || skip "this kernel has soft-dirty tracking (pre_dump_restore covers it)"
	[ "$RT_NAME" = kiln ] || skip "kiln's message"
	cr_pipes
	local id
	id=$(new_id)
	cr_start "$id"
	cr_rt checkpoint --pre-dump --image-path "$TD/parent" "$id"
	expect_rc 1 "checkpoint --pre-dump without soft-dirty tracking"
	[[ $ERR == *"memory tracking"* ]] || fail "$(ctx "no clear reason")"
	[ "$(status_of "$id")" = running ] || fail "a failed pre-dump stopped the container"
	ping_pong unharmed
}

# An established TCP connection to a peer outside the container survives
# checkpoint and restore (--tcp-established). The container joins a network
# namespace made here (external to CRIU, as engines' are); the client runs in
# that namespace on the host side and keeps its socket open meanwhile.
test_checkpoint_tcp_established() {
	cr_setup
	command -v ip >/dev/null || skip "no ip (iproute2)"
	command -v python3 >/dev/null || skip "no python3"
	command -v iptables-restore >/dev/null || skip "no iptables-restore (CRIU locks the connections with it)"
	local id b
	# global: the EXIT trap runs after this function has returned
	CR_NS=kiln-cr-$E2E_RUNID-$TEST_NO
	ip netns add "$CR_NS" || skip "cannot create a network namespace"
	trap 'ip netns del "$CR_NS" 2>/dev/null' EXIT
	trap 'exit 1' TERM
	local ns=$CR_NS
	ip -n "$ns" link set lo up
	cr_pipes
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"network","path":"/run/netns/'"$ns"'"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' \
		mkb "$id" nc -l -p 5555 -e cat)
	cr_rt run -d --bundle "$b" "$id"
	expect_ok "run the echo server"
	cat >"$TD/client.py" <<'EOF'
import os, socket, sys, time
d = sys.argv[1]
s = None
for _ in range(500):
    try:
        s = socket.create_connection(("127.0.0.1", 5555), timeout=5)
        break
    except OSError:
        time.sleep(0.02)
s.settimeout(20)
s.sendall(b"one\n")
open(d + "/r1", "w").write(s.recv(100).decode())
while not os.path.exists(d + "/go"):
    time.sleep(0.02)
s.sendall(b"two\n")
open(d + "/r2", "w").write(s.recv(100).decode())
EOF
	ip netns exec "$ns" python3 "$TD/client.py" "$TD" >"$TD/client.log" 2>&1 &
	note_pid $!
	wait_nonempty "$TD/r1" 15
	expect_eq "$(cat "$TD/r1")" "one" "echo before checkpoint"
	cr_rt checkpoint --tcp-established --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "checkpoint --tcp-established"
	cr_gone "$id"
	cr_rt restore -d --tcp-established --bundle "$b" --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "restore --tcp-established"
	wait_status "$id" running
	touch "$TD/go"
	wait_nonempty "$TD/r2" 15
	expect_eq "$(cat "$TD/r2")" "two" "echo over the same connection after restore"
}

# Lazy migration (runc's checkpoint.bats "--lazy-pages and restore"): the
# dump serves the memory from a page server, `criu lazy-pages` fetches it for
# the restored tree through userfaultfd. CRIU's page server needs pipes
# bigger than pipe-max-size, i.e. CAP_SYS_RESOURCE.
test_checkpoint_lazy_pages() {
	cr_setup
	"$CRIU" check --feature uffd-noncoop >/dev/null 2>&1 || skip "this criu/kernel cannot do lazy migration (uffd-noncoop)"
	local capeff port=$((27000 + TEST_NO)) id id2 cpt lp out p lazy_r lazy_w
	capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
	(((0x$capeff >> 24) & 1)) || skip "no CAP_SYS_RESOURCE here: CRIU's lazy page server cannot size its pipes"
	cr_pipes
	id=$(new_id)
	id2=$(new_id)
	cr_start "$id"
	mkdir -p "$TD/img"
	exec {p}<> <(:)
	exec {lazy_r}</proc/self/fd/$p {lazy_w}>/proc/self/fd/$p
	exec {p}>&-
	"$KILN" --root "$ROOT" checkpoint --lazy-pages --page-server "0.0.0.0:$port" --status-fd "$lazy_w" \
		--work-path "$TD/img" --image-path "$TD/img" "$id" >"$TD/cpt.log" 2>&1 &
	cpt=$!
	note_pid "$cpt"
	out=$(timeout 120 dd if=/proc/self/fd/$lazy_r bs=1 count=1 2>/dev/null | od -An -tx1)
	exec {lazy_r}>&- {lazy_w}>&-
	expect_eq "${out// /}" "00" "the \\0 on --status-fd when the page server is ready"
	[ -e "$TD/img/inventory.img" ] || fail "no inventory.img before the lazy transfer"
	"$CRIU" lazy-pages --page-server --address 127.0.0.1 --port "$port" -D "$TD/img" >"$TD/lp.log" 2>&1 &
	lp=$!
	note_pid "$lp"
	poll 30 test -S "$TD/img/lazy-pages.socket" || fail "criu lazy-pages did not start: $(cat "$TD/lp.log")"
	# The dumped tree waits in its cgroup until its pages are fetched: the
	# restored container gets a cgroup of its own (a populated cgroupsPath is
	# refused, as runc 1.2 does; runc's test uses a new id's default path).
	jedit "$B" "c['linux']['cgroupsPath'] = '$(cg_path "$id2")'"
	cr_rt restore -d --lazy-pages --bundle "$B" --work-path "$TD/img" --image-path "$TD/img" "$id2"
	expect_ok "restore --lazy-pages"
	wait "$cpt" || fail "the lazy checkpoint failed: $(cat "$TD/cpt.log")"
	wait "$lp"
	wait_status "$id2" running
	ping_pong lazily
	cr_gone "$id"
}

test_checkpoint_refuses_created_and_stopped() {
	local id b
	id=$(new_id)
	b=$(mkb "$id" true)
	cap rt create --bundle "$b" "$id"
	expect_ok "create"
	cap rt checkpoint --image-path "$TD/img" "$id"
	expect_rc 1 "checkpoint of a created container"
	expect_msg "Container cannot be checkpointed in created state"
	cap rt start "$id"
	expect_ok "start"
	wait_status "$id" stopped
	cap rt checkpoint --image-path "$TD/img" "$id"
	expect_rc 1 "checkpoint of a stopped container"
	expect_msg "Container cannot be checkpointed in stopped state"
	cap rt checkpoint --image-path "$TD/img" nosuch-container
	expect_rc 1 "checkpoint of a missing container"
	expect_msg "container does not exist"
}

test_checkpoint_bad_flags() {
	cr_setup
	cr_pipes
	local id
	id=$(new_id)
	cr_start "$id"
	cr_rt checkpoint --parent-path "$TD/abs" --image-path "$TD/img" "$id"
	expect_rc 1 "absolute --parent-path"
	[[ $ERR == *"--parent-path"* ]] || fail "$(ctx "error does not name --parent-path")"
	cr_rt checkpoint --parent-path ./nosuch --image-path "$TD/img" "$id"
	expect_rc 1 "missing --parent-path"
	[[ $ERR == *"--parent-path"* ]] || fail "$(ctx "error does not name --parent-path")"
	cr_rt checkpoint --manage-cgroups-mode bogus --image-path "$TD/img" "$id"
	expect_rc 1 "bad --manage-cgroups-mode"
	cr_rt checkpoint --empty-ns pid --image-path "$TD/img" "$id"
	expect_rc 1 "--empty-ns pid"
	[ "$(status_of "$id")" = running ] || fail "a refused checkpoint stopped the container"
	ping_pong unharmed
}

# Without CRIU, checkpoint says so (and the container keeps running).
test_checkpoint_without_criu() {
	[ "$RT_NAME" = kiln ] || skip "kiln's message"
	local id b
	id=$(new_id)
	b=$(mkb "$id" sleep 100)
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	cap timeout 20 "$KILN" --root "$ROOT" --criu /nonexistent/criu checkpoint --image-path "$TD/img" "$id"
	expect_rc 1 "checkpoint with --criu naming nothing"
	expect_msg "criu is not available"
	[ "$(status_of "$id")" = running ] || fail "checkpoint without criu stopped the container"
	# No criu in PATH (kiln also looks in /usr/sbin, /usr/local/sbin, /sbin).
	if [ ! -e /usr/sbin/criu ] && [ ! -e /usr/local/sbin/criu ] && [ ! -e /sbin/criu ]; then
		cap timeout 20 env PATH=/nonexistent "$KILN" --root "$ROOT" checkpoint --image-path "$TD/img" "$id"
		expect_rc 1 "checkpoint with no criu in PATH"
		expect_msg "criu is not available"
		cap timeout 20 env PATH=/nonexistent "$KILN" features
		expect_ok "features"
		expect_out_has '"io.kiln.checkpoint.enabled": "false"'
	fi
	cap timeout 20 "$KILN" --criu /nonexistent/criu features
	expect_ok "features with --criu naming nothing"
	expect_out_has '"io.kiln.checkpoint.enabled": "false"'
}

# podman container checkpoint/restore of a running busybox container with
# this runtime (private podman root/runroot, vfs storage, no network).
test_checkpoint_podman() {
	cr_setup
	command -v podman >/dev/null || skip "no podman"
	command -v conmon >/dev/null || skip "no conmon"
	local n1 n2 c=kiln-e2e-cr-$E2E_RUNID-$TEST_NO
	# global: the EXIT trap runs after this function has returned
	P=(podman --root "$TD/proot" --runroot "$TD/prun" --runtime "$KILN" --cgroup-manager cgroupfs
		--events-backend none --storage-driver vfs --tmpdir "$TD/ptmp")
	trap '"${P[@]}" rm -f -t 0 -a >/dev/null 2>&1' EXIT
	trap 'exit 1' TERM
	# podman's default nofile/nproc limits may be above what we may set here
	local UL=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
	tar -C "$E2E_TMP/rootfs" -cf "$TD/bb.tar" . || fail "tar of the rootfs"
	cap timeout 120 "${P[@]}" import "$TD/bb.tar" localhost/kiln-e2e-busybox
	expect_ok "podman import"
	cap timeout 120 "${P[@]}" run -d --name "$c" --network none "${UL[@]}" localhost/kiln-e2e-busybox \
		sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.1; done'
	expect_ok "podman run -d"
	sleep 1
	cap timeout 120 "${P[@]}" container checkpoint "$c"
	expect_ok "podman container checkpoint"
	cap timeout 30 "${P[@]}" inspect -f '{{.State.Status}}' "$c"
	expect_out_eq exited "status after checkpoint"
	cap timeout 30 "${P[@]}" inspect -f '{{.State.Checkpointed}}' "$c"
	expect_out_eq true "State.Checkpointed"
	cap timeout 120 "${P[@]}" container restore "$c"
	expect_ok "podman container restore"
	cap timeout 30 "${P[@]}" inspect -f '{{.State.Status}}' "$c"
	expect_out_eq running "status after restore"
	cap timeout 30 "${P[@]}" exec "$c" cat /tmp/n
	expect_ok "podman exec in the restored container"
	n1=$OUT
	sleep 0.5
	cap timeout 30 "${P[@]}" exec "$c" cat /tmp/n
	n2=$OUT
	[ "${n1:-0}" -gt 5 ] && [ "${n2:-0}" -gt "${n1:-0}" ] ||
		fail "the counter did not carry on after restore ($n1 then $n2)"
	cap timeout 60 "${P[@]}" rm -f -t 0 "$c"
	expect_ok "podman rm -f"
}

# ----------------------------------------------------------------- KM ---
# The km handler's containers checkpoint through km's own snapshot: the
# stand-in monitor serves km_cli's snapshot request on --mgtpipe and writes
# an ET_CORE file; restore runs km on it (tests/km/fake-km.c).

km_cr_setup() {
	. "$E2E_DIR/test_km.sh"
	KM_EXTRA=${KM_EXTRA-'"snapshots": true'} km_setup
	KM_LOOP='echo "started ${FAKE_KM_RESUMED:-fresh}" >>/mnt/out; exec sleep 1000'
}

test_km_checkpoint_restore() {
	km_cr_setup
	local id id2 b
	id=$(new_id)
	id2=$(new_id)
	b=$(C_ANNOT='{"run.oci.handler": "km"}' mkb "$id" sh -c "$KM_LOOP")
	cap kmrt kiln run -d --bundle "$b" "$id"
	expect_ok "run -d under km"
	poll 10 grep -q "started fresh" "$b/share/out" || fail "the payload did not start: $(cat "$b/share/out" 2>&1)"
	cap kmrt kiln checkpoint --image-path "$TD/img" "$id"
	expect_ok "checkpoint of a KM container"
	[ "$(head -c 4 "$TD/img/km.kmsnap" | od -An -c | tr -d ' ')" = '177ELF' ] || fail "no ELF snapshot in the image"
	grep -q '"handler": "km"' "$TD/img/kiln-km.json" || fail "no kiln-km.json: $(cat "$TD/img/kiln-km.json" 2>&1)"
	[[ $(km_log "$b") == *"snapshot=/dev/.kiln-km/snapshot.kmsnap live=0"* ]] || fail "km got no snapshot request: $(km_log "$b")"
	cr_gone "$id"
	[ ! -e "$TD/img/inventory.img" ] || fail "CRIU ran for a KM container"
	cap kmrt kiln restore -d --bundle "$b" --image-path "$TD/img" "$id2"
	expect_ok "restore of a KM snapshot"
	poll 10 grep -q "started kiln $id" "$b/share/out" || fail "the payload was not resumed: $(cat "$b/share/out")"
	[[ $(km_log "$b") == *$'resume=/dev/.kiln-km/resume.kmsnap'* ]] || fail "km did not resume the snapshot: $(km_log "$b")"
	[[ $(km_log "$b") == *$'argv[0]=/opt/kontain/bin/km\nargv[1]=--mgtpipe=/dev/.kiln-km/mgmt.sock\nargv[2]=/dev/.kiln-km/resume.kmsnap\n'* ]] ||
		fail "km's argv on restore: $(km_log "$b")"
	wait_status "$id2" running
	[[ $(state_json "$id2") == *'"run.oci.handler": "km"'* ]] || fail "the restored container is not a KM one: $(state_json "$id2")"
	cap kmrt kiln exec "$id2" true
	expect_ok "exec in the restored KM container"
	# and again: the resumed km has a management socket too
	cap kmrt kiln checkpoint --leave-running --image-path "$TD/img2" "$id2"
	expect_ok "checkpoint of the restored KM container"
	cap kmrt kiln delete -f "$id2"
	expect_ok "delete -f"
	assert_clean "$id2"
}

test_km_checkpoint_leave_running() {
	km_cr_setup
	local id b
	id=$(new_id)
	b=$(C_ANNOT='{"run.oci.handler": "km"}' mkb "$id" sh -c "$KM_LOOP")
	cap kmrt kiln run -d --bundle "$b" "$id"
	expect_ok "run -d under km"
	poll 10 grep -q "started fresh" "$b/share/out" || fail "the payload did not start"
	cap kmrt kiln checkpoint --leave-running --image-path "$TD/img" "$id"
	expect_ok "checkpoint --leave-running"
	[[ $(km_log "$b") == *"live=1"* ]] || fail "not a live snapshot: $(km_log "$b")"
	[ -s "$TD/img/km.kmsnap" ] || fail "no snapshot"
	[ "$(status_of "$id")" = running ] || fail "not running after --leave-running"
	# the snapshot file was bound into the container only for the request
	cap kmrt kiln exec "$id" ls -a /dev/.kiln-km
	expect_ok "ls the management dir"
	[[ $OUT != *snapshot.kmsnap* ]] || fail "the snapshot mount point was left in the container: $OUT"
	expect_out_has mgmt.sock
}

test_km_checkpoint_refusals() {
	KM_EXTRA= km_cr_setup
	local id b
	id=$(new_id)
	b=$(C_ANNOT='{"run.oci.handler": "km"}' mkb "$id" sh -c "$KM_LOOP")
	cap kmrt kiln run -d --bundle "$b" "$id"
	expect_ok "run -d under km without snapshots"
	[[ $(km_log "$b") != *--mgtpipe* ]] || fail "km got a management socket without \"snapshots\": true"
	cap kmrt kiln checkpoint --image-path "$TD/img" "$id"
	expect_rc 1 "checkpoint without snapshots enabled"
	expect_msg "no km management socket"
	cap kmrt kiln checkpoint --tcp-established --image-path "$TD/img" "$id"
	expect_rc 1 "checkpoint --tcp-established of a KM container"
	expect_msg "--tcp-established is not supported for KM containers"
	cap kmrt kiln checkpoint --pre-dump --image-path "$TD/img" "$id"
	expect_rc 1 "checkpoint --pre-dump of a KM container"
	[ "$(status_of "$id")" = running ] || fail "a refused checkpoint stopped the container"
}

# NOTIFY_SOCKET with checkpoint / restore (issue 14), as runc 1.1.5 does it
# (restore.go -> startContainer: the spec gets the /run/notify bind and the
# socket directory is made, but only `run` binds the socket): a container run
# with NOTIFY_SOCKET checkpoints (/run/notify is an external bind of the state
# dir's notify/); restore with NOTIFY_SOCKET binds the new state dir's
# notify/ there and relays nothing (a READY= sent after restore reaches no
# one); without NOTIFY_SOCKET such images do not restore (CRIU has no source
# for /run/notify), and nothing is left behind.
test_checkpoint_notify_socket() {
	[ "$RT_NAME" != runc ] || skip "runc 1.1.5's run -d with NOTIFY_SOCKET does not return here"
	cr_setup
	local rootfs id pid
	. "$E2E_DIR/test_spec13.sh"
	notify_setup
	rootfs=$TD/rootfs
	cr_pipes
	id=$(new_id)
	B=$(C_ROOTFS=$rootfs mkb "$id" sh -c 'sdnotify READY=1; while read x; do sdnotify "READY=1"; echo "pong $x"; done')
	NOTIFY_SOCKET=$TD/host.sock cr_rt run -d --bundle "$B" "$id"
	expect_ok "run -d with NOTIFY_SOCKET"
	pid=$(pid_of "$id")
	two_lines "$TD/host.log"
	expect_eq "$(cat "$TD/host.log")" "READY=1|
MAINPID=$pid|" "what the host's socket got from run -d"
	ping_pong first
	NOTIFY_SOCKET=$TD/host.sock cr_rt checkpoint --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "checkpoint of a container run with NOTIFY_SOCKET"
	cr_gone "$id"
	: >"$TD/host.log"
	NOTIFY_SOCKET=$TD/host.sock cr_rt restore -d --bundle "$B" --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "restore with NOTIFY_SOCKET"
	wait_status "$id" running
	ping_pong restored
	expect_eq "$(cat "$TD/host.log")" "" "what the host's socket got after restore (runc relays nothing either)"
	[ -d "$ROOT/$id/notify" ] || fail "no notify/ in the restored container's state dir"
	[ ! -e "$ROOT/$id/notify/notify.sock" ] || fail "restore bound a socket"
	cap rt exec "$id" grep -c " /run/notify " /proc/self/mountinfo
	expect_out_eq 1 "/run/notify in the restored container"
	# again, restored without NOTIFY_SOCKET: refused, nothing left
	rm -rf "$TD/img" "$TD/work"
	cr_rt checkpoint --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "checkpoint of the restored container"
	cr_gone "$id"
	cr_rt restore -d --bundle "$B" --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_rc 1 "restore without NOTIFY_SOCKET"
	assert_clean "$id"
	NOTIFY_SOCKET=$TD/host.sock cr_rt restore -d --bundle "$B" --image-path "$TD/img" --work-path "$TD/work" "$id"
	expect_ok "restore with NOTIFY_SOCKET after a refused one"
	wait_status "$id" running
	ping_pong again
	cap rt delete -f "$id"
	expect_ok "delete -f"
	assert_clean "$id"
}
