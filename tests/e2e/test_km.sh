# shellcheck shell=bash
# The Kontain KM payload handler (src/handlers/km.cpp) with the stand-in
# monitor tests/km/fake-km.c (no /dev/kvm needed): a mknod'ed char device
# 10:232 under the test dir is named in the km config and appears in the
# container as /dev/kvm. kiln only (runc has no KM handler).

# km_setup: $TD/km.json (config, extra JSON members in KM_EXTRA), the stand-in
# km, the device, $TD/kiln-km and $TD/kiln-km-label links, a private rootfs
# $TD/rootfs (with /opt, /sbin/docker-init); exports C_ROOTFS, C_ENV.
km_setup() {
	[ "$RT_NAME" = kiln ] || skip "KM handler is kiln's"
	FAKE_KM=${FAKE_KM:-$(dirname "$KILN")/tests/fake-km}
	[ -x "$FAKE_KM" ] || skip "no stand-in km at $FAKE_KM (build with tests on)"
	mkdir -p "$TD/kmbin" "$TD/kdev"
	cp "$FAKE_KM" "$TD/kmbin/km"
	mknod "$TD/kdev/kvm" c 10 232 || skip "cannot mknod"
	ln -sf "$KILN" "$TD/kiln-km"
	ln -sf "$KILN" "$TD/kiln-km-label"
	km_config "${KM_EXTRA:-}"
	make_rootfs "$TD/rootfs"
	mkdir -p "$TD/rootfs/opt/other"
	printf '#!/bin/sh\n[ "$1" = -- ] && shift\nexec "$@"\n' >"$TD/rootfs/sbin/docker-init"
	chmod 755 "$TD/rootfs/sbin/docker-init"
	C_ROOTFS=$TD/rootfs
	C_ENV='"FAKE_KM_LOG=/mnt/km.log","FAKE_KM_EXPECT=10:232"'
}
# km_config [JSON-MEMBERS]: rewrite $TD/km.json
km_config() { printf '{"km": "%s", "devices": ["%s"]%s}\n' "$TD/kmbin/km" "$TD/kdev/kvm" "${1:+, $1}" >"$TD/km.json"; }
# kmrt NAME ARGS...: the runtime invoked as NAME (kiln-km, kiln-km-label, or kiln) with our config
kmrt() {
	local n=$1
	shift
	if [ "$n" = kiln ]; then rt --km-config "$TD/km.json" "$@"; else timeout -k 5 "$E2E_CMD_TIMEOUT" "$TD/$n" --root "$ROOT" --km-config "$TD/km.json" "$@"; fi
}
# km_log BUNDLE: what the stand-in km recorded ("" when it did not run)
km_log() { cat "$1/share/km.log" 2>/dev/null; }
expect_km_ran() { [[ $(km_log "$1") == *"argv[0]=/opt/kontain/bin/km"* ]] || fail "$(ctx "km did not run for ${2:-$LAST_CMD}")"; }
expect_no_km() { [ -z "$(km_log "$1")" ] || fail "km ran for ${2:-$LAST_CMD}: $(km_log "$1" | head -3)"; }

test_km_trigger_invocation_name() {
	km_setup
	local id b
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok "run as kiln-km"
	expect_out_eq hi
	expect_km_ran "$b"
	[[ $(km_log "$b") == *$'argv[1]=/bin/echo\nargv[2]=hi'* ]] || fail "km argv: $(km_log "$b")"
	# the same binary under its own name: plain execve
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln run --bundle "$b" "$id"
	expect_ok
	expect_no_km "$b"
}

test_km_trigger_flag() {
	km_setup
	local id b
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap rt --km --km-config "$TD/km.json" run --bundle "$b" "$id"
	expect_ok "run --km"
	expect_km_ran "$b"
}

test_km_trigger_annotation() {
	km_setup
	local id b
	id=$(new_id)
	b=$(C_ANNOT='{"run.oci.handler": "km"}' mkb "$id" echo hi)
	cap kmrt kiln run --bundle "$b" "$id"
	expect_ok "run.oci.handler=km"
	expect_km_ran "$b"
}

