# shellcheck shell=bash
# Command-line surface: version, help, usage errors, spec, features.

test_version() {
	local first
	for flag in --version -v; do
		cap "$KILN" $flag
		expect_ok "$flag"
		first=$(head -n1 <<<"$OUT")
		case "$RT_NAME" in
		# go-runc's parseVersion needs "runc version X" on line 1; kiln says kiln.
		runc) [[ $first =~ ^runc\ version\ [0-9] ]] || fail "$flag first line: $first" ;;
		*) [[ $first =~ ^kiln\ version\ [0-9] ]] || fail "$flag first line: $first (want 'kiln version X')" ;;
		esac
		grep -q '^spec: [0-9]' <<<"$OUT" || fail "$flag: no 'spec: <version>' line: $OUT"
		grep -q '^commit: ' <<<"$OUT" || fail "$flag: no 'commit: ' line: $OUT"
	done
}

test_help() {
	local flag c
	for flag in --help -h help; do
		cap "$KILN" $flag
		expect_ok "$flag"
		for c in create start run delete kill state list spec; do
			grep -qE "^ +$c( |,)" <<<"$OUT" || fail "$flag: command $c not listed"
		done
		expect_out_has "--root" "$flag"
	done
}

test_unknown_command() {
	cap "$KILN" --root "$ROOT" frobnicate
	expect_rc 3 "unknown command"
	expect_msg "frobnicate"
}

test_unknown_global_flag() {
	cap "$KILN" --bogus-flag list
	expect_rc 1 "unknown global flag"
	expect_msg "flag provided but not defined: -bogus-flag"
}

test_wrong_arg_count() {
	local a
	for a in "start" "state a b" "delete" "create" "run" "kill" "kill a SIGTERM extra"; do
		# shellcheck disable=SC2086
		cap rt $a
		expect_rc 1 "$a"
		expect_out_has "Incorrect Usage." "$a"
		expect_err_has "requires" "$a"
	done
	cap rt list extra
	expect_rc 1 "list extra"
	expect_out_has "Incorrect Usage." "list extra"
}

test_single_dash_long_options() {
	local id b
	cap "$KILN" -debug -root "$ROOT" list -format json
	expect_ok "-debug -root R list -format json"
	cap "$KILN" -root="$ROOT" list -quiet
	expect_ok "-root=R list -quiet"
	# a real lifecycle with single-dash options
	id=$(new_id)
	b=$(mkb "$id" sleep 30)
	cap "$KILN" -root "$ROOT" run -detach -bundle "$b" "$id"
	expect_ok "run -detach -bundle"
	[ "$(status_of "$id")" = running ] || fail "not running after run -detach"
	cap "$KILN" -root "$ROOT" delete -force "$id"
	expect_ok "delete -force"
	assert_clean "$id"
}

test_spec() {
	local d=$TD/spec
	mkdir -p "$d"
	cap sh -c "cd '$d' && exec timeout 10 '$KILN' spec"
	expect_ok "spec"
	[ -s "$d/config.json" ] || fail "spec wrote no config.json"
	grep -q '"ociVersion"' "$d/config.json" || fail "config.json has no ociVersion"
	grep -q '"terminal": true' "$d/config.json" || fail "default spec should have terminal true"
	grep -q '"path": "rootfs"' "$d/config.json" || fail "default spec root.path should be rootfs"
	if command -v jq >/dev/null; then jq . "$d/config.json" >/dev/null || fail "spec output is not JSON"; fi
	local sum
	sum=$(sha256sum <"$d/config.json")
	cap sh -c "cd '$d' && exec timeout 10 '$KILN' spec"
	expect_rc 1 "second spec must refuse to overwrite"
	expect_msg "File config.json exists. Remove it first"
	[ "$(sha256sum <"$d/config.json")" = "$sum" ] || fail "second spec modified config.json"
	# --bundle DIR writes there
	mkdir -p "$TD/spec2"
	cap "$KILN" spec --bundle "$TD/spec2"
	expect_ok "spec --bundle"
	[ -s "$TD/spec2/config.json" ] || fail "spec --bundle wrote nothing"
}

