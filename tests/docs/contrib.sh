# tests/docs/contrib.sh - sourced by tests/docs/run.sh: the engine
# configurations in contrib/ parse, name kiln's binaries, and are accepted by
# the engines that can say so without a daemon (containerd, podman).

contrib_docker() {
	python3 - contrib/docker/daemon.json <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))["runtimes"]
for name in ("kiln", "kiln-km", "kiln-km-label"):
    assert name in d, f"no runtime {name}"
    assert os.path.basename(d[name]["path"]) == name, f"{name}: path {d[name]['path']}"
PY
}

contrib_containerd() {
	command -v containerd >/dev/null || { echo "containerd is not installed"; return 2; }
	local out
	out=$(containerd --config contrib/containerd/config.toml config dump 2>&1) || { echo "$out"; return 1; }
	python3 - "$out" <<'PY'
import sys, tomllib
cfg = tomllib.loads(sys.argv[1])
rt = cfg["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
for name in ("kiln", "kiln-km", "kiln-km-label"):
    r = rt[name]
    assert r["runtime_type"] == "io.containerd.runc.v2", f"{name}: {r['runtime_type']}"
    assert r["options"]["BinaryName"].endswith("/" + name), f"{name}: BinaryName {r['options']['BinaryName']}"
for name in ("kiln-km", "kiln-km-label"):
    assert "run.oci.handler" in rt[name]["pod_annotations"], f"{name}: run.oci.handler not passed through"
PY
}

contrib_crio() {
	python3 - contrib/crio/50-kiln.conf <<'PY'
import sys, tomllib
rt = tomllib.load(open(sys.argv[1], "rb"))["crio"]["runtime"]["runtimes"]
for name in ("kiln", "kiln-km", "kiln-km-label"):
    r = rt[name]
    assert r["runtime_path"].endswith("/" + name), f"{name}: {r['runtime_path']}"
    assert r["runtime_type"] == "oci" and r["runtime_root"].startswith("/run/"), name
for name in ("kiln-km", "kiln-km-label"):
    a = rt[name]["allowed_annotations"]
    assert "run.oci.handler" in a and "app.kontain.version" in a, f"{name}: allowed_annotations {a}"
PY
}

# podman reads the file and finds, runs and reports the runtime by name
# (private storage, run and network directories: nothing of the host's).
contrib_podman() {
	command -v podman >/dev/null || { echo "podman is not installed"; return 2; }
	local d=$TMP/podman out
	mkdir -p "$d"
	python3 - contrib/podman/containers.conf "$KILN" "$d/containers.conf" <<'PY' || return 1
import sys, tomllib
src, kiln, dst = sys.argv[1:4]
text = open(src).read()
rt = tomllib.loads(text)["engine"]["runtimes"]
for name in ("kiln", "kiln-km", "kiln-km-label"):
    assert all(p.endswith("/" + name) for p in rt[name]), f"{name}: {rt[name]}"
# the built binary as a last resort, after the installed paths
text = text.replace('kiln = ["/usr/bin/kiln", "/usr/local/bin/kiln"]',
                    f'kiln = ["/usr/bin/kiln", "/usr/local/bin/kiln", "{kiln}"]')
assert kiln in text, "cannot find the kiln runtime list to extend"
open(dst, "w").write(text)
PY
	out=$(CONTAINERS_CONF=$d/containers.conf timeout 60 podman --root "$d/root" --runroot "$d/run" \
		--tmpdir "$d/tmp" --network-config-dir "$d/net" --storage-driver vfs --cgroup-manager cgroupfs \
		--events-backend none --runtime kiln info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}}' 2>&1) ||
		{ echo "$out"; return 1; }
	grep -q '^kiln kiln version ' <<<"$out" || { echo "podman info: $out"; return 1; }
}

contrib_tmpfiles() {
	command -v systemd-tmpfiles >/dev/null || { echo "no systemd-tmpfiles"; return 2; }
	local root=$TMP/contrib-tmpfiles
	mkdir -p "$root/run"
	systemd-tmpfiles --create --root="$root" "$REPO/contrib/tmpfiles.d/kiln.conf" || return 1
	[ "$(stat -c '%a %U' "$root/run/kiln")" = "700 root" ]
}

contrib_deb_examples() {
	local f missing=()
	for f in contrib/docker/daemon.json contrib/containerd/config.toml contrib/crio/50-kiln.conf \
		contrib/podman/containers.conf contrib/km/km.json; do
		grep -qx "$f" debian/kiln.examples || missing+=("$f")
	done
	[ ${#missing[@]} = 0 ] || { echo "not in debian/kiln.examples: ${missing[*]}"; return 1; }
}

test_contrib() {
	local t why rc
	for t in "docker daemon.json: runtimes kiln, kiln-km, kiln-km-label:contrib_docker" \
		"containerd accepts contrib/containerd/config.toml (config dump), runc v2 shim + BinaryName:contrib_containerd" \
		"CRI-O drop-in: handlers with allowed_annotations for the KM triggers:contrib_crio" \
		"podman runs --runtime kiln by name from contrib/podman/containers.conf:contrib_podman" \
		"systemd-tmpfiles creates /run/kiln 0700 from contrib/tmpfiles.d/kiln.conf:contrib_tmpfiles" \
		"the package ships every engine configuration as an example:contrib_deb_examples"; do
		why=$("${t##*:}" 2>&1)
		rc=$?
		case $rc in
		0) ok "${t%:*}" ;;
		2) skip "${t%:*}" "$why" ;;
		*) fail "${t%:*}" "$(tail -n 3 <<<"$why" | tr '\n' ' ')" ;;
		esac
	done
}