test_km_trigger_label_mode() {
	km_setup
	local id b
	id=$(new_id)
	b=$(C_ANNOT='{"app.kontain.version": "1"}' mkb "$id" echo hi)
	cap kmrt kiln-km-label run --bundle "$b" "$id"
	expect_ok "kiln-km-label with the label"
	expect_km_ran "$b"
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km-label run --bundle "$b" "$id"
	expect_ok "kiln-km-label without the label"
	expect_no_km "$b"
	# the label alone, without label mode, is no trigger
	id=$(new_id)
	b=$(C_ANNOT='{"app.kontain.version": "1"}' mkb "$id" echo hi)
	cap kmrt kiln run --bundle "$b" "$id"
	expect_ok
	expect_no_km "$b" "plain kiln with the label"
}

# krun's second label trigger: /.kontain in the image (label mode only),
# also with a root.path relative to the bundle.
test_km_trigger_kontain_marker() {
	km_setup
	local id b
	touch "$TD/rootfs/.kontain"
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km-label run --bundle "$b" "$id"
	expect_ok "kiln-km-label, image with /.kontain"
	expect_out_eq hi
	expect_km_ran "$b" "kiln-km-label with the /.kontain marker"
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	ln -s "$TD/rootfs" "$b/rootfs"
	jedit "$b" "c['root']['path'] = 'rootfs'"
	cap kmrt kiln-km-label run --bundle "$b" "$id"
	expect_ok "kiln-km-label, relative root.path"
	expect_km_ran "$b" "the marker in a rootfs relative to the bundle"
	# the marker alone, without label mode, is no trigger
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln run --bundle "$b" "$id"
	expect_ok
	expect_no_km "$b" "plain kiln, image with /.kontain"
	rm "$TD/rootfs/.kontain"
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km-label run --bundle "$b" "$id"
	expect_ok
	expect_no_km "$b" "kiln-km-label, neither label nor marker"
}

test_km_trigger_config_file() {
	KM_EXTRA='"all_containers": true' km_setup
	local id b
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln run --bundle "$b" "$id"
	expect_ok "all_containers in the config"
	expect_km_ran "$b"
	km_config '"all_containers": false'
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln run --bundle "$b" "$id"
	expect_ok
	expect_no_km "$b"
}

# A real sandbox container carries its engine's marks consistently: the
# type "sandbox" and, as sandbox id, its own container id (containerd's CRI,
# CRI-O). Such a container never runs under km.
test_km_sandbox_excluded() {
	km_setup
	local id b a
	for a in 'io.kubernetes.cri.container-type io.kubernetes.cri.sandbox-id' \
		'io.kubernetes.cri-o.ContainerType io.kubernetes.cri-o.SandboxID'; do
		id=$(new_id)
		b=$(C_ANNOT="{\"${a% *}\": \"sandbox\", \"${a#* }\": \"$id\", \"run.oci.handler\": \"km\"}" mkb "$id" echo hi)
		cap kmrt kiln-km run --bundle "$b" "$id"
		expect_ok "sandbox ${a% *}"
		expect_no_km "$b" "sandbox ${a% *}"
	done
	id=$(new_id)
	b=$(C_ANNOT='{"io.kubernetes.cri.container-type": "container"}' mkb "$id" echo hi)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok
	expect_km_ran "$b" "an app container of a pod"
}

# The attack: a container (its pod spec or image annotations) calls itself a
# sandbox to escape all_containers mode and run natively. Without the
# engine's matching sandbox id it still runs under km.
test_km_sandbox_claim_refused() {
	km_setup
	local id b a
	km_config '"all_containers": true'
	for a in '"io.kubernetes.cri.container-type": "sandbox"' \
		'"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "some-pod-sandbox"' \
		'"io.kubernetes.cri-o.ContainerType": "sandbox"'; do
		id=$(new_id)
		b=$(C_ANNOT="{$a}" mkb "$id" echo hi)
		cap kmrt kiln run --bundle "$b" "$id"
		expect_ok "claimed sandbox {$a}"
		expect_km_ran "$b" "a container claiming {$a}"
	done
}

test_km_readonly_bind_and_clean_image() {
	km_setup
	local id b
	rm -rf "$TD/rootfs/opt"
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'echo x >/opt/kontain/bin/km && echo WROTE; grep " /opt/kontain/bin/km " /proc/self/mountinfo; /opt/kontain/bin/km --version; touch /opt/new && echo TOUCHED')
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok
	[[ $OUT != *WROTE* ]] || fail "km is writable in the container"
	expect_out_has " ro,"
	expect_out_has "Kontain Monitor version"
	expect_out_has TOUCHED
	cmp -s "$TD/kmbin/km" "$FAKE_KM" || fail "the host's km was changed"
	# no km file, no kontain dir in the image; only the empty mount point /opt
	[ -z "$(ls -A "$TD/rootfs/opt")" ] || fail "image dirtied: $(ls -AR "$TD/rootfs/opt")"
	# an image with /opt: its content stays visible, nothing is added to it
	mkdir -p "$TD/rootfs/opt/app" && echo data >"$TD/rootfs/opt/app/f"
	id=$(new_id)
	b=$(mkb "$id" sh -c 'cat /opt/app/f; ls /opt/kontain/bin')
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok
	expect_out_eq $'data\nkm'
	expect_eq "$(ls -A "$TD/rootfs/opt")" app "image /opt after the run"
}

