#!/usr/bin/env bash
# tests/docs/run.sh - what a user gets besides the binary: the manual, the
# shell completions, contrib/, `meson install` and the Debian package.
#
#   tests/docs/run.sh [PART...]      PART: man completions contrib install deb
#                                    (default: all of them)
#
# Prints "ok NAME" or "FAIL NAME: why" per test, "skip NAME: why" for a test
# that cannot run here (not counted), and ends with "N passed, N failed".
# Needs a configured and built build directory (tests/run-all.sh makes one).
#
# Environment:
#   KILN_BUILD_DIR=build        the meson build directory
#   KILN=<build>/kiln           the binary whose command line is checked
#   KILN_SKIP_DEB=1             skip the Debian package part
#   KILN_SKIP_DEB_CHROOT=1      build and inspect the .deb, but do not install
#                               it in a fresh Debian 12 (mmdebstrap) chroot
#   KILN_DEB_CACHE=DIR          where built packages are kept, by a hash of
#                               the source files (default <build>/deb)
set -uo pipefail
DOCS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$DOCS/../.." && pwd)
cd "$REPO" || exit 2
BUILD=${KILN_BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
KILN=${KILN:-$BUILD/kiln}

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }
skip() { echo "skip $1: $2"; }
# check NAME COMMAND...: ok when COMMAND succeeds, else FAIL with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$(tail -n 5 <<<"$out" | tr '\n' ' ')"; fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kiln-docs.XXXXXX") || exit 2
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

if [ ! -x "$KILN" ]; then
	echo "FAIL setup: no kiln binary at $KILN (build first)"
	echo "0 passed, 1 failed"
	exit 1
fi

# The commands, from the binary itself.
mapfile -t COMMANDS < <(python3 - "$KILN" <<'EOF'
import sys
sys.path.insert(0, "tools")
import kiln_cli
for c in kiln_cli.load(sys.argv[1]).commands:
    print(c.name)
EOF
)

# shellcheck source=tests/docs/man.sh
. "$DOCS/man.sh"
# shellcheck source=tests/docs/completions.sh
. "$DOCS/completions.sh"
# shellcheck source=tests/docs/contrib.sh
. "$DOCS/contrib.sh"
# shellcheck source=tests/docs/install.sh
. "$DOCS/install.sh"
# shellcheck source=tests/docs/deb.sh
. "$DOCS/deb.sh"

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(man completions contrib install deb)
for p in "${parts[@]}"; do
	case $p in
	man | completions | contrib | install) "test_$p" ;;
	deb)
		if [ "${KILN_SKIP_DEB:-0}" = 1 ]; then
			skip deb "KILN_SKIP_DEB=1"
		else
			test_deb
		fi
		;;
	*) fail "$p" "unknown part (man completions contrib install deb)" ;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
