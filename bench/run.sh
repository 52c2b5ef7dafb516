#!/usr/bin/env bash
# bench/run.sh - kiln's benchmark (kiln against runc and crun, when installed).
#
#   sudo bench/run.sh                       # full run: ~10 min on 2 cores; markdown on stdout
#   sudo bench/run.sh -o /tmp/kb            # also writes /tmp/kb/results.md and raw.json
#   sudo bench/run.sh --smoke               # CI smoke: ~1 min, ends "bench: N passed, N failed"
#   sudo bench/run.sh -h                    # all options
#
# Installs what is missing with apt-get (gcc for the two C helpers, strace,
# busybox-static, python3), builds kiln (build/kiln) if it is not built, then
# runs bench/kbench.py in a private mount namespace (see bench/README.md).
# KILN_BUILD_DIR=build  build directory; KILN_SKIP_DEPS=1 installs nothing.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BUILD=${KILN_BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }

need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v strace >/dev/null || need+=(strace)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v unshare >/dev/null || need+=(util-linux)
if ! { [ -n "${BUSYBOX:-}" ] || { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; }; then
	need+=(busybox-static)
fi
if [ ${#need[@]} -gt 0 ] && [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
	echo "# apt-get install ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt=(apt-get -q -y -o DPkg::Lock::Timeout=900 --no-install-recommends)
	"${apt[@]}" install "${need[@]}" >/dev/null 2>&1 ||
		{ "${apt[@]}" update >/dev/null 2>&1 && "${apt[@]}" install "${need[@]}" >/dev/null; } ||
		echo "# warning: could not install ${need[*]}" >&2
fi
if [ ! -x "$BUILD/kiln" ]; then
	echo "# building kiln in $BUILD" >&2
	[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$REPO" >&2
	ninja -C "$BUILD" kiln >&2
fi
exec /usr/bin/python3 "$HERE/kbench.py" --kiln "$BUILD/kiln" "$@"