test_km_device_in_container() {
	km_setup
	local id b
	id=$(new_id)
	# the config's deny-all device rule: the stand-in km's open() of
	# /dev/kvm needs the rwm rule kiln adds (EPERM otherwise)
	b=$(mkb "$id" sh -c 'stat -c "%F %t:%T" /dev/kvm')
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok
	expect_out_eq "character special file a:e8"
	[[ $(km_log "$b") == *"device=/dev/kvm 10:232"* ]] || fail "km saw: $(km_log "$b")"
	# in a user namespace: bound from the host instead of mknod
	id=$(new_id)
	b=$(C_NS="$DEFAULT_NS"',{"type":"user"}' mkb "$id" sh -c 'stat -c "%F %t:%T" /dev/kvm')
	sed -i 's|"namespaces"|"uidMappings": [{"containerID": 0, "hostID": 0, "size": 65536}], "gidMappings": [{"containerID": 0, "hostID": 0, "size": 65536}], "namespaces"|' "$b/config.json"
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok "user namespace"
	expect_out_eq "character special file a:e8"
	# no device on the host: a clear error, nothing left behind
	km_config && sed -i "s|$TD/kdev/kvm|$TD/kdev/none|" "$TD/km.json"
	id=$(new_id)
	b=$(mkb "$id" true)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_rc 1
	expect_err_has "no virtualization device on this host (looked for $TD/kdev/none)"
	assert_clean "$id"
}

test_km_argv_rewrite() {
	km_setup
	local id b
	# PATH lookup in the container
	id=$(new_id)
	b=$(mkb "$id" echo one)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_out_eq one
	[[ $(km_log "$b") == *$'argv[1]=/bin/echo\nargv[2]=one'* ]] || fail "PATH lookup: $(km_log "$b")"
	# relative to the cwd
	id=$(new_id)
	b=$(C_CWD=/bin mkb "$id" ./echo two)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_out_eq two
	[[ $(km_log "$b") == *$'argv[1]=/bin/echo\nargv[2]=two'* ]] || fail "cwd-relative: $(km_log "$b")"
	# already km: left alone
	id=$(new_id)
	b=$(mkb "$id" /opt/kontain/bin/km /bin/echo three)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_out_eq three
	[[ $(km_log "$b") == *$'argv[0]=/opt/kontain/bin/km\nargv[1]=/bin/echo\nargv[2]=three'* ]] || fail "km entrypoint: $(km_log "$b")"
	[ "$(grep -c '^argv\[0\]' "$b/share/km.log")" = 1 ] || fail "km wrapped twice"
	# docker --init: the shim under km, its child not wrapped again
	id=$(new_id)
	b=$(mkb "$id" /sbin/docker-init -- /opt/kontain/bin/km /bin/echo four)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_out_eq four
	[[ $(km_log "$b") == *$'argv[1]=/sbin/docker-init\nargv[2]=--\nargv[3]=/bin/echo\nargv[4]=four'* ]] || fail "init shim: $(km_log "$b")"
	# a payload that does not exist: runc's error, before km
	id=$(new_id)
	b=$(mkb "$id" nosuchprog)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_rc 1
	expect_err_has 'nosuchprog'
	expect_err_has 'executable file not found in $PATH'
}

