#!/usr/bin/env bash
# tests/km/race.sh N - the create/start race of the KM handler, N times.
#
# Each round: `kiln-km create` a container whose payload (run by the
# stand-in km, tests/km/fake-km.c) writes a marker; then check that neither
# km nor the payload has run (no km log, no marker) while the container is
# `created`; `start` it; the marker must appear (no start is lost); delete.
# Prints "race: N rounds ok in S s" or the first failure; exit 1 on failure.
# KM_PRELOAD=1: the config's "preload" mode: create runs km
# --wait-for-signal and returns once km has parked (SIGUSR1 blocked), start
# sends SIGUSR1; then km must have run (parked) after create, the payload not.
#   KILN=build/kiln  FAKE_KM=build/tests/fake-km  (root; busybox-static needed)
set -u
N=${1:-200}
: "${KILN:=build/kiln}"
KILN=$(readlink -f "$KILN")
: "${FAKE_KM:=$(dirname "$KILN")/tests/fake-km}"
[ "$(id -u)" = 0 ] || { echo "race: must run as root" >&2; exit 2; }
[ -x "$FAKE_KM" ] || { echo "race: no stand-in km at $FAKE_KM" >&2; exit 2; }
BB=${BUSYBOX:-/bin/busybox}
ldd "$BB" >/dev/null 2>&1 && { echo "race: $BB is not static" >&2; exit 2; }

T=$(mktemp -d /tmp/kiln-km-race.XXXXXX)
ROOT=$T/root CG=kiln-km-race-$$ ID=
cleanup() {
	[ -n "$ID" ] && "$KILN" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1
	for d in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
	grep -q " $T[/ ]" /proc/self/mountinfo || rm -rf --one-file-system "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$T"/rootfs/{bin,proc,dev,tmp,opt,mnt} "$T/share" "$T/dev" "$T/km"
cp "$BB" "$T/rootfs/bin/busybox"
for a in sh echo; do ln -s busybox "$T/rootfs/bin/$a"; done
mknod "$T/dev/kvm" c 10 232
cp "$FAKE_KM" "$T/km/km"
ln -s "$KILN" "$T/kiln-km"
PRELOAD=${KM_PRELOAD:-0}
printf '{"km": "%s", "devices": ["%s"], "preload": %s}\n' "$T/km/km" "$T/dev/kvm" "$([ "$PRELOAD" = 1 ] && echo true || echo false)" >"$T/km.json"
cat >"$T/config.json" <<EOF2
{
	"ociVersion": "1.0.2",
	"process": {
		"user": {"uid": 0, "gid": 0},
		"args": ["sh", "-c", "echo ran >/mnt/marker"],
		"env": ["PATH=/bin", "FAKE_KM_LOG=/mnt/km.log", "FAKE_KM_EXPECT=10:232"],
		"cwd": "/"
	},
	"root": {"path": "$T/rootfs", "readonly": true},
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
		{"destination": "/mnt", "type": "bind", "source": "$T/share", "options": ["rbind", "rw"]}
	],
	"linux": {
		"cgroupsPath": "/$CG/c",
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]
	}
}
EOF2
rt() { "$T/kiln-km" --root "$ROOT" --km-config "$T/km.json" "$@"; }
# A fifo nobody writes to: `read -t` on it is a sleep without a fork.
mkfifo "$T/nap" && exec {NAP}<>"$T/nap"
fail() { echo "race: round $i: $*" >&2; exit 1; }

[ -n "${RACE_TRACE:-}" ] && set -x
start=${EPOCHREALTIME/./}
for ((i = 1; i <= N; i++)); do
	ID=race-$$-$i
	rm -f "$T/share/marker" "$T/share/km.log"
	rt create --bundle "$T" "$ID" </dev/null >/dev/null 2>"$T/err" || fail "create failed: $(cat "$T/err")"
	[ ! -e "$T/share/marker" ] || fail "payload ran before start"
	if [ "$PRELOAD" = 1 ]; then
		# km parked: it has run (logged) and blocks SIGUSR1
		[ -s "$T/share/km.log" ] || fail "preload: km not started by create"
		pid=$(rt state "$ID" | sed -n 's/^  "pid": \([0-9]*\),/\1/p')
		# SIGUSR1 blocked, or km in sigwait (rt_sigtimedwait, 128), which
		# shows the waited-for signal as unblocked
		blk=$(sed -n 's/^SigBlk:\t//p' "/proc/$pid/status")
		read -r nr _ <"/proc/$pid/syscall"
		(( (0x$blk & 0x200) || nr == 128 )) || fail "preload: create returned before km parked (SigBlk $blk, syscall $nr)"
	else
		[ ! -e "$T/share/km.log" ] || fail "km ran before start"
	fi
	rt start "$ID" 2>"$T/err" || fail "start failed: $(cat "$T/err")"
	# The start must not be lost: the payload runs (10 s at most).
	for ((w = 0; w < 1000; w++)); do [ -s "$T/share/marker" ] && break; read -r -t 0.01 -u "$NAP" || :; done
	[ -s "$T/share/marker" ] || fail "start was lost: no marker 10 s after start"
	[ "$(grep -c '^argv\[0\]=' "$T/share/km.log")" = 1 ] || fail "km did not run exactly once"
	rt delete --force "$ID" 2>"$T/err" || fail "delete failed: $(cat "$T/err")"
	ID=
done
end=${EPOCHREALTIME/./}
echo "race: $N rounds$([ "$PRELOAD" = 1 ] && echo " (preload)") ok in $(( (end - start) / 1000000 )).$(printf %03d $(( (end - start) / 1000 % 1000 ))) s"
