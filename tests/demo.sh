#!/usr/bin/env bash
# tests/demo.sh - THE demo command of kiln (run as root on Debian 12):
#
#   sudo tests/demo.sh [COMMAND...]
#
# Installs what is missing, builds kiln, makes a bundle (busybox-static rootfs
# + the config.json of `build/kiln spec`, edited with sed: terminal off, our
# args, a cgroupsPath of its own) and runs it in the foreground with
#   build/kiln --root <tmp> run --bundle <bundle> demo-<pid>
# Then it shows the same container through create/state/start/delete, and
# cleans everything up (DEMO_RUNTIME=runc: use that binary, no build). COMMAND (default: a few lines about the container)
# replaces the payload of the first run, e.g. tests/demo.sh sh -c 'ls /'.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
BUILD=${KILN_BUILD_DIR:-build}
PKGS="meson ninja-build pkg-config g++ libyajl-dev libcli11-dev libseccomp-dev libcap-dev
 libmnl-dev catch2 libsystemd-dev busybox-static iproute2"

[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo tests/demo.sh)" >&2; exit 1; }

. "$REPO/tests/pkgs.sh" # need_pkgs

if [ -n "${DEMO_RUNTIME:-}" ]; then
	# another runc-compatible binary instead of building kiln (for comparison)
	KILN=$(command -v "$DEMO_RUNTIME") || { echo "demo: $DEMO_RUNTIME not found" >&2; exit 1; }
	need_pkgs busybox-static || exit 1
else
	# shellcheck disable=SC2086
	need_pkgs $PKGS || { echo "demo: could not install dependencies" >&2; exit 1; }
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" >/dev/null || { echo "demo: meson setup failed" >&2; exit 1; }
	fi
	echo "demo: building kiln (ninja -C $BUILD)"
	ninja -C "$BUILD" >/dev/null || { ninja -C "$BUILD"; echo "demo: build failed" >&2; exit 1; }
	KILN=$REPO/$BUILD/kiln
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kiln-demo.XXXXXX")
chmod 755 "$TMP"
STATE=$TMP/state
ID=demo-$$
CG=/kiln-demo-$$
cleanup() {
	local id d
	for id in "$ID" "$ID-2"; do
		[ -e "$STATE/$id" ] && "$KILN" --root "$STATE" delete --force "$id" >/dev/null 2>&1
	done
	for d in /sys/fs/cgroup"$CG" /sys/fs/cgroup/*"$CG"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if grep -q " ${TMP}[/ ]" /proc/self/mountinfo; then
		echo "demo: mounts left under $TMP; not removing it" >&2
	else
		rm -rf --one-file-system "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bundle: busybox-static rootfs ---
BB=""
for b in ${BUSYBOX:-} /bin/busybox /usr/bin/busybox; do
	[ -n "$b" ] && [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1 && { BB=$b; break; }
done
[ -n "$BB" ] || { echo "demo: no static busybox (apt-get install busybox-static)" >&2; exit 1; }
B=$TMP/bundle
mkdir -p "$B/rootfs/bin" "$B/rootfs"/{proc,dev,sys,tmp,etc,root}
cp "$BB" "$B/rootfs/bin/busybox"
for a in $("$B/rootfs/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$B/rootfs/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$B/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$B/rootfs/etc/group"

# --- config.json: kiln's own spec, edited without jq ---
# set_args FILE ARG...: replace process.args (one-line or multi-line array)
json_str() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	printf '"%s"' "$s"
}
NCFG=0
make_config() {
	local f=$B/config.json args="" a
	rm -f "$f"
	"$KILN" spec --bundle "$B" || { echo "demo: kiln spec failed" >&2; exit 1; }
	for a in "$@"; do args+="${args:+, }$(json_str "$a")"; done
	# awk: swap the args array for ours, terminal off, add a cgroupsPath and a hostname
	NCFG=$((NCFG + 1))
	# (args through ENVIRON: awk -v would eat the backslashes of the JSON escapes)
	ARGS_JSON=$args awk -v cg="$CG/c$NCFG" '
		BEGIN { skip = 0 }
		skip { if ($0 ~ /\]/) skip = 0; next }
		/"args": *\[/ {
			ind = $0; sub(/[^ \t].*/, "", ind)
			if ($0 !~ /\]/) skip = 1
			print ind "\"args\": [" ENVIRON["ARGS_JSON"] "],"
			next
		}
		/"terminal": *true/ { sub(/true/, "false") }
		/"hostname": *"/ { sub(/"hostname": *"[^"]*"/, "\"hostname\": \"kiln-demo\"") }
		/"linux": *\{/ { print; ind = $0; sub(/[^ \t].*/, "", ind); print ind "\t\"cgroupsPath\": \"" cg "\","; next }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f"
	grep -q '"terminal": *false' "$f" || { echo "demo: could not edit $f" >&2; cat "$f"; exit 1; }
}

if [ $# -gt 0 ]; then
	make_config "$@"
else
	make_config sh -c 'echo "Hello from kiln"; echo "hostname: $(hostname)"; echo "id: $(id)"; echo "pid: $$"; echo "cgroup:"; head -n 3 /proc/self/cgroup; echo "capabilities:"; grep CapEff /proc/self/status'
fi

SHOWN=${KILN#"$REPO"/}
echo "+ $SHOWN --version"
"$KILN" --version
echo
echo "+ $SHOWN --root $STATE run --bundle $B $ID"
"$KILN" --root "$STATE" run --bundle "$B" "$ID"
rc=$?
echo "(exit status $rc)"
[ $# -gt 0 ] && exit $rc

# --- the same lifecycle step by step ---
echo
make_config sh -c 'echo "started as pid $$"; sleep 2'
ID2=$ID-2
step() { echo "+ $SHOWN $*"; "$KILN" --root "$STATE" "$@"; local r=$?; echo; return $r; }
step create --bundle "$B" "$ID2" || exit 1
step state "$ID2"
step list
step start "$ID2"
sleep 0.3
step kill "$ID2" KILL
for _ in $(seq 50); do
	"$KILN" --root "$STATE" state "$ID2" 2>/dev/null | grep -q '"stopped"' && break
	sleep 0.1
done
step state "$ID2"
step delete "$ID2"
step list
exit $rc