test_km_env_scrub() {
	km_setup
	local id b
	id=$(new_id)
	b=$(C_ENV="$C_ENV"',"KM_EXEC_VMFDS=3","KM_VERBOSE=.*","KM_LOGTO=/tmp/x","KM_MGTDIR=/d","SNAP_LISTEN_TIMEOUT=1","KM_OTHER=kept"' mkb "$id" env)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok
	expect_out_has KM_OTHER=kept
	[[ $OUT != *KM_EXEC_* && $OUT != *KM_VERBOSE* && $OUT != *KM_LOGTO* && $OUT != *KM_MGTDIR* && $OUT != *SNAP_LISTEN* ]] || fail "km control variables reached the payload: $OUT"
	[[ $(km_log "$b") != *env=KM_EXEC_* ]] || fail "km got KM_EXEC_*"
	# allowed by the config
	km_config '"allow_env": ["KM_VERBOSE"]'
	id=$(new_id)
	b=$(C_ENV="$C_ENV"',"KM_VERBOSE=.*","KM_EXEC_VERS=1"' mkb "$id" env)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_out_has "KM_VERBOSE=.*"
	[[ $OUT != *KM_EXEC_VERS* ]] || fail "KM_EXEC_VERS not scrubbed"
	# exec: --env and the config's env
	id=$(new_id)
	b=$(C_ENV="$C_ENV"',"KM_LOGTO=/cfg"' mkb "$id" sleep 60)
	cap kmrt kiln-km run -d --bundle "$b" "$id"
	expect_ok
	cap kmrt kiln-km exec --env KM_EXEC_GUESTFDS=9 --env KM_MGTPIPE=/p "$id" env
	expect_ok "exec env"
	[[ $OUT != *KM_EXEC_GUESTFDS* && $OUT != *KM_MGTPIPE* && $OUT != *KM_LOGTO* ]] || fail "exec passed km control variables: $OUT"
}

# km_exec_ctr: a running km container ($id, bundle $b) that sleeps
km_exec_ctr() {
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap kmrt kiln-km create --bundle "$b" "$id"
	expect_ok "create"
	cap kmrt kiln-km start "$id"
	expect_ok "start"
	wait_nonempty "$b/share/km.log"
	: >"$b/share/km.log"
}

test_km_exec_through_km() {
	km_setup
	local id b
	km_exec_ctr
	cap kmrt kiln exec "$id" echo via-km
	expect_ok "exec"
	expect_out_eq via-km
	[[ $(km_log "$b") == *$'argv[0]=/opt/kontain/bin/km\nargv[1]=/bin/echo\nargv[2]=via-km'* ]] || fail "exec not through km: $(km_log "$b")"
	# the handler follows the container (state), not the invocation name
	cap kmrt kiln-km-label exec "$id" true
	expect_ok
	[ "$(grep -c '^argv\[1\]=/bin/true' "$b/share/km.log")" = 1 ] || fail "exec as kiln-km-label: $(km_log "$b")"
}

test_km_exec_allowlist() {
	km_setup
	local id b sum
	sum=$(sha256sum "$TD/rootfs/bin/busybox" | cut -d' ' -f1)
	km_config '"exec_unlisted": "refuse", "native_exec": [{"match": "/bin/(ls|cat)", "path": "/bin/busybox", "sha256": "'"$sum"'"}]'
	km_exec_ctr
	# allowed: runs natively (km not involved)
	cap kmrt kiln exec "$id" cat /proc/1/cmdline
	expect_ok "allowlisted cat"
	expect_out_has sleep
	expect_no_km "$b" "allowlisted exec"
	# anchored: /bin/lsx or a prefix path does not match
	cap kmrt kiln exec "$id" echo hi
	expect_rc 255 "non-allowlisted exec"
	expect_err_has "exec of /bin/echo refused: not in the native_exec allowlist of $TD/km.json"
	expect_no_km "$b" "refused exec"
	# the km binary itself may always be exec'd
	cap kmrt kiln exec "$id" /opt/kontain/bin/km /bin/echo explicit
	expect_ok
	expect_out_eq explicit
	# a digest that does not match: refused
	km_config '"native_exec": [{"match": "/bin/cat", "path": "/bin/busybox", "sha256": "'"$(printf '0%.0s' {1..64})"'"}]'
	cap kmrt kiln exec "$id" cat /proc/1/cmdline
	expect_rc 255 "digest mismatch"
	expect_err_has "native exec of /bin/cat refused: /bin/busybox has sha256 $sum"
	# the allowlist comes from the host: one in the image means nothing
	mkdir -p "$TD/rootfs/var/lib/krun" && echo "/bin/echo:/bin/busybox:$sum" >"$TD/rootfs/var/lib/krun/config"
	km_config '"exec_unlisted": "refuse"'
	cap kmrt kiln exec "$id" echo hi
	expect_rc 255 "image allowlist ignored"
}

