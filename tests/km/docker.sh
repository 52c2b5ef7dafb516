#!/usr/bin/env bash
# tests/km/docker.sh - the KM handler under Docker, with the stand-in km.
#
# Starts a PRIVATE dockerd (own data-root, exec-root, pidfile, socket,
# cgroup parent; stopped by its pid) whose daemon.json registers the runtime
# "kiln-km" (a link named kiln-km to $KILN, runtimeArgs --km-config), imports
# a busybox-static image from a tarball (no registry needed) and checks:
#   run    `docker run --runtime kiln-km` runs the payload under km
#   init   `docker run --init`: docker-init under km, its child not wrapped twice
#   exec   `docker exec` of an allowlisted tool runs natively; of any other
#          binary it is refused (exec_unlisted "refuse")
# Prints PASS/FAIL per scenario and "N passed, N failed"; SKIP (exit 0) when
# dockerd or docker is missing. Root only.
#   KILN=build/kiln FAKE_KM=build/tests/fake-km tests/km/docker.sh
set -u
: "${KILN:=build/kiln}"
KILN=$(readlink -f "$KILN")
: "${FAKE_KM:=$(dirname "$KILN")/tests/fake-km}"
DOCKERD=$(command -v dockerd) || { echo "SKIP: no dockerd"; exit 0; }
DOCKER=$(command -v docker) || { echo "SKIP: no docker client"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "SKIP: not root"; exit 0; }
[ -x "$FAKE_KM" ] || { echo "SKIP: no stand-in km at $FAKE_KM"; exit 0; }
BB=${BUSYBOX:-/bin/busybox}
ldd "$BB" >/dev/null 2>&1 && { echo "SKIP: $BB is not static"; exit 0; }

W=$(mktemp -d /tmp/kiln-km-docker.XXXXXX)
CG=kiln-km-docker-$$
PID=
NEW_DIRS=""
for d in /run/containerd/s /run/containerd /run/docker/plugins /run/docker /etc/docker; do [ -e "$d" ] || NEW_DIRS="$NEW_DIRS $d"; done
export DOCKER_HOST=unix://$W/docker.sock DOCKER_CONFIG=$W/cli
dk() { timeout -k 5 60 "$DOCKER" "$@"; }
cleanup() {
	local m d
	if [ -n "$PID" ]; then
		ids=$(dk ps -aq 2>/dev/null); [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1
		kill -TERM "$PID" 2>/dev/null
		for ((i = 0; i < 300; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	for m in $(awk -v w="$W" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
	for d in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
	for d in $NEW_DIRS; do rmdir "$d" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# image: busybox-static, imported from a tarball
mkdir -p "$W"/rootfs/{bin,sbin,etc,tmp,proc,sys,dev,mnt} "$W/share" "$W/kdev" "$W/cli" "$W/data" "$W/exec"
cp "$BB" "$W/rootfs/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar --numeric-owner -C "$W/rootfs" -cf "$W/rootfs.tar" .
# km, device, config: cat is allowlisted, anything else refused
mknod "$W/kdev/kvm" c 10 232
cp "$FAKE_KM" "$W/km"
ln -s "$KILN" "$W/kiln-km"
sum=$(sha256sum "$BB" | cut -d' ' -f1)
cat >"$W/km.json" <<EOF2
{"km": "$W/km", "devices": ["$W/kdev/kvm"], "exec_unlisted": "refuse",
 "native_exec": [{"match": "/bin/cat", "path": "/bin/busybox", "sha256": "$sum"}]}
EOF2
cat >"$W/daemon.json" <<EOF2
{"deprecated-key-path": "$W/key.json",
 "runtimes": {"kiln-km": {"path": "$W/kiln-km", "runtimeArgs": ["--km-config", "$W/km.json"]}}}
EOF2
"$DOCKERD" --config-file "$W/daemon.json" --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/docker.pid" \
	-H "$DOCKER_HOST" --storage-driver "${KM_DOCKER_STORAGE:-overlay2}" --iptables=false --ip6tables=false \
	--ip-masq=false --ip-forward=false --bridge=none --userland-proxy=false \
	--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$CG" --log-level warn >"$W/dockerd.log" 2>&1 &
PID=$!
for ((i = 0; i < 300; i++)); do dk version >/dev/null 2>&1 && break; kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
dk version >/dev/null 2>&1 || { echo "SETUP ERROR: dockerd did not start: $(tail -3 "$W/dockerd.log")"; exit 2; }
dk import "$W/rootfs.tar" km-busybox:latest >/dev/null || { echo "SETUP ERROR: docker import failed"; exit 2; }

passed=0 failed=0
result() { if [ "$1" = ok ]; then echo "PASS $2"; passed=$((passed + 1)); else echo "FAIL $2: $3"; failed=$((failed + 1)); fi; }
KMRUN=(--runtime kiln-km --network none -v "$W/share:/mnt" -e FAKE_KM_LOG=/mnt/km.log -e FAKE_KM_EXPECT=10:232)

# run
rm -f "$W/share/km.log"
out=$(dk run --rm "${KMRUN[@]}" km-busybox sh -c 'echo hello; ls /opt/kontain/bin' 2>&1)
if [ "$out" = $'hello\nkm' ] && grep -qx 'argv\[1\]=/bin/sh' "$W/share/km.log" 2>/dev/null; then result ok run
else result no run "out=$out log=$(head -c 300 "$W/share/km.log" 2>/dev/null)"; fi

# init
rm -f "$W/share/km.log"
out=$(dk run --rm --init "${KMRUN[@]}" km-busybox echo via-init 2>&1)
if [ "$out" = via-init ] && grep -qx 'argv\[1\]=/sbin/docker-init' "$W/share/km.log" &&
	[ "$(grep -c '^argv\[0\]=' "$W/share/km.log")" = 1 ]; then result ok init
else result no init "out=$out log=$(head -c 300 "$W/share/km.log" 2>/dev/null)"; fi

# exec
dk run -d --name km-exec "${KMRUN[@]}" km-busybox sleep 300 >/dev/null
out=$(dk exec km-exec cat /etc/passwd 2>&1); rc1=$?
out2=$(dk exec km-exec echo hi 2>&1); rc2=$?
if [ $rc1 = 0 ] && [ "$out" = 'root:x:0:0:root:/root:/bin/sh' ] && [ $rc2 != 0 ] && [[ $out2 == *"exec of /bin/echo refused"* ]]; then
	result ok exec
else result no exec "allowlisted: rc=$rc1 out=$out; other: rc=$rc2 out=$out2"; fi
echo "# docker exec refusal as the user sees it (exit $rc2): $out2"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