test_spec_rootless() {
	local d=$TD/spec
	mkdir -p "$d"
	cap "$KILN" spec --rootless --bundle "$d"
	expect_ok "spec --rootless"
	local c
	c=$(tr -d ' \t\n' <"$d/config.json")
	[[ $c == *'"type":"user"'* ]] || fail "rootless spec has no user namespace"
	[[ $c == *'"uidMappings":'* ]] || fail "rootless spec has no uidMappings"
	[[ $c == *'"gidMappings":'* ]] || fail "rootless spec has no gidMappings"
	[[ $c != *'"type":"network"'* ]] || fail "rootless spec should not have a network namespace"
	[[ $c == *'"hostID":0'* ]] || fail "rootless spec maps hostID $(id -u)? want our uid 0: $c"
}

# The config `spec` writes really works once terminal is off and a rootfs exists.
test_spec_config_runs() {
	local id b
	id=$(new_id)
	b=$TD/b-$id
	mkdir -p "$b"
	cap "$KILN" spec --bundle "$b"
	expect_ok "spec"
	make_rootfs "$b/rootfs"
	# no jq: edit the pretty-printed JSON with sed (one-line or multi-line args)
	sed -i -e 's/"terminal": *true/"terminal": false/' \
		-e 's/"args": *\[ *"sh" *\]/"args": ["sh", "-c", "echo spec-ok; hostname"]/' \
		-e '/"args": *\[$/,/\]/{s/"sh"$/"sh", "-c", "echo spec-ok; hostname"/}' "$b/config.json"
	grep -q '"terminal": *false' "$b/config.json" || fail "could not edit terminal in: $(cat "$b/config.json")"
	cap rt run --bundle "$b" "$id"
	expect_ok "run with the spec-generated config"
	local h
	h=$(sed -n 's/^[[:space:]]*"hostname": *"\([^"]*\)".*/\1/p' "$b/config.json")
	expect_out_eq $'spec-ok\n'"$h" "spec config run output (hostname from the spec)"
}

test_features() {
	cap "$KILN" features
	expect_ok "features"
	[[ $OUT == "{"* ]] || fail "features output is not a JSON object: $(head -c 80 <<<"$OUT")"
	expect_out_has '"ociVersionMin"'
	expect_out_has '"ociVersionMax"'
	expect_out_has '"hooks"'
	expect_out_has '"mountOptions"'
	expect_out_has '"linux"'
	expect_out_has '"namespaces"'
	if command -v jq >/dev/null; then jq -e .ociVersionMin <<<"$OUT" >/dev/null || fail "features is not valid JSON"; fi
	# The runtime-spec 1.3 features schema (vendored, tests/data/runtime-spec-1.3.0).
	local verdict
	verdict=$(python3 "$E2E_DIR/../features-schema.py" <<<"$OUT" 2>&1) || fail "features does not match the runtime-spec schema: $verdict"
	if [ "$RT_NAME" = kiln ]; then
		python3 -c '
import json, sys
f = json.loads(sys.argv[1]); l = f["linux"]
assert f["ociVersionMax"] == "1.3.0", f["ociVersionMax"]
assert l["netDevices"]["enabled"] and l["mountExtensions"]["idmap"]["enabled"]
assert l["intelRdt"] == {"enabled": True, "schemata": True, "monitoring": True}, l["intelRdt"]
assert "MPOL_BIND" in l["memoryPolicy"]["modes"] and "MPOL_F_STATIC_NODES" in l["memoryPolicy"]["flags"]
assert f["potentiallyUnsafeConfigAnnotations"] == ["run.oci.handler", "bundle", "org.systemd.property.", "org.criu.config"]
' "$OUT" || fail "features lacks the runtime-spec 1.3 fields"
	fi
	cap "$KILN" features extra
	expect_rc 1 "features takes no argument"
}