# krun's allowlist file (regex:path:sha256 lines, read on the host; path
# from "krun_config" here, /var/lib/krun/config by default) is a second
# source of native execs, after native_exec.
test_km_exec_krun_allowlist() {
	km_setup
	local id b sum
	sum=$(sha256sum "$TD/rootfs/bin/busybox" | cut -d' ' -f1)
	printf '# krun exec allowlist\n/bin/(ls|cat):/bin/busybox:%s\n' "$sum" >"$TD/krun-config"
	km_config '"exec_unlisted": "refuse", "krun_config": "'"$TD/krun-config"'"'
	km_exec_ctr
	cap kmrt kiln exec "$id" cat /proc/1/cmdline
	expect_ok "cat allowlisted by the krun file"
	expect_out_has sleep
	expect_no_km "$b" "exec allowlisted by the krun file"
	cap kmrt kiln exec "$id" echo hi
	expect_rc 255 "exec in neither allowlist"
	expect_err_has "exec of /bin/echo refused: not in the native_exec allowlist of $TD/km.json nor in $TD/krun-config"
	# native_exec comes first; the krun file still adds its own entries
	km_config '"exec_unlisted": "refuse", "krun_config": "'"$TD/krun-config"'", "native_exec": [{"match": "/bin/echo", "path": "/bin/busybox", "sha256": "'"$sum"'"}]'
	cap kmrt kiln exec "$id" echo both
	expect_ok "native_exec with the krun file"
	expect_out_eq both
	cap kmrt kiln exec "$id" ls /proc/1/cmdline
	expect_ok "krun entry next to native_exec"
	expect_no_km "$b"
	# the digest is checked as for native_exec
	printf '/bin/cat:/bin/busybox:%s\n' "$(printf '0%.0s' {1..64})" >"$TD/krun-config"
	cap kmrt kiln exec "$id" cat /proc/1/cmdline
	expect_rc 255 "krun entry with another digest"
	expect_err_has "native exec of /bin/cat refused: /bin/busybox has sha256 $sum, the allowlist in"
	# a line that is not regex:path:sha256 is an error naming file and line
	printf '# c\n/bin/cat:/bin/busybox\n' >"$TD/krun-config"
	cap kmrt kiln exec "$id" cat /proc/1/cmdline
	expect_rc 255 "malformed krun file"
	expect_err_has "krun allowlist $TD/krun-config:2: want regex:path:sha256"
	# no file: nothing added, unlisted execs go the configured way
	rm "$TD/krun-config"
	cap kmrt kiln exec "$id" cat /proc/1/cmdline
	expect_rc 255 "no krun file"
	expect_err_has "refused: not in the native_exec allowlist of $TD/km.json, and"
	expect_no_km "$b"
}

# The attack: the container moves /opt/kontain away and plants its own
# "km" there; every later `exec` must still run the host's km (opened and
# checked on the host, exec'd through its fd), never the planted file, which
# would run natively, as root, outside the VM.
test_km_exec_planted_km() {
	km_setup
	local id b
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'mv /opt/kontain /opt/moved && mkdir -p /opt/kontain/bin &&
		printf "#!/bin/sh\necho PLANTED >>/mnt/planted\nexec \"\$@\"\n" >/opt/kontain/bin/km &&
		chmod 755 /opt/kontain/bin/km && touch /mnt/ready; exec sleep 60')
	cap kmrt kiln-km run -d --bundle "$b" "$id"
	expect_ok "run -d"
	wait_file "$b/share/ready"
	: >"$b/share/km.log"
	cap kmrt kiln exec "$id" echo via-km
	expect_ok "exec after the plant"
	expect_out_eq via-km
	[ ! -e "$b/share/planted" ] || fail "exec ran the km planted in the container: $(cat "$b/share/planted")"
	expect_km_ran "$b" "exec after the plant"
	cap kmrt kiln exec "$id" /opt/kontain/bin/km /bin/echo explicit
	expect_ok "explicit km"
	[ ! -e "$b/share/planted" ] || fail "exec of /opt/kontain/bin/km ran the planted file"
	cap rt delete -f "$id"
}

