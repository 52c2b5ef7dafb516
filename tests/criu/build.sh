#!/usr/bin/env bash
# tests/criu/build.sh - a CRIU that works on this kernel, for the checkpoint
# tests only (kiln never needs CRIU to build; it dlopen()s libcriu at
# `checkpoint`/`restore` time).
#
#   tests/criu/build.sh          # prints the install prefix (last stdout line)
#
# Debian 12's criu 3.17.1 fails on kernels >= 6.13 ("vdso: Unexpected rt vDSO
# area bounds") and cannot restore mount namespaces after the 6.16 mount
# propagation change. This fetches Debian's newer criu *source* (sid, then
# trixie) with a private apt configuration (deb-src lines only; nothing under
# /etc is touched; apt checks the tarball against the signed Sources index),
# builds the criu binary and libcriu with Debian 12's packaged build
# dependencies, and installs them under
#
#   $KILN_CRIU_CACHE/criu-<version>/{sbin/criu, lib/libcriu.so.2}
#
# once. A second run finds the cached build (and `criu check` passing) and
# returns at once. Build time on 2 cores: about 2-3 min.
#
# Environment:
#   KILN_CRIU_CACHE     cache directory (/var/cache/kiln-criu)
#   KILN_CRIU_VERSIONS  Debian versions to try, in order ("4.2.1-1 4.1.1-1";
#                       then the newest the suites have)
#   KILN_CRIU_SUITES    suites for the deb-src lines ("sid trixie")
#   KILN_SKIP_DEPS=1    do not apt-get the build dependencies
#   KILN_CRIU_JOBS      make -j (2)
set -uo pipefail
CACHE=${KILN_CRIU_CACHE:-/var/cache/kiln-criu}
VERSIONS=${KILN_CRIU_VERSIONS:-4.2.1-1 4.1.1-1}
SUITES=${KILN_CRIU_SUITES:-sid trixie}
JOBS=${KILN_CRIU_JOBS:-2}
BUILD_DEBS="build-essential pkgconf libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev
 libnl-3-dev libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler uuid-dev python3
 xz-utils libprotobuf-c1"

log() { printf 'criu-build: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# A usable cached build: criu and libcriu present and `criu check` passes.
cached() {
	local d
	for d in $(ls -d "$CACHE"/criu-*/ 2>/dev/null | sort -V -r); do
		d=${d%/}
		[ -f "$d/ok" ] && [ -x "$d/sbin/criu" ] && [ -e "$d/lib/libcriu.so.2" ] || continue
		"$d/sbin/criu" check >/dev/null 2>&1 || { log "cached $d: criu check fails here"; continue; }
		echo "$d"
		return 0
	done
	return 1
}

apt_deps() {
	local missing=() p
	for p in $BUILD_DEBS; do
		dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "${KILN_SKIP_DEPS:-0}" = 1 ] && die "missing build dependencies (KILN_SKIP_DEPS=1): ${missing[*]}"
	log "apt-get install ${missing[*]}"
	local apt=(apt-get -q -y -o DPkg::Lock::Timeout=900 --no-install-recommends)
	DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$WORK/apt.log" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${missing[@]}" >>"$WORK/apt.log" 2>&1; } ||
		{ tail -n 20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
}

# fetch_source: the orig tarball of one of $VERSIONS (or the newest) into $WORK.
fetch_source() {
	local uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg a=$WORK/apt suite v opts
	uri=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Origin: Debian' 2>/dev/null |
		grep -v -- '-security' | head -n1)
	[ -n "$uri" ] || uri=http://deb.debian.org/debian/
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/parts"
	: >"$a/sources.list"
	for suite in $SUITES; do
		if [ -r "$keyring" ]; then
			echo "deb-src [signed-by=$keyring] $uri $suite main" >>"$a/sources.list"
		else
			echo "deb-src $uri $suite main" >>"$a/sources.list"
		fi
	done
	opts=(-q -o "Dir::State::Lists=$a/lists" -o "Dir::Etc::SourceList=$a/sources.list"
		-o "Dir::Etc::SourceParts=$a/parts" -o "Dir::Cache=$a/cache" -o APT::Sandbox::User=root)
	log "apt-get update (private deb-src: $SUITES)"
	# Not fatal: one suite may fail (e.g. sid's InRelease "expired").
	apt-get "${opts[@]}" update >"$WORK/apt-src.log" 2>&1 || log "private apt-get update reported errors; trying what it got"
	for v in $VERSIONS ""; do
		log "apt-get source --download-only criu${v:+=$v}"
		# The .dsc or debian.tar may be gone from the mirror: the orig tarball
		# (hash-checked against the signed index) is all that is needed.
		(cd "$WORK" && apt-get "${opts[@]}" source --download-only "criu${v:+=$v}") >>"$WORK/apt-src.log" 2>&1 || true
		ORIG=$(ls -1 "$WORK"/criu_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | sort -V | tail -n1)
		[ -n "$ORIG" ] && return 0
	done
	tail -n 20 "$WORK/apt-src.log" >&2
	die "could not fetch the criu source from Debian ($SUITES)"
}

build() {
	local ver src dest tmp
	ver=$(basename "$ORIG" | sed -E 's/^criu_([^-]+)\.orig\.tar\..*/\1/')
	dest=$CACHE/criu-$ver
	log "building criu $ver (make -j$JOBS criu lib)"
	tar -C "$WORK" -xf "$ORIG" || die "cannot unpack $ORIG"
	src=$(ls -d "$WORK"/criu-*/ | head -n1)
	src=${src%/}
	# Only the binary and the C library: no docs (asciidoc), no plugins, no crit.
	if ! make -C "$src" -j"$JOBS" criu lib >"$WORK/make.log" 2>&1; then
		tail -n 30 "$WORK/make.log" >&2
		die "make failed (log: $WORK/make.log)"
	fi
	tmp=$(mktemp -d "$CACHE/.install.XXXXXX") || die "mktemp in $CACHE"
	chmod 755 "$tmp"
	mkdir -p "$tmp/sbin" "$tmp/lib" "$tmp/include/criu"
	install -m 0755 "$src/criu/criu" "$tmp/sbin/criu"
	install -m 0755 "$src/lib/c/libcriu.so" "$tmp/lib/libcriu.so.2"
	ln -sf libcriu.so.2 "$tmp/lib/libcriu.so"
	install -m 0644 "$src/lib/c/criu.h" "$src/images/rpc.proto" "$tmp/include/criu/"
	"$tmp/sbin/criu" --version >"$tmp/version" 2>&1
	if ! "$tmp/sbin/criu" check >"$tmp/check.log" 2>&1; then
		cat "$tmp/check.log" >&2
		rm -rf "$tmp"
		die "the new criu $ver fails 'criu check' on this kernel"
	fi
	echo "$ORIG" >"$tmp/ok"
	rm -rf "$dest"
	mv "$tmp" "$dest" || die "cannot move the build into $dest"
	log "installed $dest ($(head -n1 "$dest/version"))"
	echo "$dest"
}

mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 9>"$CACHE/.lock"
flock -w 1800 9 || die "another build holds $CACHE/.lock"
if d=$(cached); then
	log "cached: $d"
	echo "$d"
	exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln-criu.XXXXXX") || die "mktemp"
trap 'rm -rf "$WORK"' EXIT
apt_deps
fetch_source
build
