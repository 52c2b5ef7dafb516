#!/usr/bin/env bash
# bench/variants.sh - build kiln several ways and benchmark the builds against each other.
#
#   sudo bench/variants.sh [-d DIR] NAME='MESON OPTIONS' ... [-- BENCH OPTIONS]
#   e.g. sudo bench/variants.sh base='' lto='-Db_lto=true' os='-Doptimization=s' \
#            -- --phases main,counts -t 120
#
# Each NAME is configured with `meson setup DIR/NAME -Dtests=false OPTIONS` from
# this checkout (kept between calls: an existing DIR/NAME/kiln is reused) and
# only the kiln target is built; then bench/run.sh runs all of them interleaved
# as NAME=DIR/NAME/kiln. DIR defaults to /tmp/kiln-variants.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
DIR=/tmp/kiln-variants
if [ "${1:-}" = -d ]; then DIR=$2; shift 2; fi
runtimes=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	name=${1%%=*} opts=${1#*=}
	[[ $1 == *=* && -n $name ]] || { echo "variants: want NAME='MESON OPTIONS', got $1" >&2; exit 2; }
	shift
	out=$DIR/$name
	if [ ! -x "$out/kiln" ]; then
		echo "# building $name: $opts" >&2
		# shellcheck disable=SC2086
		meson setup "$out" "$REPO" -Dtests=false $opts >"$out.log" 2>&1 ||
			{ echo "variants: meson setup failed for $name (see $out.log)" >&2; exit 1; }
		ninja -C "$out" kiln >>"$out.log" 2>&1 || { echo "variants: build failed for $name (see $out.log)" >&2; exit 1; }
	fi
	echo "# $name: $(stat -c %s "$out/kiln") bytes, $(size "$out/kiln" | awk 'NR == 2 { print $4 }') text+data+bss" >&2
	runtimes+=("$name=$out/kiln")
done
[ "${1:-}" = -- ] && shift
[ ${#runtimes[@]} -gt 0 ] || { sed -n '2,/^set/{/^#/p}' "$0"; exit 2; }
exec "$HERE/run.sh" "$@" "${runtimes[@]}"
