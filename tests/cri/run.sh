#!/usr/bin/env bash
# tests/cri/run.sh - the Kubernetes path on one machine: kubelet's CRI calls,
# made by tests/cri/cri_client.py (a CRI v1 client over tests/cri/cri.proto,
# compiled here with grpc_tools.protoc), to a private containerd 1.6 whose
# CRI plugin has the runtime handlers
#   kiln      runc v2 shim, BinaryName = kiln
#   runc-ref  runc v2 shim, BinaryName = runc (the reference)
#   kiln-km   runc v2 shim, BinaryName = kiln --km (the stand-in km)
# each with a state root of its own. Pods use the host's network namespace
# (NamespaceOption network NODE: no CNI plugin runs) and a cgroup parent of
# ours. Images: the busybox rootfs and a pause image (busybox sleep) from
# cached OCI archives, imported into the k8s.io namespace.
# Scenarios: cri_pod (kiln, then runc), cri_km (kiln-km: app containers
# under km, the sandbox never). Last line: "N passed, N failed". Root only.
#   KILN=build/kiln tests/cri/run.sh
. "$(dirname "${BASH_SOURCE[0]}")/../engines/lib.sh" || exit 2
eng_private_ns 0 "$@"
eng_init cri
"$PY" -c 'import grpc, grpc_tools.protoc' 2>/dev/null ||
	eng_setup_error "python3-grpcio and python3-grpc-tools are needed (apt-get install python3-grpcio python3-grpc-tools)"
GEN=$W/gen
mkdir -p "$GEN" "$W/cni" "$W/podlogs"
"$PY" -m grpc_tools.protoc -I "$REPO/tests/cri" --python_out="$GEN" --grpc_python_out="$GEN" "$REPO/tests/cri/cri.proto" ||
	eng_setup_error "protoc of tests/cri/cri.proto failed"
eng_km_setup
export GEN

# runtime LABEL BINARY [EXTRA]: one CRI runtime handler
runtime() {
	local r='[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.'$1']'
	printf '    %s\n      runtime_type = "io.containerd.runc.v2"\n%s' "$r" "${3:-}"
	printf '      %s\n        BinaryName = "%s"\n        Root = "%s"\n        SystemdCgroup = false\n' \
		"${r%]}.options]" "$2" "$W/rt/$1"
}
cri_config() {
	cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/kiln-pause:1"
  # no CAP_SYS_RESOURCE needed to set the sandbox's oom_score_adj
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$CTD_SNAP"
    default_runtime_name = "runc-ref"
EOF
	runtime kiln "$KILN"
	runtime runc-ref "$RUNC"
	runtime kiln-km "$KMDIR/kiln-km-wrap" '      pod_annotations = ["app.kontain.*", "run.oci.handler"]
      container_annotations = ["app.kontain.*", "run.oci.handler"]
'
}
eng_containerd_start k8s.io cri_config
eng_at_exit 'for p in $(ct containers ls -q); do ct tasks kill -s KILL "$p"; ct tasks rm -f "$p"; done'
for img in "busybox localhost/kiln-eng:latest" "pause localhost/kiln-pause:1 /bin/sleep 2147483647"; do
	# shellcheck disable=SC2086
	arch=$(eng_oci_archive $img) || eng_setup_error "cannot build the OCI archive for $img"
	ct images import --snapshotter "$CTD_SNAP" "$arch" >"$W/logs/import.log" 2>&1 ||
		eng_setup_error "ctr -n k8s.io images import: $(tail -n 2 "$W/logs/import.log")"
done

handler() { case $RT in kiln) echo kiln ;; runc) echo runc-ref ;; esac; }
client() {
	"$PY" "$REPO/tests/cri/cri_client.py" --gen "$GEN" --socket "$CTD_SOCK" --image localhost/kiln-eng:latest \
		--cgroup-parent "/$CG" --log-dir "$W/podlogs" "$@" >"$W/logs/client.out" 2>&1
	local rc=$?
	cat "$W/logs/client.out"
	[ $rc = 0 ] || fail "$(grep -m1 '^FAIL' "$W/logs/client.out" || tail -n 3 "$W/logs/client.out")"
}
s_cri_pod() {
	client --handler "$(handler)" --name "pod-$RT" --runtime-bin "$RTBIN" --runtime-root "$W/rt/$(handler)/k8s.io" pod
}
s_cri_km() {
	[ "$RT" = kiln ] || na "the KM handler is kiln's"
	client --handler kiln-km --name pod-km --runtime-bin "$KILN" --runtime-root "$W/rt/kiln-km/k8s.io" \
		--km-share "$KMDIR/share" km
}

ENG_DETAILS=${ENG_DETAILS:-1}
eng_scenario cri_pod 180
eng_scenario cri_km 120
eng_summary
