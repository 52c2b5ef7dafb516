# shellcheck shell=bash
# tests/e2e/lib.sh - tiny harness for kiln's end-to-end tests (sourced, bash).
#
# The tests drive a runtime BINARY ($KILN, default build/kiln) on bundles whose
# rootfs is busybox-static and whose config.json is written here (no runc, jq
# or python needed). The same tests run against the real runc
# (KILN=/usr/sbin/runc tests/e2e/run.sh): kiln must behave like runc, and the
# few expectations where kiln differs on purpose depend on RT_NAME.
#
# Layout of one run (made by run.sh, exported to every test):
#   E2E_TMP      mktemp dir of the run; E2E_TMP/rootfs is the shared rootfs
#   E2E_CGPARENT cgroup parent of all our containers: kiln-test-<runner pid>
#   E2E_RUNID    runner pid (part of every container id)
# Per test (e2e_setup): TD=$E2E_TMP/<test>, ROOT=$TD/root (private --root).
#
# Writing a test: a function test_<name> in tests/e2e/test_*.sh. Use
#   id=$(new_id)                         unique container id kt-<run>-<test#>-<n>
#   b=$(mkb ID [ARGS...])                bundle for ID; config knobs are C_* vars,
#                                        e.g. C_HOSTNAME=h C_UID=1000 mkb "$id" id -u
#   cap rt run --bundle "$b" "$id"        run a command; sets RC, OUT, ERR
#   expect_rc N "what"; expect_out_eq / expect_out_has / expect_err_has ...
#   fail "reason"; skip "reason"
# Everything a test creates (containers, cgroups, processes, files) is removed
# by e2e_cleanup after the test, even when it failed or timed out.

set -u

: "${KILN:=build/kiln}"
case "$KILN" in /*) ;; */*) KILN=$PWD/$KILN ;; *) KILN=$(command -v "$KILN" || echo "$KILN") ;; esac
export KILN
# The flavour of the runtime: "runc" when the binary's name says runc, else kiln.
case "$(basename -- "$KILN")" in *runc*) RT_NAME=runc ;; *crun*) RT_NAME=crun ;; *) RT_NAME=kiln ;; esac
export RT_NAME

# has_start_rendezvous ID: the created container's handle `start` releases
# it through: runc's exec.fifo (a FIFO), kiln's exec.sock (a listening
# socket: the waiting init holds no path, see exec_stub.c).
has_start_rendezvous() {
	if [ "$RT_NAME" = kiln ]; then [ -S "$ROOT/$1/exec.sock" ]; else [ -p "$ROOT/$1/exec.fifo" ]; fi
}
: "${E2E_CMD_TIMEOUT:=30}"   # seconds for one runtime command

# ------------------------------------------------------------ JSON helpers ---
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$s"
}
json_arr() {
	local a sep=""
	printf '['
	for a in "$@"; do printf '%s%s' "$sep" "$(json_str "$a")"; sep=","; done
	printf ']'
}
# json_get KEY <<<"$json": value of the first "KEY": scalar (quotes stripped)
json_get() {
	grep -o "\"$1\": *\(\"[^\"]*\"\|-\?[0-9][0-9]*\|true\|false\|null\)" | head -n1 |
		sed -e "s/^\"$1\": *//" -e 's/^"//' -e 's/"$//'
}

