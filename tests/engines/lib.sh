# shellcheck shell=bash
# tests/engines/lib.sh - shared by the engine suites in this directory
# (sourced, not run). What it gives a suite:
#
#   eng_init NAME         private work dir $W (/tmp/kiln-eng-NAME.XXXXXX),
#                         cgroup parent name $CG, EXIT/INT/TERM trap that
#                         cleans up everything (eng_cleanup)
#   eng_daemon PID        remember a daemon we started (stopped by its pid)
#   eng_at_exit CMD...    run CMD at cleanup (before daemons are stopped)
#   eng_image_tar         cached busybox rootfs tarball (docker/podman import)
#   eng_oci_archive NAME REF [ENTRYPOINT...]
#                         cached single-layer OCI image archive (ctr import)
#   eng_scenario NAME [TIMEOUT]
#                         run s_NAME once per runtime label of $ENG_RUNTIMES
#                         (kiln, then the reference runc) and judge:
#                           PASS  kiln passed
#                           FAIL  kiln failed where runc passed
#                           ENV   both failed: the environment's, not counted
#                         a scenario that calls `na WHY` is not applicable
#                         to the engine (not counted, shown as n/a)
#   eng_summary           the suite's "N passed, N failed" line
#
# Inside a scenario: $RT is the runtime label (kiln|runc), $RTBIN its binary;
# `fail WHY` ends it as failed, `na WHY` as not applicable; falling off the
# end passes. Each scenario runs in its own bash under timeout, so one hang
# never takes the suite with it. Rows for the final table are appended to
# $ENG_RESULTS when set: "engine|scenario|kiln|runc|verdict|kiln_s|runc_s".
set -uo pipefail
ENG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$ENG_DIR/../.." && pwd)
: "${KILN:=$REPO/build/kiln}"
KILN=$(readlink -f "$KILN")
: "${FAKE_KM:=$(dirname "$KILN")/tests/fake-km}"
: "${RUNC:=$(command -v runc || echo /usr/sbin/runc)}"
: "${ENG_CACHE:=/var/cache/kiln-engines}"
: "${ENG_TIMEOUT:=60}"
: "${ENG_RUNTIMES:=kiln runc}"
: "${ENG_RESULTS:=}"
: "${ENG_ONLY:=}"
BUSYBOX=${BUSYBOX:-/bin/busybox}
PY=/usr/bin/python3
export REPO ENG_DIR KILN FAKE_KM RUNC ENG_CACHE ENG_RESULTS BUSYBOX PY
# Image layout version: bump when eng_build_rootfs changes (cache key).
ENG_IMAGE_VERSION=5

eng_info() { echo "# $*"; }
eng_setup_error() {
	echo "SETUP ERROR ${ENG_NAME:-engines}: $*"
	echo "0 passed, 1 failed"
	exit 1
}

rt_bin() { case $1 in kiln) echo "$KILN" ;; runc) echo "$RUNC" ;; crun) command -v crun ;; *) return 1 ;; esac; }

# --------------------------------------------------------------- cleanup ---
ENG_PIDS=()
ENG_EXIT=()
ENG_FINAL=()
ENG_NEW_DIRS=()
eng_daemon() { ENG_PIDS+=("$1"); }
eng_at_exit() { ENG_EXIT+=("$*"); }
# eng_at_final CMD...: run CMD at cleanup after the daemons are stopped
eng_at_final() { ENG_FINAL+=("$*"); }
# eng_note_dirs DIR...: fixed system directories an engine creates even with
# private roots; removed at exit when they did not exist before and are empty
# (a cgroup directory: with its empty sub-cgroups).
eng_note_dirs() {
	local d
	for d in "$@"; do [ -e "$d" ] || ENG_NEW_DIRS+=("$d"); done
}

# eng_stop_pid PID [GRACE_S]: SIGTERM, wait, SIGKILL (only pids we started)
eng_stop_pid() {
	local pid=$1 grace=${2:-20} i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	sleep 0.2
}

