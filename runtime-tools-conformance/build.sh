#!/usr/bin/env bash
# runtime-tools-conformance/build.sh - fetch and build the OCI runtime-tools
# validation suite into a cache directory (run as root).
#
#   runtime-tools-conformance/build.sh CACHE_DIR
#
# Leaves in CACHE_DIR/bin: runtimetest, rootfs-<arch>.tar.gz and tests/<name>
# (one validation program per test). A second call with the same source, Go
# and tap package does nothing.
#
# The source is Debian's golang-github-opencontainers-runtime-tools source
# package. bookworm's orig tarball is gone from the mirrors (404), so it comes
# from trixie (sid as a fallback) through a private apt configuration under
# CACHE_DIR/apt: deb-src lines for those suites on the Debian mirror apt
# already uses; /etc/apt is not touched and apt checks the tarball against the
# signed Sources index. Debian's Go 1.19 builds it offline in GOPATH mode
# against the packaged golang-*-dev libraries; the one import Debian does not
# package, github.com/mndrix/tap-go, is served by our tap/ package.
#
# Environment:
#   RUNTIME_TOOLS_SRC      an extracted runtime-tools tree or a tarball of one
#                          to build instead of Debian's
#   RUNTIME_TOOLS_VERSION  Debian source version wanted
#                          (default 0.9.0.109.ge931285-1, trixie's)
#   RUNTIME_TOOLS_SUITES   Debian suites searched (default "trixie sid")
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

SRC_PKG=golang-github-opencontainers-runtime-tools
SRC_VERSION=${RUNTIME_TOOLS_VERSION:-0.9.0.109.ge931285-1}
SUITES=${RUNTIME_TOOLS_SUITES:-trixie sid}
GO_DEBS="golang-go golang-github-google-uuid-dev golang-github-hashicorp-go-multierror-dev
 golang-github-mrunalp-fileutils-dev golang-github-opencontainers-selinux-dev
 golang-github-opencontainers-specs-dev golang-github-sirupsen-logrus-dev
 golang-github-urfave-cli-dev golang-gocapability-dev golang-golang-x-sys-dev
 golang-gopkg-yaml.v2-dev"

fail() { note "build: $*"; exit 1; }

[ $# = 1 ] || fail "usage: build.sh CACHE_DIR"
mkdir -p "$1"
CACHE=$(cd "$1" && pwd)

# has_suite TARBALL: the tarball holds the validation programs.
has_suite() { tar -tf "$1" 2>/dev/null | grep -q '/validation/util/test\.go$'; }

# The Debian mirror the machine's apt uses (its first non-security one).
debian_mirror() {
	local uri
	# shellcheck disable=SC2016
	uri=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
		grep -v -- '-security' | grep '/debian/\?$' | head -n1 || true)
	echo "${uri:-http://deb.debian.org/debian/}"
}

