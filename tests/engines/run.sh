#!/usr/bin/env bash
# tests/engines/run.sh - kiln under real engines, each a private instance
# from Debian's packages, the same scenarios with runc as the reference:
#   docker      tests/engines/docker.sh      (dockerd, kiln-km runtime too)
#   podman      tests/engines/podman.sh      (podman + conmon + catatonit,
#                                             podman kube play)
#   containerd  tests/engines/containerd.sh  (ctr, runc v2 shim)
#   cri         tests/cri/run.sh             (containerd's CRI plugin driven
#                                             by tests/cri/cri_client.py)
#   workloads   tests/engines/workloads.sh   (job containers, an HTTP service,
#                                             a build step; numbers for kiln,
#                                             runc and crun)
# Installs what they need (apt-get; KILN_SKIP_DEPS=1: not), runs them one
# after the other, prints the table of scenarios (kiln/runc per engine) and
# the workload numbers, and ends with "N passed, N failed" (the suites'
# sums; a suite that cannot start counts as one failure). Root only.
#
#   KILN=build/kiln tests/engines/run.sh [SUITE...]
# Environment:
#   KILN                 the kiln binary (default build/kiln); FAKE_KM the
#                        stand-in km (default next to it: tests/fake-km)
#   ENG_TASKS=100        tasks in the workloads' job scenarios
#   ENG_ONLY="a b"       only these scenarios; ENG_TIMEOUT=60 per scenario
#   ENG_SUITE_TIMEOUT=900  per suite
#   ENG_CACHE=/var/cache/kiln-engines  image tarballs, built once
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO" || exit 2
: "${KILN:=$REPO/${KILN_BUILD_DIR:-build}/kiln}"
export KILN
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(docker podman containerd cri workloads)
PKGS="docker.io tini podman conmon catatonit containerd runc crun busybox-static python3 python3-grpcio
 python3-grpc-tools iproute2 util-linux bsdutils"

if [ "$(id -u)" != 0 ]; then
	echo "engines: must run as root"
	echo "0 passed, 1 failed"
	exit 1
fi

# need_pkgs PKG...: apt-get install the missing ones. Their maintainer
# scripts must not start system-wide dockerd/containerd on the default
# sockets: a policy-rc.d refusing service starts is in place meanwhile
# (only when there is none).
need_pkgs() {
	local missing=() p rc=0 policy=/usr/sbin/policy-rc.d own=0
	for p in "$@"; do
		dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "# engines: apt-get install ${missing[*]}"
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# kiln tests/engines/run.sh: no service starts while it installs\nexit 101\n' >"$policy" &&
			chmod +x "$policy" && own=1
	fi
	local apt=(apt-get -q -y -o DPkg::Lock::Timeout=900 --no-install-recommends)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >/tmp/kiln-engines-apt.log 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>/tmp/kiln-engines-apt.log 2>&1 &&
			DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >>/tmp/kiln-engines-apt.log 2>&1; } || rc=1
	[ $own = 1 ] && rm -f "$policy"
	[ $rc = 0 ] || { echo "# engines: apt-get failed:"; tail -n 15 /tmp/kiln-engines-apt.log; }
	rm -f /tmp/kiln-engines-apt.log
	return $rc
}
if [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
	# shellcheck disable=SC2086
	need_pkgs $PKGS || echo "# engines: some packages are missing; the suites that need them fail"
fi

WORK=$(mktemp -d /tmp/kiln-engines-run.XXXXXX) || exit 2
trap 'rm -rf "$WORK"' EXIT
export ENG_RESULTS=$WORK/results ENG_METRICS=$WORK/metrics
: >"$ENG_RESULTS"
: >"$ENG_METRICS"
script_of() {
	case $1 in
	cri) echo "$REPO/tests/cri/run.sh" ;;
	*) echo "$HERE/$1.sh" ;;
	esac
}

passed=0 failed=0 timing=()
for s in "${SUITES[@]}"; do
	f=$(script_of "$s")
	[ -f "$f" ] || { echo "engines: no suite $s"; failed=$((failed + 1)); continue; }
	printf '\n--- engines: %s (%s)\n' "$s" "${f#"$REPO"/}"
	t0=$SECONDS
	timeout -k 30 "${ENG_SUITE_TIMEOUT:-900}" bash "$f" 2>&1 | tee "$WORK/$s.log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/$s.log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*} x=${line#*passed, }
		x=${x%% failed}
	else
		echo "engines: $s did not finish"
		p=0 x=1
	fi
	passed=$((passed + p)) failed=$((failed + x))
	timing+=("$s $((SECONDS - t0))s: $p passed, $x failed")
done

# ------------------------------------------------------------- the table ---
printf '\n--- engines: summary\n'
if [ -s "$ENG_RESULTS" ]; then
	engines=$(cut -d'|' -f1 "$ENG_RESULTS" | awk '!seen[$0]++' | tr '\n' ' ')
	printf '# %-26s' "scenario (kiln/runc)"
	for e in $engines; do printf ' %-12s' "$e"; done
	echo
	cut -d'|' -f2 "$ENG_RESULTS" | awk '!seen[$0]++' | while read -r sc; do
		printf '# %-26s' "$sc"
		for e in $engines; do
			printf ' %-12s' "$(awk -F'|' -v e="$e" -v s="$sc" '$1 == e && $2 == s { v = ($5 == "N/A") ? "n/a" : $3 "/" $4; if ($5 == "ENV") v = v "(env)" } END { print (v == "" ? "-" : v) }' "$ENG_RESULTS")"
		done
		echo
	done
fi
if [ -s "$ENG_METRICS" ]; then
	# shellcheck source=tests/engines/lib.sh
	(. "$HERE/lib.sh" && eng_metrics_table "$ENG_METRICS")
fi
for t in "${timing[@]}"; do echo "# $t"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