test_default_root() {
	# runc keeps state in /run/runc, kiln in /run/kiln (when --root is absent).
	local id b dir=/run/$RT_NAME
	[ "$RT_NAME" = crun ] && skip "crun"
	id=$(new_id)
	note_default_root "$id"
	b=$(mkb "$id" sleep 30)
	cap rt_noroot run -d --bundle "$b" "$id"
	expect_ok "run -d without --root"
	[ -d "$dir/$id" ] || fail "no state dir $dir/$id"
	cap rt_noroot state "$id"
	expect_ok "state without --root"
	cap rt_noroot list -q
	expect_out_has "$id" "list without --root"
	cap rt_noroot delete -f "$id"
	expect_ok
	assert_clean "$id" "$dir"
}

test_error_prefix() {
	# create/run failures carry "<name> create failed:" / "<name> run failed:"
	local id b
	id=$(new_id)
	b=$(mkb "$id" /nonexistent-binary)
	cap rt create --bundle "$b" "$id"
	expect_rc 1
	expect_err_has "$RT_NAME create failed: "
	cap rt run --bundle "$b" "$id"
	expect_rc 1
	expect_err_has "$RT_NAME run failed: "
	cap rt create --bundle "$b" "bad/id"
	expect_rc 1
	expect_err_has "$RT_NAME create failed: invalid container ID format"
}

test_log_json() {
	# --log FILE --log-format json: every line JSON, last error's msg is the error;
	# the bare message is also on stderr.
	local log=$TD/log.json
	cap rt --log "$log" --log-format json state no-such-container
	expect_rc 1
	expect_err_has "container does not exist"
	[ -s "$log" ] || fail "nothing in --log file"
	grep -v '^{.*}$' "$log" && fail "non-JSON line in JSON log"
	tail -n1 "$log" | grep -q '^{"level":"error","msg":"container does not exist","time":"[0-9T:.Z-]*"}$' ||
		fail "last log line: $(tail -n1 "$log")"
	cap rt --log-format yaml list
	expect_rc 1 "invalid --log-format"
}

# --debug: runc's debug lines (level=debug) from the runtime and from the
# container's init (forwarded over the sync socket), to stderr or to --log.
test_debug_log() {
	local id b log=$TD/debug.json
	id=$(new_id)
	b=$(mkb "$id" echo hello)
	cap rt --debug run --bundle "$b" "$id"
	expect_ok "--debug run"
	expect_out_eq hello
	for m in "nsexec container setup" "child process in init()" "init: closing the pipe to signal completion"; do
		grep -F "level=debug" <<<"$ERR" | grep -qF "$m" || fail "--debug run: no debug line with '$m': $ERR"
	done
	cap rt run --bundle "$b" "$id"
	expect_ok
	[[ $ERR == *level=debug* ]] && fail "debug lines without --debug: $ERR"
	cap rt --debug --log "$log" --log-format json run --bundle "$b" "$id"
	expect_ok "--debug --log json run"
	[[ $ERR == *debug* ]] && fail "--log: debug lines on stderr: $ERR"
	grep -q '^{"level":"debug","msg":"child process in init()","time":"[0-9T:Z-]*"}$' "$log" ||
		fail "--log json: $(cat "$log")"
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok
	cap rt --debug exec "$id" true
	expect_ok "--debug exec"
	for m in "nsexec container setup" "child process in init()" "setns_init: about to exec"; do
		grep -qF "$m" <<<"$ERR" || fail "--debug exec: no debug line with '$m': $ERR"
	done
	cap rt delete -f "$id"
}

# Start-up every command pays (bench/PROFILE.md, phase 4): no linked libmnl
# (dlopen'ed for linux.netDevices only) and, with libstdc++ linked in, no
# std::ios_base::Init (CLI11's <iostream>), which built the stream objects
# and std::locale in every process.
test_startup_links() {
	[ "$RT_NAME" = kiln ] || skip "kiln's own link"
	command -v readelf >/dev/null || skip "no readelf"
	local needed
	needed=$(readelf -d "$KILN" | grep NEEDED)
	[[ $needed != *libmnl* ]] || fail "kiln links libmnl: $needed"
	if [[ $needed != *libstdc++* ]] && nm -C "$KILN" >/dev/null 2>&1; then
		! nm -C "$KILN" | grep -q 'std::ios_base::Init::Init' || fail "kiln has a static std::ios_base::Init"
	fi
}