# The attack on the allowlist: the container swaps the allowlisted tool
# between the good file and its own script while the host runs `exec`.
# What is hashed must be what runs (a sealed copy), so the script never runs.
test_km_native_exec_swap_race() {
	km_setup
	local id b sum i
	sum=$(sha256sum "$TD/rootfs/bin/busybox" | cut -d' ' -f1)
	km_config '"exec_unlisted": "refuse", "native_exec": [{"match": "/bin/tool", "path": "/bin/tool", "sha256": "'"$sum"'"}]'
	id=$(new_id)
	b=$(C_READONLY=false mkb "$id" sh -c 'mkdir -p /t && cp /bin/busybox /t/good &&
		printf "#!/bin/sh\necho EVIL-RAN\n" >/t/evil && chmod 755 /t/evil && cp /t/good /bin/tool && touch /mnt/ready &&
		while :; do ln -f /t/evil /t/n && mv -f /t/n /bin/tool; ln -f /t/good /t/n && mv -f /t/n /bin/tool; done')
	cap kmrt kiln-km run -d --bundle "$b" "$id"
	expect_ok "run -d"
	wait_file "$b/share/ready"
	local ran=0 refused=0
	for i in $(seq 40); do
		# busybox runs the applet its argv[0] names: "tool" is no applet,
		# so the good tool answers "applet not found"; the script says EVIL-RAN.
		cap kmrt kiln exec "$id" /bin/tool
		[[ $OUT$ERR != *EVIL-RAN* ]] || fail "the container's script ran as the allowlisted tool (round $i)"
		if [ "$RC" = 255 ]; then refused=$((refused + 1)); else ran=$((ran + 1)); fi
	done
	echo "native exec: $ran ran the checked file, $refused refused (digest mismatch)" >&2
	cap rt delete -f "$id"
}

test_km_sha256_check() {
	km_setup
	local id b sum
	km_config '"km_sha256": "'"$(printf 'a%.0s' {1..64})"'"'
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_rc 1 "km digest mismatch"
	expect_err_has "km $TD/kmbin/km has sha256 $(sha256sum "$TD/kmbin/km" | cut -d' ' -f1), but km_sha256 in $TD/km.json is aaaa"
	assert_clean "$id"
	expect_no_km "$b"
	km_config '"km_sha256": "'"$(sha256sum "$TD/kmbin/km" | cut -d' ' -f1)"'"'
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_ok "matching digest"
	expect_km_ran "$b"
	# a bad config is a clear error naming the field
	km_config '"exec_unlisted": "sometimes"'
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km run --bundle "$b" "$id"
	expect_rc 1
	expect_err_has "km config $TD/km.json: exec_unlisted"
	assert_clean "$id"
}

test_km_state_features_version() {
	km_setup
	local id b
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap kmrt kiln-km create --bundle "$b" "$id"
	expect_ok
	cap kmrt kiln state "$id"
	expect_out_has '"run.oci.handler": "km"'
	expect_no_km "$b" "created, not started"
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap kmrt kiln create --bundle "$b" "$id"
	cap kmrt kiln state "$id"
	[[ $OUT != *run.oci.handler* ]] || fail "plain container has the handler annotation"
	cap rt features
	expect_out_has '"io.kiln.handlers": "default,km"'
	cap kmrt kiln-km --version
	expect_out_has "handlers: default, km (this invocation: km)"
}

# 200 create/start rounds in two tests of 100 (each must fit E2E_TEST_TIMEOUT
# on a loaded machine: ~0.5 s a round seen with load average 15 on 2 cores).
km_race() {
	km_setup
	cap env KILN="$KILN" FAKE_KM="$FAKE_KM" "$E2E_DIR/../km/race.sh" "${KM_RACE_N:-100}"
	expect_ok "race.sh"
	expect_out_has "rounds ok"
}
test_km_create_start_race() { km_race; }
test_km_create_start_race_again() { km_race; }

test_km_preload_race() {
	# stretch: create runs km --wait-for-signal, start releases it by SIGUSR1
	km_setup
	cap env KILN="$KILN" FAKE_KM="$FAKE_KM" KM_PRELOAD=1 "$E2E_DIR/../km/race.sh" "${KM_RACE_N:-50}"
	expect_ok "race.sh (preload)"
	expect_out_has "rounds (preload) ok"
	local id b
	km_config '"preload": true'
	id=$(new_id)
	b=$(mkb "$id" echo hi)
	cap kmrt kiln-km create --bundle "$b" "$id"
	expect_ok
	[[ $(km_log "$b") == *$'argv[1]=--wait-for-signal\nargv[2]=/bin/echo'* ]] || fail "preload argv: $(km_log "$b")"
	expect_eq "$(status_of "$id")" created "status after a preload create"
	cap kmrt kiln start "$id"
	expect_ok
	wait_status "$id" stopped
}
