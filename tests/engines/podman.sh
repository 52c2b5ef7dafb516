#!/usr/bin/env bash
# tests/engines/podman.sh - kiln under podman (+ conmon, catatonit), runc as
# reference: `podman --runtime PATH` per command, a private --root/--runroot/
# --tmpdir, containers.conf, storage.conf and registries.conf of its own,
# cgroupfs, every container under a cgroup parent of ours, no network.
# The scenarios docker and podman share are in cli.sh; here: healthcheck
# (podman healthcheck run), km, and `podman kube play` of the pod that
# tests/cri/ runs through containerd (the second Kubernetes client), plain
# and under kiln-km. Last line: "N passed, N failed". Root only.
#   KILN=build/kiln tests/engines/podman.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 2
eng_private_ns 0 "$@"
eng_init podman
PODMAN=$(command -v podman) || eng_setup_error "no podman (apt-get install podman conmon catatonit)"
command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || eng_setup_error "no conmon (apt-get install conmon)"
tar=$(eng_image_tar) || eng_setup_error "cannot build the busybox image"
P=$W/pm
mkdir -p "$P"/{root,runroot,tmp,volumes}
# podman asks for RLIMIT_NOFILE 1048576 by default, refused without
# CAP_SYS_RESOURCE above the hard limit: ask for the hard limit we have; and
# for an NPROC below conmon's (podman 4.3 starts conmon with 32768 here).
nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
[ "$nproc" = unlimited ] || [ "$nproc" -gt 16384 ] && nproc=16384
cat >"$P/containers.conf" <<EOF
[containers]
netns = "none"
log_driver = "k8s-file"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
tmp_dir = "$P/tmp"
volume_path = "$P/volumes"
static_dir = "$P/root/libpod"
EOF
: >"$P/registries.conf"
printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' "$P/runroot" "$P/root" >"$P/storage.conf"
export CONTAINERS_CONF=$P/containers.conf CONTAINERS_REGISTRIES_CONF=$P/registries.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
export PODMAN P
# podman creates its default pod cgroup parent; removed again if it was new
for d in /sys/fs/cgroup/*/; do eng_note_dirs "${d}libpod_parent"; done

# pm ARGS...: podman with the runtime under test ($RTBIN) and our private
# everything (a script, so that `script` can run it under a pty too)
cat >"$W/podman" <<EOF
#!/bin/sh
exec "$PODMAN" --runtime "\${RTBIN:-$KILN}" --cgroup-manager cgroupfs --events-backend file \\
	--root "$P/root" --runroot "$P/runroot" --tmpdir "$P/tmp" --storage-driver overlay "\$@"
EOF
chmod +x "$W/podman"
pm() { timeout -k 5 90 "$W/podman" "$@"; }
engine_reset() {
	pm pod rm -f -a -t 0
	pm rm -f -a -t 0
}
eng_at_exit 'engine_reset; pm rmi -af; pm system prune -f'
pm import "${ENG_IMPORT_CHANGES[@]}" "$tar" localhost/kiln-eng:latest >/dev/null 2>"$W/logs/import.err" ||
	eng_setup_error "podman import: $(tail -n 3 "$W/logs/import.err")"
pm run --rm --cgroup-parent "/$CG" localhost/kiln-eng true >"$W/logs/first-run.log" 2>&1 ||
	eng_setup_error "first podman run: $(tail -n 3 "$W/logs/first-run.log")"
eng_info "podman $("$PODMAN" --version | cut -d' ' -f3), conmon $(conmon --version 2>/dev/null | head -n1 | cut -d' ' -f3), storage overlay"

IMG=localhost/kiln-eng ENGINE=podman ECLI=$W/podman
export IMG ENGINE ECLI
e() { pm "$@"; }
# erun ARGS...: podman run with the runtime under test, in our cgroup parent
erun() { pm run --cgroup-parent "/$CG" "$@"; }
erun_cmd() { echo "$W/podman run --cgroup-parent /$CG"; }
. "$ENG_DIR/cli.sh"

s_healthcheck() {
	# no systemd here, so no health timers: run the exec probe as podman's
	# timer would (podman healthcheck run)
	erun -d --name e-health --health-cmd 'test -e /tmp/ok' --health-interval disable --health-retries 1 \
		"$IMG" sh -c 'echo ready; exec sleep 300' >/dev/null || fail "run failed"
	wait_for 15 logs_has e-health ready || fail "not ready"
	pm healthcheck run e-health >/dev/null 2>&1 && fail "probe passed before /tmp/ok"
	pm exec e-health touch /tmp/ok || fail "exec touch failed"
	pm healthcheck run e-health >/dev/null || fail "probe failed with /tmp/ok"
	expect_eq "health status" "$(st e-health Health.Status)" healthy
}
s_km() {
	[ "$RT" = kiln ] || na "the KM handler is kiln's"
	local out log=$KMDIR/share/km.log
	mkdir -p "$KMDIR/share"
	rm -f "$log"
	out=$(RTBIN=$KMDIR/kiln-km pm --runtime-flag "km-config=$KMDIR/km.json" run --cgroup-parent "/$CG" --rm \
		-v "$KMDIR/share:/mnt" -e FAKE_KM_LOG=/mnt/km.log "$IMG" sh -c 'echo hello; ls /opt/kontain/bin' 2>&1) ||
		fail "run under km failed: $out"
	expect_eq "output under km" "$out" $'hello\nkm'
	grep -qx 'argv\[1\]=/bin/sh' "$log" || fail "payload not under km: $(head -c 300 "$log")"
}

# The pod of tests/cri/ (a sandbox and two containers), as a Kubernetes
# manifest for podman kube play.
kube_yaml() {
	cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: kiln-pod-$RT
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: web
    image: $IMG
    command: ["sh", "-c", "echo web-up; exec httpd -f -p 127.0.0.1:0 -h /var/www"]
    resources:
      limits: {memory: 64Mi, cpu: 500m}
  - name: worker
    image: $IMG
    command: ["sh", "-c", "echo worker-up; exec sleep 300"]
    env: [{name: KFOO, value: bar}]
    workingDir: /tmp
EOF
}
s_kube_play() {
	local pod=kiln-pod-$RT out infra
	kube_yaml >"$W/pod-$RT.yaml"
	out=$(pm kube play "$W/pod-$RT.yaml" 2>&1) || fail "kube play failed: $(tail -n 3 <<<"$out")"
	wait_for 15 eval 'grep -q worker-up <<<"$(pm logs "$pod-worker" 2>&1)"' || fail "worker never started: $(pm ps -a --pod)"
	out=$(pm exec "$pod-worker" sh -c 'echo $KFOO:$PWD') || fail "exec in the pod failed"
	expect_eq "env:cwd in the pod" "$out" bar:/tmp
	out=$(pm exec "$pod-web" sh -c "$LIMITS_SH") || fail "exec in web failed"
	[[ $out == "mem=67108864 cpu=50000/100000 "* ]] || fail "web limits: $out"
	infra=$(pm pod inspect -f '{{.InfraContainerID}}' "$pod")
	expect_eq "infra running" "$(pm inspect -f '{{.State.Status}}' "$infra")" running
	expect_eq "infra runtime" "$(pm inspect -f '{{.OCIRuntime}}' "$infra")" "$RTBIN"
	pm pod stop -t 2 "$pod" >/dev/null || fail "pod stop failed"
	pm pod rm -f "$pod" >/dev/null || fail "pod rm failed"
	[ -z "$(pm ps -aq)" ] || fail "containers left after pod rm"
}

# kube play under kiln-km: the app container under km, the pod's infra
# (pause) container never
s_kube_play_km() {
	[ "$RT" = kiln ] || na "the KM handler is kiln's"
	local pod=kiln-pod-km log=$KMDIR/share/km.log ipid apid
	rm -f "$log"
	cat >"$W/pod-km.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: app
    image: $IMG
    command: ["sh", "-c", "echo app-up; exec sleep 300"]
    env: [{name: FAKE_KM_LOG, value: /mnt/km.log}]
    volumeMounts: [{name: share, mountPath: /mnt}]
  volumes:
  - name: share
    hostPath: {path: $KMDIR/share, type: Directory}
EOF
	local -a km=(--runtime-flag "km-config=$KMDIR/km.json")
	RTBIN=$KMDIR/kiln-km pm "${km[@]}" kube play "$W/pod-km.yaml" >"$W/logs/kube-km.out" 2>&1 ||
		fail "kube play under kiln-km failed: $(tail -n 3 "$W/logs/kube-km.out")"
	wait_for 15 eval 'grep -q app-up <<<"$(pm logs "$pod-app" 2>&1)"' || fail "app never started"
	grep -qx 'argv\[1\]=/bin/sh' "$log" || fail "the app is not under km: $(head -c 300 "$log")"
	apid=$(pm inspect -f '{{.State.Pid}}' "$pod-app")
	ipid=$(pm inspect -f '{{.State.Pid}}' "$(pm pod inspect -f '{{.InfraContainerID}}' "$pod")")
	[ -e "/proc/$apid/root/opt/kontain/bin/km" ] || fail "no km in the app container"
	# Known gap: podman 4.3 gives its infra container no mark of a sandbox
	# (no io.kubernetes.cri-o.ContainerType=sandbox; its app containers get
	# ContainerType=container and SandboxID), so kiln-km cannot tell the
	# infra from a plain container and runs catatonit -P under km. Reported
	# (XFAIL) rather than failed until podman or kiln has a mark to go by;
	# XPASS when that changes.
	if [ -e "/proc/$ipid/root/opt/kontain/bin/km" ]; then
		echo "XFAIL the pod's infra container runs under km ($(tr '\0' ' ' <"/proc/$ipid/cmdline"))"
	else
		echo "XPASS the pod's infra container is not under km"
	fi
	RTBIN=$KMDIR/kiln-km pm "${km[@]}" pod rm -f -t 0 "$pod" >/dev/null || fail "pod rm failed"
}

eng_km_setup

eng_cli_scenarios
eng_scenario healthcheck
eng_scenario km
eng_scenario kube_play 120
eng_scenario kube_play_km 120
eng_summary