# Processes our daemons left (shims, conmon, containers): those whose command
# line names our work dir, and those still in our cgroups. All descend from
# what this suite started; each is killed by its pid.
eng_kill_leftovers() {
	local p cmd f
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		[[ $cmd == *"$W/"* ]] && kill -KILL "$p" 2>/dev/null
	done
	for f in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$f" ] || continue
		find "$f" -name freezer.state 2>/dev/null | while read -r s; do echo THAWED >"$s" 2>/dev/null; done
		find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | while read -r p; do
			[ "$p" = $$ ] || kill -KILL "$p" 2>/dev/null
		done
	done
	return 0
}

eng_umount_work() {
	local m
	for m in $(awk -v w="$W/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	return 0
}

eng_rm_cgroups() {
	local f
	for f in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$f" ] && find "$f" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

# The shims' sockets (/run/containerd/s) of shims killed in the cleanup
# stay behind: remove those made since the suite began that nothing listens on.
eng_rm_stale_shim_sockets() {
	[ -d /run/containerd/s ] || return 0
	"$PY" - "$ENG_T0_EPOCH" <<'EOF'
import os, socket, sys
d, since = "/run/containerd/s", float(sys.argv[1])
for n in os.listdir(d):
    p = os.path.join(d, n)
    try:
        if os.lstat(p).st_mtime < since:
            continue
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(p)
    except ConnectionRefusedError:
        os.unlink(p)
    except OSError:
        pass
EOF
}

eng_cleanup() {
	local rc=$? c i d
	trap - EXIT INT TERM
	[ -n "${W:-}" ] && [ -d "$W" ] || exit $rc
	for ((i = ${#ENG_EXIT[@]} - 1; i >= 0; i--)); do eval "${ENG_EXIT[i]}" >/dev/null 2>&1; done
	for ((i = ${#ENG_PIDS[@]} - 1; i >= 0; i--)); do eng_stop_pid "${ENG_PIDS[i]}" 30; done
	eng_kill_leftovers
	sleep 0.3
	for c in "${ENG_FINAL[@]}"; do eval "$c" >/dev/null 2>&1; done
	eng_umount_work
	eng_rm_cgroups
	eng_rm_stale_shim_sockets
	for d in "${ENG_NEW_DIRS[@]}"; do
		case $d in
		/sys/fs/cgroup/*) [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ;;
		*) rmdir "$d" 2>/dev/null ;;
		esac
	done
	cd / || true
	rm -rf "$W" 2>/dev/null || { sleep 1; eng_umount_work; rm -rf "$W"; }
	# what must never outlive us
	c=$(awk -v w="$W/" 'index($5, w) == 1' /proc/self/mountinfo | wc -l)
	[ "$c" = 0 ] || echo "# cleanup: $c mounts under $W left" >&2
	exit $rc
}

# eng_init NAME: work dir, cgroup name, traps. Root only.
eng_init() {
	ENG_NAME=$1
	[ "$(id -u)" = 0 ] || eng_setup_error "must run as root"
	[ -x "$KILN" ] || eng_setup_error "no kiln binary at $KILN"
	[ -x "$RUNC" ] || eng_setup_error "no runc at $RUNC (apt-get install runc)"
	ldd "$BUSYBOX" >/dev/null 2>&1 && eng_setup_error "$BUSYBOX is not static (apt-get install busybox-static)"
	W=$(mktemp -d "/tmp/kiln-eng-$1.XXXXXX") || eng_setup_error "mktemp failed"
	CG=kiln-eng-$1-$$
	ENG_T0=$SECONDS ENG_T0_EPOCH=$EPOCHREALTIME
	mkdir -p "$W/logs"
	export W CG ENG_NAME
	trap eng_cleanup EXIT
	trap 'exit 130' INT TERM
	# engines drop files into their cwd (conmon writes an "oom" marker)
	cd "$W" || eng_setup_error "cd $W"
	eng_info "$1: kiln $("$KILN" --version | head -n1 | cut -d' ' -f3-), reference runc $("$RUNC" --version | head -n1 | cut -d' ' -f3)"
	eng_info "$1: work dir $W, cgroup parent /$CG, ${ENG_NS_NOTE:-host mount namespace}"
}

# ---------------------------------------------------------------- images ---
# eng_build_rootfs DIR: busybox-static with its applets, root and user 1000,
# a web root for httpd, /usr/bin/tty-size.
eng_build_rootfs() {
	local d=$1 a
	mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,home/user,var/tmp,var/www,run,mnt}
	cp "$BUSYBOX" "$d/bin/busybox"
	for a in $("$BUSYBOX" --list-full); do
		[ "$a" = bin/busybox ] || [ -e "$d/$a" ] || ln -s /bin/busybox "$d/$a"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:user:/home/user:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$d/etc/passwd"
	printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$d/etc/group"
	: >"$d/etc/hosts"
	: >"$d/etc/resolv.conf"
	echo 'hello from kiln-engines httpd' >"$d/var/www/index.html"
	# the tty and its size, once the engine has resized it (after start)
	cat >"$d/usr/bin/tty-size" <<'EOF'
#!/bin/sh
tty
i=0
while :; do
	s=$(stty size 2>/dev/null)
	case $s in [1-9]*" "[1-9]*) break ;; esac
	i=$((i + 1))
	[ $i -gt 25 ] && break
	sleep 0.2
done
echo "$s"
EOF
	chmod 755 "$d/usr/bin/tty-size"
	chmod 1777 "$d/tmp" "$d/var/tmp"
	chown 1000:1000 "$d/home/user"
}

# eng_cached KEY BUILDER: path of $ENG_CACHE/KEY, made by BUILDER TMPFILE once
# (under a lock, moved into place atomically).
eng_cached() {
	local key=$1 f tmp
	shift
	f=$ENG_CACHE/$key
	[ -s "$f" ] && { echo "$f"; return 0; }
	mkdir -p "$ENG_CACHE" || return 1
	(
		flock -w 300 9 || exit 1
		[ -s "$f" ] && exit 0
		# what an older layout or another busybox left
		find "$ENG_CACHE" -maxdepth 1 -name '*.tar' ! -name "*-$(eng_bb_key)-v$ENG_IMAGE_VERSION.*" -delete
		tmp=$(mktemp "$f.XXXXXX") || exit 1
		"$@" "$tmp" >&2 && mv -f "$tmp" "$f" || { rm -f "$tmp"; exit 1; }
	) 9>"$ENG_CACHE/.lock" || return 1
	echo "$f"
}

# what an image built from a Dockerfile has and a bare import lacks
ENG_IMPORT_CHANGES=(-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["sh"]')

eng_bb_key() { sha256sum "$BUSYBOX" | cut -c1-16; }

_eng_make_tar() {
	local r
	r=$(mktemp -d "${W:-/tmp}/rootfs.XXXXXX") || return 1
	eng_build_rootfs "$r" && tar --numeric-owner --sort=name -C "$r" -cf "$1" .
	local rc=$?
	rm -rf "$r"
	return $rc
}
# eng_image_tar: the busybox rootfs as a tarball (docker import, podman import)
eng_image_tar() { eng_cached "busybox-$(eng_bb_key)-v$ENG_IMAGE_VERSION.tar" _eng_make_tar; }

# _eng_make_oci LAYER REF ENTRYPOINT... OUT: single-layer OCI image layout archive
_eng_make_oci() {
	"$PY" - "$@" <<'EOF'
import hashlib, io, json, os, sys, tarfile
layer, ref, entry, out = sys.argv[1], sys.argv[2], sys.argv[3:-1], sys.argv[-1]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
blobs = {}
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return {"digest": "sha256:" + d, "size": len(data)}
ldata = open(layer, "rb").read()
lref = blob(ldata)
cfg = {"architecture": arch, "os": "linux",
       "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                  "Cmd": ["sh"], "WorkingDir": "/"},
       "rootfs": {"type": "layers", "diff_ids": [lref["digest"]]}}
if entry:
    cfg["config"]["Entrypoint"] = entry
    cfg["config"]["Cmd"] = None
cref = blob(json.dumps(cfg).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **cref),
       "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar", **lref)]}
mref = blob(json.dumps(man).encode())
index = {"schemaVersion": 2, "manifests": [dict(
    mediaType="application/vnd.oci.image.manifest.v1+json", **mref,
    annotations={"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]},
    platform={"architecture": arch, "os": "linux"})]}
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644
        t.addfile(i, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", json.dumps(index).encode())
    for d, data in blobs.items():
        add("blobs/sha256/" + d, data)
EOF
}
# eng_oci_archive NAME REF [ENTRYPOINT...]: cached OCI archive of the busybox
# rootfs named REF (ctr images import), optionally with an entrypoint
eng_oci_archive() {
	local name=$1 layer
	shift
	layer=$(eng_image_tar) || return 1
	eng_cached "$name-$(eng_bb_key)-v$ENG_IMAGE_VERSION.oci.tar" _eng_make_oci "$layer" "$@"
}

# ------------------------------------------------------------- scenarios ---
fail() {
	echo "$*" >"$ENG_REASON"
	exit 1
}
na() {
	echo "$*" >"$ENG_REASON"
	exit 77
}
expect_eq() { [ "$2" = "$3" ] || fail "$1: expected '$3', got '$(printf %s "$2" | tr '\n' '|' | cut -c1-200)'"; }
expect_has() { [[ $2 == *"$3"* ]] || fail "$1: no '$3' in '$(printf %s "$2" | tr '\n' '|' | cut -c1-200)'"; }
# wait_for SECONDS CMD...: poll CMD every 0.2 s
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
# under a pseudo terminal (for -t)
in_pty() { script -qefc "$*" /dev/null </dev/null; }
# a long-running container command: traps TERM (exit 0) and USR1 (exit 3)
# (these two are shell code for `sh -c` in the container)
# shellcheck disable=SC2089,SC2090
LOOP='trap "echo got-term; exit 0" TERM; trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.2; done'
# inside a container: "mem=.. cpu=quota/period pids=.." from its cgroup files
# shellcheck disable=SC2089
LIMITS_SH='c=/sys/fs/cgroup
if [ -f $c/memory/memory.limit_in_bytes ]; then m=$(cat $c/memory/memory.limit_in_bytes); else m=$(cat $c/memory.max); fi
for d in $c/cpu $c/cpu,cpuacct; do [ -f $d/cpu.cfs_quota_us ] && q=$(cat $d/cpu.cfs_quota_us)/$(cat $d/cpu.cfs_period_us); done
[ -n "${q:-}" ] || q=$(tr " " / <$c/cpu.max)
if [ -f $c/pids/pids.max ]; then p=$(cat $c/pids/pids.max); else p=$(cat $c/pids.max); fi
echo "mem=$m cpu=$q pids=$p"'
# shellcheck disable=SC2090
export LOOP LIMITS_SH

ENG_PASSED=0 ENG_FAILED=0 ENG_ENV=0 ENG_NA=0
ENG_EXPORTED=0

# _eng_one NAME RT TIMEOUT: one run; sets _rc _reason _dt
_eng_one() {
	local name=$1 rt=$2 to=$3 t0 log=$W/logs/$1.$2.log
	ENG_REASON=$W/logs/$1.$2.reason
	rm -f "$ENG_REASON"
	t0=$EPOCHREALTIME
	RT=$rt RTBIN=$(rt_bin "$rt") ENG_REASON=$ENG_REASON timeout -k 5 "$to" bash -c 's_"$1"' _ "$name" >"$log" 2>&1 </dev/null
	_rc=$?
	_dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	_reason=$(cat "$ENG_REASON" 2>/dev/null)
	case $_rc in
	0 | 77) ;;
	124 | 137) _reason="timeout after ${to}s${_reason:+ ($_reason)}" ;;
	*) [ -n "$_reason" ] || _reason="exit status $_rc: $(tail -n 2 "$log" | tr '\n' ' ' | cut -c1-200)" ;;
	esac
	declare -F engine_reset >/dev/null && engine_reset "$rt" >/dev/null 2>&1
	return 0
}

# eng_export: every function, visible to the per-scenario bash processes
eng_export() {
	# shellcheck disable=SC2046
	export -f $(compgen -A function)
	ENG_EXPORTED=1
}

# eng_scenario NAME [TIMEOUT]
eng_scenario() {
	local name=$1 to=${2:-$ENG_TIMEOUT} rt res=() times=() why=() verdict k r
	if [ -n "$ENG_ONLY" ] && [[ " $ENG_ONLY " != *" $name "* ]]; then return 0; fi
	[ "$ENG_EXPORTED" = 1 ] || eng_export
	for rt in $ENG_RUNTIMES; do
		_eng_one "$name" "$rt" "$to"
		case $_rc in 0) res+=(pass) ;; 77) res+=(n/a) ;; *) res+=(fail) ;; esac
		times+=("$_dt")
		why+=("$_reason")
	done
	k=${res[0]} r=${res[1]:-none}
	# runtimes after the reference (crun in the workloads): shown, not judged
	local extra="" i
	for ((i = 2; i < ${#res[@]}; i++)); do
		set -- $ENG_RUNTIMES
		shift $i
		extra+=", $1 ${res[i]} ${times[i]}s${why[i]:+ (${why[i]})}"
	done
	case $k/$r in
	n/a/*) verdict=N/A ENG_NA=$((ENG_NA + 1)) ;;
	pass/*) verdict=PASS ENG_PASSED=$((ENG_PASSED + 1)) ;;
	fail/fail) verdict=ENV ENG_ENV=$((ENG_ENV + 1)) ;;
	*) verdict=FAIL ENG_FAILED=$((ENG_FAILED + 1)) ;;
	esac
	case $verdict in
	N/A) printf '%-5s %s/%s: %s\n' "$verdict" "$ENG_NAME" "$name" "${why[0]}" ;;
	PASS) printf '%-5s %s/%s (kiln %ss, runc %s%s%s)%s\n' "$verdict" "$ENG_NAME" "$name" "${times[0]}" "$r" \
		"${times[1]:+ ${times[1]}s}" "$extra" "${why[1]:+; runc: ${why[1]}}" ;;
	ENV) printf '%-5s %s/%s: fails with runc too (environment): kiln: %s | runc: %s\n' "$verdict" "$ENG_NAME" "$name" "${why[0]}" "${why[1]}" ;;
	FAIL) printf '%-5s %s/%s (kiln %ss): %s (runc: %s%s)\n' "$verdict" "$ENG_NAME" "$name" "${times[0]}" "${why[0]}" "$r" "$extra"
		tail -n 6 "$W/logs/$name.kiln.log" | cut -c1-200 | sed 's/^/      | /' ;;
	esac
	# ENG_DETAILS=1: the "ok ..." lines a scenario printed (the CRI client's steps)
	if [ "${ENG_DETAILS:-0}" = 1 ]; then
		for rt in ${ENG_RUNTIMES%% *}; do grep -h '^ok ' "$W/logs/$name.$rt.log" 2>/dev/null | sed "s/^/      $rt: /"; done
	fi
	# known gaps a scenario reports without failing
	grep -h '^X\(FAIL\|PASS\) ' "$W/logs/$name".*.log 2>/dev/null | sed 's/^/      /'
	
	[ -z "$ENG_RESULTS" ] || echo "$ENG_NAME|$name|$k|$r|$verdict|${times[0]}|${times[1]:-}" >>"$ENG_RESULTS"
	return 0
}

# eng_metrics_table FILE: "workload|metric|runtime|value" rows as a table,
# one column per runtime (in the order they appear)
eng_metrics_table() {
	local f=$1 rts r w m
	rts=$(cut -d'|' -f3 "$f" | awk '!seen[$0]++' | tr '\n' ' ')
	printf '# %-14s %-34s' workload metric
	for r in $rts; do printf ' %9s' "$r"; done
	echo
	cut -d'|' -f1,2 "$f" | awk '!seen[$0]++' | while IFS='|' read -r w m; do
		printf '# %-14s %-34s' "$w" "$m"
		for r in $rts; do
			printf ' %9s' "$(awk -F'|' -v w="$w" -v m="$m" -v r="$r" '$1 == w && $2 == m && $3 == r { v = $4 } END { print (v == "" ? "-" : v) }' "$f")"
		done
		echo
	done
}

eng_summary() {
	eng_info "$ENG_NAME: wall $((SECONDS - ENG_T0)) s; $ENG_ENV env (fail with runc too), $ENG_NA n/a"
	echo "$ENG_PASSED passed, $ENG_FAILED failed"
	[ "$ENG_FAILED" = 0 ]
}

# ------------------------------------------------------ private mount ns ---
# eng_private_ns HIDE_UNIFIED ARGS...: re-execute the calling script in a
# private mount namespace, so no mount a daemon makes can outlive it on the
# host. HIDE_UNIFIED=1 also covers the cgroup2 mount of a hybrid host there
# (crun 1.8 refuses hybrid hosts; everything in the namespace then sees pure
# cgroup v1). The host's mounts are not changed.
eng_private_ns() {
	local hide=$1
	shift
	if [ "${ENG_IN_NS:-}" != 1 ]; then
		exec unshare -m --propagation private -- env ENG_IN_NS=1 ENG_HIDE_UNIFIED="$hide" bash "$0" "$@"
	fi
	if [ "${ENG_HIDE_UNIFIED:-0}" = 1 ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		umount /sys/fs/cgroup/unified 2>/dev/null ||
			mount -t tmpfs -o ro,size=4k kiln-eng-hide /sys/fs/cgroup/unified ||
			eng_setup_error "cannot hide /sys/fs/cgroup/unified"
		ENG_NS_NOTE="private mount ns, cgroup2 mount of the hybrid host hidden (pure cgroup v1)"
	else
		ENG_NS_NOTE="private mount ns (host cgroup layout as is)"
	fi
}

# eng_wait_up PID CMD...: poll CMD for up to 30 s while daemon PID lives
eng_wait_up() {
	local pid=$1 i
	shift
	for ((i = 0; i < 300; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- docker ---
DOCKER=$([ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker)
DOCKERD=$(command -v dockerd)
export DOCKER DOCKERD
dk() { timeout -k 5 "${DK_TIMEOUT:-90}" "$DOCKER" "$@"; }

# eng_dockerd_start RUNTIMES_JSON: a private dockerd (own data-root,
# exec-root, pidfile, socket, cgroup parent, no bridge, no iptables) with
# the given "runtimes" object; imports the busybox image as kiln-eng:latest.
eng_dockerd_start() {
	local d=$W/docker drv tar
	[ -n "$DOCKERD" ] && [ -n "$DOCKER" ] || eng_setup_error "dockerd/docker missing (apt-get install docker.io)"
	tar=$(eng_image_tar) || eng_setup_error "cannot build the busybox image"
	mkdir -p "$d/cli"
	export DOCKER_HOST=unix://$d/docker.sock DOCKER_CONFIG=$d/cli
	# what dockerd and its containerd create whatever their roots
	eng_note_dirs /run/containerd/s /run/containerd /run/docker/plugins /run/docker /etc/docker \
		/opt/containerd/bin /opt/containerd/lib /opt/containerd
	printf '{"deprecated-key-path": "%s/key.json", "runtimes": %s}\n' "$d" "$1" >"$d/daemon.json"
	eng_at_exit 'ids=$(dk ps -aq); [ -z "$ids" ] || dk rm -f $ids'
	for drv in ${ENG_DOCKER_STORAGE:-overlay2 vfs}; do
		rm -rf "$d/data" "$d/exec"
		mkdir -p "$d/data" "$d/exec"
		"$DOCKERD" --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
			--pidfile "$d/docker.pid" -H "$DOCKER_HOST" --storage-driver "$drv" \
			--iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --bridge=none \
			--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$CG" --log-level warn \
			>"$W/logs/dockerd-$drv.log" 2>&1 &
		DOCKERD_PID=$!
		eng_daemon "$DOCKERD_PID"
		if eng_wait_up "$DOCKERD_PID" dk version && dk import "${ENG_IMPORT_CHANGES[@]}" "$tar" kiln-eng:latest >/dev/null 2>&1 &&
			dk run --rm --network none kiln-eng true >"$W/logs/first-run.log" 2>&1; then
			eng_info "$ENG_NAME: dockerd $("$DOCKERD" --version | cut -d' ' -f3 | tr -d ,) pid $DOCKERD_PID, storage $drv"
			return 0
		fi
		eng_info "dockerd with $drv not usable: $(cat "$W/logs/first-run.log" 2>/dev/null | tail -n 2; grep -E 'level=(error|fatal)' "$W/logs/dockerd-$drv.log" | tail -n 2)"
		eng_stop_pid "$DOCKERD_PID" 20
		eng_kill_leftovers
		eng_umount_work
	done
	eng_setup_error "dockerd did not start with any storage driver"
}

# -------------------------------------------------------------------- km ---
# eng_km_setup [EXEC_POLICY]: $KMDIR (=$W/km) with the stand-in km, a
# stand-in device node (c 10:232, as /dev/kvm), km.json naming both,
# kiln-km (a link to kiln: the invocation-name trigger; engines pass
# --km-config as a runtime argument) and kiln-km-wrap (for engines that
# cannot pass runtime arguments: containerd's BinaryName, ctr --runc-binary).
# EXEC_POLICY=refuse: /bin/cat is allowlisted for native exec, any other
# exec is refused.
eng_km_setup() {
	KMDIR=$W/km
	[ -x "$FAKE_KM" ] || eng_setup_error "no stand-in km at $FAKE_KM (meson setup with tests on)"
	mkdir -p "$KMDIR/dev" "$KMDIR/share"
	mknod "$KMDIR/dev/kvm" c 10 232 || eng_setup_error "mknod"
	cp "$FAKE_KM" "$KMDIR/km"
	ln -s "$KILN" "$KMDIR/kiln-km"
	if [ "${1:-}" = refuse ]; then
		printf '{"km": "%s", "devices": ["%s"], "exec_unlisted": "refuse",\n "native_exec": [{"match": "/bin/cat", "path": "/bin/busybox", "sha256": "%s"}]}\n' \
			"$KMDIR/km" "$KMDIR/dev/kvm" "$(sha256sum "$BUSYBOX" | cut -d' ' -f1)" >"$KMDIR/km.json"
	else
		printf '{"km": "%s", "devices": ["%s"]}\n' "$KMDIR/km" "$KMDIR/dev/kvm" >"$KMDIR/km.json"
	fi
	printf '#!/bin/sh\nexec "%s" --km --km-config "%s" "$@"\n' "$KILN" "$KMDIR/km.json" >"$KMDIR/kiln-km-wrap"
	chmod +x "$KMDIR/kiln-km-wrap"
	export KMDIR
}

# ------------------------------------------------------------ containerd ---
CONTAINERD=$(command -v containerd)
CTR=$(command -v ctr)
export CONTAINERD CTR
# ct ARGS...: ctr against our containerd, namespace $CTD_NS
ct() { timeout -k 5 "${CT_TIMEOUT:-90}" "$CTR" -a "$CTD_SOCK" -n "$CTD_NS" "$@"; }

# eng_containerd_start NAMESPACE [CONFIG_FUNCTION]: a private containerd
# (own root, state, sockets, opt dir; debug and metrics off; a config of its
# own, so /etc/containerd is never read) with the overlayfs snapshotter
# (native without overlay). CONFIG_FUNCTION prints more config.toml (it
# may use $CTD_SNAP); without one the CRI plugin is disabled.
eng_containerd_start() {
	local d=$W/ctd
	[ -n "$CONTAINERD" ] && [ -n "$CTR" ] || eng_setup_error "containerd/ctr missing (apt-get install containerd)"
	CTD_NS=$1 CTD_SOCK=$d/containerd.sock CTD_SNAP=${ENG_CTD_SNAPSHOTTER:-overlayfs}
	grep -qw overlay /proc/filesystems || CTD_SNAP=native
	export CTD_NS CTD_SOCK CTD_SNAP
	mkdir -p "$d/root" "$d/state" "$d/opt" "$W/fifo"
	# the shims' sockets live under /run/containerd/s whatever the state dir
	eng_note_dirs /run/containerd/s /run/containerd/fifo /run/containerd
	# the runc shim puts a container without a cgroup path under
	# /<namespace>/<id>: the namespace's cgroup dirs are ours to remove
	local h
	for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do eng_note_dirs "$h$1"; done
	{
		printf 'version = 2\nroot = "%s"\nstate = "%s"\n' "$d/root" "$d/state"
		[ -n "${2:-}" ] || printf 'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
		printf '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n' "$CTD_SOCK" "$CTD_SOCK"
		printf '[debug]\n  address = ""\n[metrics]\n  address = ""\n'
		printf '[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n' "$d/opt"
		[ -z "${2:-}" ] || "$2"
	} >"$d/config.toml"
	"$CONTAINERD" --config "$d/config.toml" --log-level warn >"$W/logs/containerd.log" 2>&1 &
	CONTAINERD_PID=$!
	eng_daemon "$CONTAINERD_PID"
	eng_wait_up "$CONTAINERD_PID" ct version || eng_setup_error "containerd did not start: $(tail -n 3 "$W/logs/containerd.log")"
	eng_info "$ENG_NAME: containerd $("$CONTAINERD" --version | cut -d' ' -f3) pid $CONTAINERD_PID, snapshotter $CTD_SNAP"
}