# fetch_debian_source: download the orig tarball into $CACHE/src; prints it.
fetch_debian_source() {
	local src=$CACHE/src apt=$CACHE/apt keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	local mirror suite signed='' t
	mirror=$(debian_mirror)
	[ -r "$keyring" ] && signed="[signed-by=$keyring] "
	rm -rf "$apt"
	mkdir -p "$src" "$apt/lists/partial" "$apt/archives/partial" "$apt/sources.list.d"
	for suite in $SUITES; do echo "deb-src $signed$mirror $suite main"; done >"$apt/sources.list"
	local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o APT::Sandbox::User=root)
	note "fetching $SRC_PKG $SRC_VERSION source from $mirror ($SUITES)"
	# One suite may fail to update (e.g. an InRelease not yet valid when the
	# clock is off) while another provides the package: not fatal here.
	apt-get "${opts[@]}" update >"$apt/log" 2>&1 || note "private apt-get update had errors (see $apt/log)"
	# The .dsc of this version 404s on the mirrors; the orig tarball is all we
	# use, so apt's error about the .dsc is ignored and the tarball checked.
	(cd "$src" && apt-get "${opts[@]}" source --download-only "$SRC_PKG=$SRC_VERSION") >>"$apt/log" 2>&1 || true
	t="$src/${SRC_PKG}_${SRC_VERSION%-*}.orig.tar.xz"
	if [ ! -f "$t" ] || ! has_suite "$t"; then
		tail -n 5 "$apt/log" >&2
		fail "no $SRC_PKG $SRC_VERSION source (log: $apt/log); set RUNTIME_TOOLS_SRC"
	fi
	rm -f "$src"/*.dsc "$src"/*.debian.tar.*
	rm -rf "$apt" # the package lists (~50 MB) are not needed again
	echo "$t"
}

# source_input: the tarball or tree to build; cached tarballs are reused.
source_input() {
	if [ -n "${RUNTIME_TOOLS_SRC:-}" ]; then
		[ -e "$RUNTIME_TOOLS_SRC" ] || fail "RUNTIME_TOOLS_SRC=$RUNTIME_TOOLS_SRC does not exist"
		readlink -f -- "$RUNTIME_TOOLS_SRC"
		return
	fi
	local t="$CACHE/src/${SRC_PKG}_${SRC_VERSION%-*}.orig.tar.xz"
	if [ -f "$t" ] && has_suite "$t"; then echo "$t"; else fetch_debian_source; fi
}

# fingerprint PATH: a hash of a tarball, or of every file of a tree.
fingerprint() {
	if [ -d "$1" ]; then
		(cd "$1" && find . -name .git -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
	else
		sha256sum <"$1" | cut -c1-16
	fi
}

# compile INPUT OUTDIR: unpack into a private GOPATH and build.
compile() {
	local gopath=$CACHE/gopath rt arch
	rt=$gopath/src/github.com/opencontainers/runtime-tools
	rm -rf "$gopath"
	mkdir -p "$rt" "$gopath/src/github.com/mndrix/tap-go" "$2/tests"
	if [ -d "$1" ]; then
		cp -a "$1/." "$rt/"
	else
		tar -xf "$1" -C "$rt" --strip-components=1
	fi
	[ -f "$rt/validation/util/test.go" ] || fail "$1 is not a runtime-tools source (no validation/)"
	cp "$HERE/tap/tap.go" "$gopath/src/github.com/mndrix/tap-go/"
	export GO111MODULE=off GOPROXY=off GOFLAGS='' GOPATH="$gopath:/usr/share/gocode" GOCACHE="$CACHE/gocache"
	# runtimetest runs inside the test containers' busybox rootfs: static.
	export CGO_ENABLED=0
	arch=$(go env GOARCH)
	note "building runtimetest and the validation programs (go $(go env GOVERSION), GOPATH mode, offline)"
	(cd "$rt" && go build -ldflags "-s -w" -o "$2/runtimetest" ./cmd/runtimetest &&
		go build -ldflags "-s -w" -o "$2/tests/" ./validation/...) >"$CACHE/build.log" 2>&1 ||
		{ tail -n 20 "$CACHE/build.log" >&2; fail "go build failed (log: $CACHE/build.log)"; }
	cp "$rt/rootfs-$arch.tar.gz" "$2/" || fail "the source has no rootfs-$arch.tar.gz"
}

exec 9>"$CACHE/.build.lock"
flock 9
# shellcheck disable=SC2086
need_debs $GO_DEBS tar xz-utils || fail "cannot install the Go build dependencies"
input=$(source_input)
stamp="$(fingerprint "$input") tap:$(fingerprint "$HERE/tap/tap.go") $(go version)"
if [ -x "$CACHE/bin/runtimetest" ] && [ "$(cat "$CACHE/bin/stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
rm -rf "$CACHE/bin.new"
compile "$input" "$CACHE/bin.new"
echo "$stamp" >"$CACHE/bin.new/stamp"
echo "$input" >"$CACHE/bin.new/source"
rm -rf "${CACHE:?}/bin" "$CACHE/gopath"
mv "$CACHE/bin.new" "$CACHE/bin"
note "built $(find "$CACHE/bin/tests" -type f | wc -l) validation programs into $CACHE/bin"
