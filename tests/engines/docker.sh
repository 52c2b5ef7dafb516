#!/usr/bin/env bash
# tests/engines/docker.sh - kiln under a private dockerd, runc as reference.
#
# One dockerd (data-root, exec-root, pidfile, socket, cgroup parent of its
# own, no bridge, no iptables) knows the runtimes "kiln", "ref-runc" and
# "kiln-km" (kiln under its KM handler with the stand-in monitor). Each
# scenario runs with --runtime kiln, then with --runtime ref-runc; see lib.sh
# for the verdicts. The scenarios docker and podman share are in cli.sh;
# here: healthcheck (docker's health timer, exec probes) and km. Last line: "N passed, N failed". Root only.
#   KILN=build/kiln tests/engines/docker.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 2
eng_private_ns 0 "$@"
eng_init docker

eng_km_setup refuse
eng_dockerd_start "{\"kiln\": {\"path\": \"$KILN\"}, \"ref-runc\": {\"path\": \"$RUNC\"},
 \"kiln-km\": {\"path\": \"$KMDIR/kiln-km\", \"runtimeArgs\": [\"--km-config\", \"$KMDIR/km.json\"]}}"

IMG=kiln-eng ENGINE=docker ECLI=$DOCKER
export IMG ENGINE ECLI
engine_reset() {
	local ids
	ids=$(dk ps -aq)
	[ -z "$ids" ] || dk rm -f $ids
}
rtname() { case $RT in kiln) echo kiln ;; runc) echo ref-runc ;; esac; }
e() { dk "$@"; }
# erun ARGS...: docker run with the runtime under test, no network
erun() { dk run --runtime "$(rtname)" --network none "$@"; }
erun_cmd() { echo "$DOCKER run --runtime $(rtname) --network none"; }
. "$ENG_DIR/cli.sh"

s_healthcheck() {
	erun -d --name e-health --health-cmd 'test -e /tmp/ok' --health-interval 1s --health-retries 1 --health-timeout 5s \
		"$IMG" sh -c 'sleep 1.5; touch /tmp/ok; exec sleep 300' >/dev/null || fail "run failed"
	wait_for 20 eval '[ "$(st e-health Health.Status)" = healthy ]' || fail "never healthy: $(st e-health Health.Status)"
	dk exec e-health rm /tmp/ok || fail "exec rm failed"
	wait_for 20 eval '[ "$(st e-health Health.Status)" = unhealthy ]' || fail "never unhealthy: $(st e-health Health.Status)"
	local out
	out=$(dk inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{end}}' e-health)
	expect_has "probe exit codes" "$out" "0 "
	expect_has "probe exit codes" "$out" "1 "
}
s_km() {
	[ "$RT" = kiln ] || na "the KM handler is kiln's"
	local out rc log=$KMDIR/share/km.log
	local -a km=(--runtime kiln-km --network none -v "$KMDIR/share:/mnt" -e FAKE_KM_LOG=/mnt/km.log -e FAKE_KM_EXPECT=10:232)
	rm -f "$log"
	out=$(dk run --rm "${km[@]}" "$IMG" sh -c 'echo hello; ls /opt/kontain/bin' 2>&1) || fail "run under km failed: $out"
	expect_eq "output under km" "$out" $'hello\nkm'
	grep -qx 'argv\[1\]=/bin/sh' "$log" || fail "payload not under km: $(head -c 300 "$log")"
	rm -f "$log"
	out=$(dk run --rm --init "${km[@]}" "$IMG" echo via-init 2>&1)
	expect_eq "--init under km" "$out" via-init
	grep -qx 'argv\[1\]=/sbin/docker-init' "$log" && [ "$(grep -c '^argv\[0\]=' "$log")" = 1 ] ||
		fail "docker-init not under km exactly once: $(head -c 300 "$log")"
	dk run -d --name e-km "${km[@]}" "$IMG" sleep 300 >/dev/null || fail "run -d under km failed"
	out=$(dk exec e-km cat /etc/passwd 2>&1) || fail "allowlisted exec failed: $out"
	expect_has "allowlisted exec" "$out" root:x:0:0
	out=$(dk exec e-km echo hi 2>&1)
	rc=$?
	[ $rc != 0 ] || fail "exec of a non-allowlisted binary was not refused"
	expect_has "refusal" "$out" "exec of /bin/echo refused"
	rm -f "$log"
	out=$(erun --rm "$IMG" sh -c 'ls /opt 2>&1; echo rc=$?')
	expect_has "plain kiln container has no km" "$out" "rc=1"
}

eng_cli_scenarios
eng_scenario healthcheck
eng_scenario km
eng_summary