# --------------------------------------------------------------- running ---
# rt ARGS...: the runtime with our private state dir
rt() { timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$ROOT" "$@"; }
# rt_noroot ARGS...: the runtime with its default state dir
rt_noroot() { timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" "$@"; }

# cap CMD...: run CMD (stdin /dev/null unless CAP_IN is a file), stdout and
# stderr to files; sets RC, OUT, ERR. Files (not pipes) so that detached
# containers holding our stdout do not block us.
cap() {
	local in=${CAP_IN:-/dev/null}
	"$@" <"$in" >"$TD/.out" 2>"$TD/.err"
	RC=$?
	OUT=$(cat "$TD/.out")
	ERR=$(cat "$TD/.err")
	LAST_CMD="$*"
	return 0
}

fail() {
	echo "$*" >"$TD/.reason"
	{
		echo "FAILED: $*"
		echo "  last command: ${LAST_CMD:-}"
		echo "  rc=${RC:-} stdout: ${OUT:-}"
		echo "  stderr: ${ERR:-}"
	} >&2
	exit 1
}
skip() {
	echo "$*" >"$TD/.skip"
	exit 0
}
ctx() { printf '%s (rc=%s out=%q err=%q)' "$1" "${RC:-}" "$(head -c 300 <<<"${OUT:-}")" "$(head -c 300 <<<"${ERR:-}")"; }
expect_rc() { [ "$RC" = "$1" ] || fail "$(ctx "${2:-$LAST_CMD}: want exit $1")"; }
expect_ok() { expect_rc 0 "${1:-}"; }
expect_out_eq() { [ "$OUT" = "$1" ] || fail "$(ctx "${2:-$LAST_CMD}: want stdout $(printf %q "$1")")"; }
expect_out_has() { [[ $OUT == *"$1"* ]] || fail "$(ctx "${2:-$LAST_CMD}: stdout lacks $(printf %q "$1")")"; }
expect_err_has() { [[ $ERR == *"$1"* ]] || fail "$(ctx "${2:-$LAST_CMD}: stderr lacks $(printf %q "$1")")"; }
# expect_msg TEXT: stdout or stderr contains TEXT
expect_msg() { [[ "$OUT$ERR" == *"$1"* ]] || fail "$(ctx "${2:-$LAST_CMD}: output lacks $(printf %q "$1")")"; }
expect_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got $(printf %q "$1"), want $(printf %q "$2")"; }

# poll SECONDS CMD...: retry CMD every 20 ms until it succeeds
poll() {
	local deadline=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while ! "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# ------------------------------------------------------------------ state ---
new_id() {
	local n
	n=$(($(cat "$TD/.n" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$TD/.n"
	echo "kt-$E2E_RUNID-$TEST_NO-$n"
	echo "kt-$E2E_RUNID-$TEST_NO-$n" >>"$TD/.ids"
}
state_json() { rt state "$1" 2>/dev/null; }
status_of() { state_json "$1" | json_get status; }
pid_of() { state_json "$1" | json_get pid; }
_status_is() { [ "$(status_of "$1")" = "$2" ]; }
# wait_status ID STATUS [SECONDS]
wait_status() { poll "${3:-10}" _status_is "$1" "$2" || fail "container $1 did not become $2 (is: $(status_of "$1"))"; }
_gone() { [ ! -e "$1" ]; }
_exists() { [ -e "$1" ]; }
_nonempty() { [ -s "$1" ]; }
_pid_dead() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_file() { poll "${2:-10}" _exists "$1" || fail "file $1 did not appear"; }
wait_nonempty() { poll "${2:-10}" _nonempty "$1" || fail "file $1 stayed empty"; }

# ---------------------------------------------------------------- cgroups ---
# cg_dirs ID: existing cgroup dirs of container ID (cgroupsPath /E2E_CGPARENT/ID)
# in every v1 hierarchy, the v2 "unified" mount, or a pure v2 /sys/fs/cgroup.
cg_dirs() {
	local d
	for d in /sys/fs/cgroup/"$E2E_CGPARENT/$1" /sys/fs/cgroup/*/"$E2E_CGPARENT/$1"; do
		[ -d "$d" ] && echo "$d"
	done
	return 0
}
cg_path() { echo "/$E2E_CGPARENT/$1"; }

# procs_of ID: pids of processes that belong to container ID: in its cgroup,
# or whose command line names the id (a runtime process left behind).
procs_of() {
	local d p
	{
		for d in $(cg_dirs "$1"); do cat "$d/cgroup.procs" 2>/dev/null; done
		# cmdline args are NUL-separated: -w matches a whole argument
		# ([k]t-... so that this grep does not find itself)
		grep -lsaw -e "[${1:0:1}]${1:1}" /proc/[0-9]*/cmdline | sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p' |
			grep -vx -e "$BASHPID" -e "$$"
	} | sort -un
}

# assert_clean ID [ROOTDIR]: no state dir, no cgroup dir, no process left for ID
assert_clean() {
	local root=${2:-$ROOT} left
	[ ! -e "$root/$1" ] || fail "state dir $root/$1 left behind: $(ls -A "$root/$1" 2>&1 | tr '\n' ' ')"
	left=$(cg_dirs "$1")
	[ -z "$left" ] || fail "cgroup dirs left behind: $(echo $left)"
	left=$(procs_of "$1")
	[ -z "$left" ] || fail "processes left behind: $(for p in $left; do printf '%s(%s) ' "$p" "$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)"; done)"
}

# ---------------------------------------------------------------- bundles ---
# jedit BUNDLE PYTHON: edit BUNDLE/config.json in place; PYTHON sees it as c.
jedit() {
	python3 - "$1/config.json" "$2" <<'PY' || fail "jedit $2"
import json, sys
p, code = sys.argv[1], sys.argv[2]
c = json.load(open(p))
exec(code)
json.dump(c, open(p, "w"), indent=1)
PY
}

# make_rootfs DIR: busybox-static rootfs (busybox + applet symlinks)
make_rootfs() {
	local dir=$1 bb a
	# copy of the run's shared rootfs when there is one (fast)
	if [ -n "${E2E_TMP:-}" ] && [ -x "$E2E_TMP/rootfs/bin/busybox" ] && [ "$dir" != "$E2E_TMP/rootfs" ]; then
		mkdir -p "$(dirname "$dir")" && cp -a "$E2E_TMP/rootfs" "$dir" && return 0
	fi
	bb=$(e2e_busybox) || return 1
	mkdir -p "$dir/bin" "$dir"/{proc,dev,sys,tmp,etc,root,mnt,home}
	cp "$bb" "$dir/bin/busybox"
	# one process for all applet links: a fork per link costs minutes under qemu TCG
	"$dir/bin/busybox" --list | python3 -c '
import os, sys
d = sys.argv[1]
for a in sys.stdin.read().split():
    if a != "busybox" and not os.path.lexists(os.path.join(d, a)):
        os.symlink("busybox", os.path.join(d, a))
' "$dir/bin" || return 1
	mkdir -p "$dir/sbin" "$dir/usr/bin" "$dir/usr/sbin"
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home:/bin/sh\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\n' >"$dir/etc/group"
	chmod 1777 "$dir/tmp"
}
# e2e_busybox: path of a static busybox
e2e_busybox() {
	local bb
	for bb in ${BUSYBOX:-} /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null)"; do
		[ -n "$bb" ] && [ -x "$bb" ] || continue
		# static: no PT_INTERP / ldd says "not a dynamic executable"
		if ! ldd "$bb" >/dev/null 2>&1; then echo "$bb"; return 0; fi
	done
	echo "no static busybox (apt-get install busybox-static, or set BUSYBOX)" >&2
	return 1
}

DEFAULT_CAPS='"CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"'
# docker's default capability set (CapEff 00000000a80425fb)
DOCKER_CAPS='"CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"'
DEFAULT_RLIMITS='[{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]'
DEFAULT_NS='{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}'

# mkb ID [ARGS...]: write bundle $TD/b-ID (config.json, share/ dir bind-mounted
# at /mnt read-write) and print its path. ARGS default to "true".
# Knobs (environment/shell variables, all optional):
#   C_ARGS_JSON  process.args as a JSON array (instead of ARGS)
#   C_HOSTNAME   hostname (default kiln-e2e; "-" = no hostname key)
#   C_READONLY   root.readonly (default true)      C_ROOTFS  root.path (default shared)
#   C_UID C_GID  process.user (default 0 0)        C_GIDS    additionalGids JSON array
#   C_UMASK      process.user.umask (decimal)      C_CWD     process.cwd (default /)
#   C_ENV        extra env entries, JSON strings "A=1","B=2"
#   C_CAPS       capability names, JSON strings (default runc spec's 3)
#   C_INH        inheritable capabilities, JSON strings (default: no key)
#   C_NNP        noNewPrivileges (default true)
#   C_RLIMITS    JSON array of rlimits (default RLIMIT_NOFILE 1024/1024)
#   C_NS         namespaces, JSON objects (default pid network ipc uts mount)
#   C_CGPATH     cgroupsPath (default /E2E_CGPARENT/ID; "-" = none)
#   C_MOUNTS     extra mounts, JSON objects
#   C_ANNOT      annotations JSON object
#   C_OCI        ociVersion (default 1.0.2-dev)
#   C_RAW        replace the whole config.json by this text
mkb() {
	local id=$1 b args hostname_kv cg annot umask gids
	shift
	b=$TD/b-$id
	mkdir -p "$b/share"
	chmod 777 "$b/share"
	if [ -n "${C_RAW:-}" ]; then
		printf '%s' "$C_RAW" >"$b/config.json"
		echo "$b"
		return 0
	fi
	[ $# -gt 0 ] || set -- true
	args=${C_ARGS_JSON:-$(json_arr "$@")}
	hostname_kv=""
	[ "${C_HOSTNAME:-kiln-e2e}" = "-" ] || hostname_kv="\"hostname\": $(json_str "${C_HOSTNAME:-kiln-e2e}"),"
	cg=""
	[ "${C_CGPATH:-}" = "-" ] || cg="\"cgroupsPath\": $(json_str "${C_CGPATH:-$(cg_path "$id")}"),"
	annot=""
	[ -z "${C_ANNOT:-}" ] || annot="\"annotations\": $C_ANNOT,"
	umask=""
	[ -z "${C_UMASK:-}" ] || umask=", \"umask\": $C_UMASK"
	gids=""
	[ -z "${C_GIDS:-}" ] || gids=", \"additionalGids\": $C_GIDS"
	cat >"$b/config.json" <<EOF
{
	"ociVersion": "${C_OCI:-1.0.2-dev}",
	"process": {
		"terminal": false,
		"user": { "uid": ${C_UID:-0}, "gid": ${C_GID:-0}$gids$umask },
		"args": $args,
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"${C_ENV:+,$C_ENV}
		],
		"cwd": $(json_str "${C_CWD:-/}"),
		"capabilities": {
			"bounding": [${C_CAPS:-$DEFAULT_CAPS}],
			"effective": [${C_CAPS:-$DEFAULT_CAPS}],
			"permitted": [${C_CAPS:-$DEFAULT_CAPS}],
			"ambient": [${C_CAPS:-$DEFAULT_CAPS}]${C_INH:+,
			\"inheritable\": [$C_INH]}
		},
		"rlimits": ${C_RLIMITS:-$DEFAULT_RLIMITS},
		"noNewPrivileges": ${C_NNP:-true}
	},
	"root": { "path": $(json_str "${C_ROOTFS:-$E2E_TMP/rootfs}"), "readonly": ${C_READONLY:-true} },
	$hostname_kv
	$annot
	"mounts": [
		{ "destination": "/proc", "type": "proc", "source": "proc" },
		{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		  "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
		{ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
		  "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
		{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		  "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
		{ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		  "options": ["nosuid", "noexec", "nodev"] },
		{ "destination": "/sys", "type": "sysfs", "source": "sysfs",
		  "options": ["nosuid", "noexec", "nodev", "ro"] },
		{ "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		  "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] },
		{ "destination": "/mnt", "type": "bind", "source": $(json_str "$b/share"),
		  "options": ["rbind", "rw"] }${C_MOUNTS:+,$C_MOUNTS}
	],
	"linux": {
		$cg
		"resources": { "devices": [ { "allow": false, "access": "rwm" } ] },
		"namespaces": [${C_NS:-$DEFAULT_NS}],
		"maskedPaths": [ "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
			"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
			"/proc/sched_debug", "/sys/firmware", "/proc/scsi" ],
		"readonlyPaths": [ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
			"/proc/sysrq-trigger" ]
	}
}
EOF
	echo "$b"
}

# run_in ID ARGS...: make a bundle (C_* knobs apply) and run ARGS in the
# foreground; sets RC OUT ERR.
run_in() {
	local id=$1 b
	shift
	b=$(mkb "$id" "$@")
	cap rt run --bundle "$b" "$id"
}

# sh_in SCRIPT: run "sh -c SCRIPT" in a fresh container, expect exit 0
sh_in() {
	local id
	id=$(new_id)
	run_in "$id" sh -c "$1"
	expect_ok "sh -c $(printf %q "$1") in a container"
}

# ------------------------------------------------------------- lifecycle ---
# e2e_setup NAME NUMBER: per-test dirs (run in the test's own bash process)
e2e_setup() {
	TEST_NAME=$1
	TEST_NO=$2
	TD=$E2E_TMP/$TEST_NAME
	ROOT=$TD/root
	mkdir -p "$TD" "$ROOT"
	cd "$TD" || exit 1
}

# e2e_cleanup NAME: remove whatever test NAME left (run by the runner after
# the test's process ended, so it also works after a timeout).
# Force-deletes our containers by id (private root and, for ids recorded with
# note_default_root, the runtime's default root), kills only processes in our
# cgroups or naming our ids, removes our cgroup dirs deepest first.
e2e_cleanup() {
	local td=$E2E_TMP/$1 id d p pids
	ROOT=$td/root
	TD=$td
	[ -d "$td" ] || return 0
	for id in $(cat "$td/.ids" 2>/dev/null); do
		if [ -e "$ROOT/$id" ]; then
			timeout -k 2 10 "$KILN" --root "$ROOT" delete --force "$id" >/dev/null 2>&1
		fi
		if grep -qx "$id" "$td/.default_root_ids" 2>/dev/null; then
			timeout -k 2 10 "$KILN" delete --force "$id" >/dev/null 2>&1
		fi
		pids=$(procs_of "$id")
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null
		for d in $(cg_dirs "$id"); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] && { sleep 0.1; find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; }
		done
	done
	# Users a test made (test_rootless.sh): their processes, their user
	# manager, then the user (userdel also drops its /etc/subuid ranges).
	for u in $(cat "$td/.users" 2>/dev/null); do
		pids=$(ps -o pid= -u "$u" 2>/dev/null)
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null
		[ ! -d /run/systemd/system ] || systemctl stop "user@$(id -u "$u").service" >/dev/null 2>&1
		userdel -f "$u" >/dev/null 2>&1
	done
	# cgroups a test made itself (a delegated one, test_rootless.sh), deepest first.
	for d in $(cat "$td/.cgdirs" 2>/dev/null); do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# Extra paths outside $td a test made (no mounts may be under them).
	for p in $(cat "$td/.paths" 2>/dev/null); do
		grep -q " ${p}[/ ]" /proc/self/mountinfo || rm -rf --one-file-system "$p"
	done
	# Extra pids a test recorded (processes it started itself).
	for p in $(cat "$td/.pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	# Never rm -rf across a mount point (a leaked bind mount of a host dir).
	if grep -q " ${td}[/ ]" /proc/self/mountinfo; then
		echo "WARNING: mounts left under $td, not removing it:" >&2
		grep " ${td}[/ ]" /proc/self/mountinfo >&2
	else
		rm -rf --one-file-system "$td"
	fi
}
note_pid() { echo "$1" >>"$TD/.pids"; }
note_default_root() { echo "$1" >>"$TD/.default_root_ids"; }
