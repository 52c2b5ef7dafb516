#!/usr/bin/env bash
# tests/runc-integration/run.sh - runc's own integration suite (runc 1.1.5's
# tests/integration/*.bats, from Debian bookworm's source package) run offline
# against kiln, as crun and youki check themselves. As root:
#
#   tests/runc-integration/run.sh [FILE...]      FILE: cgroups, exec.bats, ...
#   RUNC=$(command -v runc) tests/runc-integration/run.sh   runc's own baseline
#
# Prints one row per .bats file (passed, failed, skipped, accepted differences
# with runc 1.1.5 as README.md lists them, seconds),
# then "runc-integration: ..." and, last, exactly "N passed, N failed".
# Exit status 1 when a test failed or a file timed out.
#
# What it prepares (cached under $KILN_RUNC_SUITE_CACHE, so a second run only
# copies the tests): runc's source (apt-get source, a private apt config with
# deb-src lines when the machine has none); recvtty and seccompagent built
# with Debian's Go and golang-*-dev packages in GOPATH mode; busybox and
# "debian" image tarballs made from busybox-static. No file of runc's is in
# this repository: the tests are copied to a work directory and patched there:
#   - get-images.sh prints our tarballs instead of downloading images;
#   - have_criu also requires "criu check" (Debian 12's criu fails on new kernels);
#     the CRIU of tests/criu/build.sh ($KILN_CRIU, or its cache) goes first in
#     PATH; checkpoint.bats' pre-dump and lazy-pages tests skip, saying why,
#     where the host cannot give CRIU what they need (soft-dirty tracking,
#     CAP_SYS_RESOURCE: without it the lazy page server waits for ever);
#   - setup_recvtty and setup_seccompagent wait until the helper listens (a
#     fast runtime on a loaded host connected first) and start it without
#     bats' fd 3 (a helper left running kept bats waiting for ever);
#   - spec.bats "spec validator" uses the packaged runtime-spec schema and
#     spec-validate.go (gojsonschema) instead of git clone / go get;
#   - help.bats and version.bats match the runtime's own name where they
#     match the literal "runc": when that is all that differs the tests are
#     counted as a difference (kiln names itself kiln on purpose), not as passed;
#   - DIFF_TESTS below: failures that show kiln's intended behaviour count as
#     differences too (README.md lists them).
#
# Environment:
#   RUNC                          runtime under test (default build/kiln)
#   KILN_RUNC_SUITE_CACHE         cache dir (default /var/cache/kiln-runc-suite)
#   KILN_RUNC_SUITE_TIMEOUT=900   seconds per .bats file
#   KILN_RUNC_SUITE_FILTER=RE     only tests whose name matches (bats --filter)
#   KILN_RUNC_SUITE_KEEP=1        keep the work directory and TAP logs (until the next run)
#   KILN_SKIP_DEPS=1              do not apt-get anything
#   KILN_CRIU=PREFIX              the CRIU for checkpoint.bats (default: the newest
#                                 in ${KILN_CRIU_CACHE:-/var/cache/kiln-criu} that passes
#                                 "criu check"; tests/run-all.sh builds it)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# runc 1.1.5 (bookworm) is the gate; 1.3.x (sid) runs with the C++ stand-ins
# for its Go >= 1.22 test helpers (tests/runc-helpers, built with kiln).
VERSION=${KILN_RUNC_SUITE_VERSION:-1.1.5}
case "$VERSION" in
1.1.*) DEB_SUITE=bookworm ;;
*) DEB_SUITE=sid ;;
esac
DEB_SUITE=${KILN_RUNC_SUITE_DEB_SUITE:-$DEB_SUITE}
BUILD_DIR=$REPO/${KILN_BUILD_DIR:-build}
CACHE=${KILN_RUNC_SUITE_CACHE:-/var/cache/kiln-runc-suite}
TIMEOUT=${KILN_RUNC_SUITE_TIMEOUT:-900}
GOLIBS="golang-github-opencontainers-specs-dev golang-github-containerd-console-dev
 golang-github-urfave-cli-dev golang-golang-x-sys-dev golang-github-seccomp-libseccomp-golang-dev
 golang-github-sirupsen-logrus-dev golang-github-cyphar-filepath-securejoin-dev
 golang-github-xeipuuv-gojsonschema-dev"
PKGS="bats jq gawk gcc libc6-dev util-linux busybox-static golang-go pkg-config libseccomp-dev
 dpkg-dev xz-utils iproute2 procps $GOLIBS"

log() { echo "runc-integration: $*" >&2; }
die() {
	log "$*"
	echo "0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (the suite creates real containers)"
RUNC=${RUNC:-$REPO/build/kiln}
RUNC=$(command -v -- "$RUNC" || true)
[ -n "$RUNC" ] && [ -x "$RUNC" ] || die "runtime binary not found (build kiln, or set RUNC=)"
RUNC=$(readlink -f -- "$RUNC")
RT_NAME=$(basename -- "$RUNC")
if [ "${KILN_SKIP_DEPS:-0}" != 1 ]; then
	. "$REPO/tests/pkgs.sh"
	# shellcheck disable=SC2086
	need_pkgs $PKGS || die "could not install the suite's dependencies"
fi
mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 8>"$CACHE/.lock"
flock -w 3600 8 || die "$CACHE is locked by another run"

# ----------------------------------------------------------------- source ---
SRC=$CACHE/src/runc-$VERSION
SRC_115=$CACHE/src/runc-1.1.5  # recvtty and seccompagent build from it (Go 1.19)

# private_apt DIR SUITE: print apt-get options for a private apt config in DIR
# holding only deb-src lines for SUITE of the configured Debian mirror.
private_apt() {
	local a=$1 suite=$2 uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg signed=
	uri=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Origin: Debian' 2>/dev/null |
		grep -v -- '-security' | head -n1)
	[ -n "$uri" ] || uri=http://deb.debian.org/debian/
	[ -r "$keyring" ] && signed="[signed-by=$keyring] "
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/parts"
	echo "deb-src $signed$uri $suite main" >"$a/sources.list"
	printf '%s\n' -q -o "Dir::State::Lists=$a/lists" -o "Dir::Etc::SourceList=$a/sources.list" \
		-o "Dir::Etc::SourceParts=$a/parts" -o "Dir::Cache=$a/cache" -o APT::Sandbox::User=root
}

# fetch_source VERSION SUITE: runc's source package VERSION (any Debian
# revision) unpacked as $CACHE/src/runc-VERSION.
fetch_source() {
	local version=$1 suite=$2 d=$CACHE/src opts want
	local dir=$d/runc-$version
	[ -f "$dir/.kiln-ready" ] && return 0
	mkdir -p "$d"
	dsc() { ls -1 "$d"/runc_"$version"+*.dsc 2>/dev/null | sort -V | tail -n1; }
	if [ -z "$(dsc)" ]; then
		log "apt-get source runc ($version, configured deb-src)"
		(cd "$d" && apt-get -q -o APT::Sandbox::User=root source --download-only "runc" >"$d/apt.log" 2>&1)
	fi
	if [ -z "$(dsc)" ]; then
		log "apt-get source runc ($version, private deb-src for $suite)"
		mapfile -t opts < <(private_apt "$d/apt-$suite" "$suite")
		apt-get "${opts[@]}" update >>"$d/apt.log" 2>&1
		want=$(apt-cache "${opts[@]}" showsrc runc 2>/dev/null | sed -n 's/^Version: //p' | grep -F "$version+" | sort -V | tail -n1)
		(cd "$d" && apt-get "${opts[@]}" source --download-only "runc${want:+=$want}" >>"$d/apt.log" 2>&1)
	fi
	[ -n "$(dsc)" ] || die "could not get runc $version's source package (see $d/apt.log)"
	rm -rf "$dir"
	dpkg-source -x "$(dsc)" "$dir" >>"$d/apt.log" 2>&1 || die "dpkg-source -x failed (see $d/apt.log)"
	[ -f "$dir/tests/integration/helpers.bash" ] || die "no tests/integration in $(dsc)"
	touch "$dir/.kiln-ready"
}

# ---------------------------------------------------------------- helpers ---
BIN=$CACHE/bin
build_helpers() {
	local gp=$CACHE/gopath
	if [ -x "$BIN/recvtty" ] && [ -x "$BIN/seccompagent" ] && [ "$BIN/spec-validate" -nt "$HERE/spec-validate.go" ] &&
		[ "$BIN/recvtty" -nt "$SRC_115/.kiln-ready" ]; then
		return 0
	fi
	log "building recvtty, seccompagent, spec-validate (Go $(go env GOVERSION), GOPATH mode)"
	mkdir -p "$BIN" "$gp/src/github.com/opencontainers" "$gp/src/kiln/spec-validate"
	ln -sfn "$SRC_115" "$gp/src/github.com/opencontainers/runc"
	cp "$HERE/spec-validate.go" "$gp/src/kiln/spec-validate/main.go"
	(
		export GO111MODULE=off GOFLAGS= GOPATH="$gp:/usr/share/gocode" GOCACHE="$CACHE/gocache"
		cd "$gp/src" &&
			go build -o "$BIN/recvtty" github.com/opencontainers/runc/contrib/cmd/recvtty &&
			go build -tags seccomp -o "$BIN/seccompagent" github.com/opencontainers/runc/contrib/cmd/seccompagent &&
			go build -o "$BIN/spec-validate" kiln/spec-validate
	) >"$CACHE/go-build.log" 2>&1 || die "Go build failed (see $CACHE/go-build.log)"
}

# ----------------------------------------------------------------- images ---
IMAGES=$CACHE/images
# add_host_binary ROOT PATH: PATH and the shared libraries it loads (ldd),
# at the same paths under ROOT.
add_host_binary() {
	local root=$1 bin=$2 lib
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# make_image NAME: a tarball in the layout of docker's busybox image (glibc
# variant: applets as hard links in /bin) from the static busybox; "debian"
# adds the host's static ldconfig (all that runc 1.1's hooks.bats needs of
# Debian) and the host's bash, chrt and findmnt with their libraries (runc
# 1.3's idmap, scheduler and mount tests run them in the "debian" image).
make_image() {
	local name=$1 r a
	local bb
	bb=$(command -v busybox) || die "no busybox (apt-get install busybox-static)"
	[ "$IMAGES/$name.tar" -nt "$bb" ] && [ "$IMAGES/$name.tar" -nt "${BASH_SOURCE[0]}" ] && return 0
	r=$IMAGES/$name.root
	rm -rf "$r" && mkdir -p "$r"/{bin,dev,etc,home,lib,root,tmp,usr/sbin,var/spool/mail,var/www}
	chmod 1777 "$r/tmp"
	chmod 700 "$r/root"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || ln "$r/bin/busybox" "$r/bin/$a"
	done
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		lp:x:7:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		cdrom:x:11:
		dialout:x:18:
		floppy:x:19:
		video:x:28:
		audio:x:29:
		tape:x:32:
		www-data:x:33:
		operator:x:37:
		utmp:x:43:
		plugdev:x:46:
		staff:x:50:
		lock:x:54:
		netdev:x:82:
		users:x:100:
		nogroup:x:65534:
	EOF
	if [ "$name" = debian ]; then
		mkdir -p "$r/sbin" "$r/usr/lib" "$r/var/cache/ldconfig"
		cp /sbin/ldconfig "$r/sbin/ldconfig"
		: >"$r/etc/ld.so.conf"
		for a in bash chrt findmnt; do
			add_host_binary "$r" "$(command -v "$a")" || die "cannot add the host's $a to the debian image"
		done
	fi
	mkdir -p "$IMAGES"
	tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$IMAGES/$name.tar.new" . &&
		mv "$IMAGES/$name.tar.new" "$IMAGES/$name.tar" || die "cannot write $IMAGES/$name.tar"
	rm -rf "$r"
}

# ------------------------------------------------------------------- work ---
# Where kiln differs from runc 1.1.5 on purpose (tests/runc-integration/README.md),
# counted in the "diff" column, neither passed nor failed; not for runc itself.
# The tests that match the literal "runc" (help, version) run with the
# runtime's name put in and must pass so:
NAME_TESTS=("runc -h" "runc command -h" "runc version")
# These fail, and count as a difference only when their output shows kiln's
# intended behaviour, FILE|TEST|TEXT the output must contain:
DIFF_TESTS=(
	# runc 1.2's refusal of a populated cgroupsPath (issue #11: delete and kill
	# --all would reach processes that are not the container's); 1.1.5 warns.
	"cgroups.bats|runc run/create should warn about a non-empty cgroup|container's cgroup is not empty: 1 process(es) found in "
)

# patch_file FILE SED-SCRIPT CHECK-REGEX: sed -i, then insist that it applied.
patch_file() {
	sed -i -e "$2" "$1" && grep -q -e "$3" "$1" || die "patch of $(basename "$1") no longer applies: $2"
}

# The helpers where the suite looks for them: contrib/cmd/*/ (1.1) or
# tests/cmd/_bin/ (1.3, with the C++ stand-ins from kiln's build).
place_helpers() {
	local h b
	if [ -d "$SRC/contrib/cmd/recvtty" ]; then
		mkdir -p "$WORK/contrib/cmd/recvtty" "$WORK/contrib/cmd/seccompagent"
		ln -s "$BIN/recvtty" "$WORK/contrib/cmd/recvtty/recvtty"
		ln -s "$BIN/seccompagent" "$WORK/contrib/cmd/seccompagent/seccompagent"
		ln -s "$SRC/contrib/cmd/seccompagent/gen-seccomp-example-cfg.sh" "$WORK/contrib/cmd/seccompagent/"
		return
	fi
	cp -a "$SRC/tests/cmd" "$WORK/tests/cmd"
	b=$WORK/tests/cmd/_bin
	mkdir -p "$b"
	ln -s "$BIN/recvtty" "$b/recvtty"
	ln -s "$BIN/seccompagent" "$b/seccompagent"
	for h in fs-idmap pidfd-kill remap-rootfs; do
		[ -x "$BUILD_DIR/tests/$h" ] || die "no $BUILD_DIR/tests/$h: build kiln with its tests (meson setup build && ninja -C build)"
		ln -s "$BUILD_DIR/tests/$h" "$b/$h"
	done
}

# CRIU for checkpoint.bats first in PATH: $KILN_CRIU, else the newest one in
# tests/criu/build.sh's cache that works on this kernel; none: its tests skip.
criu_prefix() {
	local d
	CRIU_LINE="criu: none that passes \"criu check\" (checkpoint.bats skips)"
	for d in ${KILN_CRIU:-} $(ls -d "${KILN_CRIU_CACHE:-/var/cache/kiln-criu}"/criu-*/ 2>/dev/null | sort -V -r); do
		d=${d%/}
		if [ -x "$d/sbin/criu" ] && "$d/sbin/criu" check >/dev/null 2>&1; then
			export PATH="$d/sbin:$PATH"
			CRIU_LINE="criu $("$d/sbin/criu" --version | sed -n 's/^Version: //p') ($d)"
			return 0
		fi
	done
}

make_work() {
	local t
	WORK=$(mktemp -d "$CACHE/work.XXXXXX") || die "mktemp failed"
	chmod 755 "$WORK"
	mkdir -p "$WORK/tests" "$WORK/tmp"
	cp -a "$SRC/tests/integration" "$WORK/tests/integration"
	cp "$SRC/go.mod" "$WORK/go.mod"
	place_helpers
	t=$WORK/tests/integration
	printf '#!/bin/sh\n# kiln: local images instead of downloads\necho BUSYBOX_IMAGE=%s\necho DEBIAN_IMAGE=%s\n' \
		"$IMAGES/busybox.tar" "$IMAGES/debian.tar" >"$t/get-images.sh"
	patch_file "$t/helpers.bash" '/^function have_criu() {/,/^}/s/^\tcommand -v criu &>\/dev\/null || return 1$/&\n\tcriu check \&>\/dev\/null || return 1/' \
		'^	criu check &>/dev/null || return 1$'
	# What this host cannot give CRIU: a skip that says so (runc fails or
	# hangs there the same way; tests/criu/vm.sh runs these in the 6.1 VM).
	if grep -q '^@test "checkpoint --pre-dump and restore" {$' "$t/checkpoint.bats"; then
		patch_file "$t/checkpoint.bats" 's/^@test "checkpoint --pre-dump and restore" {$/&\n\tkiln_need_soft_dirty/' \
			'^	kiln_need_soft_dirty$'
	fi
	if grep -q '^@test "checkpoint --lazy-pages and restore" {$' "$t/checkpoint.bats"; then
		patch_file "$t/checkpoint.bats" 's/^@test "checkpoint --lazy-pages and restore" {$/&\n\tkiln_need_sys_resource/' \
			'^	kiln_need_sys_resource$'
	fi
	# ("$RECVTTY" ... &) & (1.1) or ("$TESTBINDIR/recvtty" ... &) & (1.3)
	patch_file "$t/helpers.bash" 's|^\t\(("[^"]*"\)\( --pid-file "$dir/pid" --mode null "$CONSOLE_SOCKET"\) &) &$|\t\1\2 3>\&- \&) \&\n\tkiln_wait_for "$CONSOLE_SOCKET" "$dir/pid"|' \
		'^	kiln_wait_for "$CONSOLE_SOCKET" "$dir/pid"$'
	patch_file "$t/helpers.bash" 's|^\t\(("[^"]*" -socketfile="$SECCCOMP_AGENT_SOCKET" -pid-file "$BATS_TMPDIR/seccompagent.pid"\) &) &$|\t\1 3>\&- \&) \&\n\tkiln_wait_for "$SECCCOMP_AGENT_SOCKET" "$BATS_TMPDIR/seccompagent.pid"|' \
		'^	kiln_wait_for "$SECCCOMP_AGENT_SOCKET"'
	cat >>"$t/helpers.bash" <<-'EOF'

		# kiln: wait (10 s at most) until a background helper's socket and pid file exist.
		function kiln_wait_for() {
			local i
			for ((i = 0; i < 200; i++)); do
				[ -S "$1" ] && [ -s "$2" ] && return 0
				sleep 0.05
			done
			echo "kiln_wait_for: no $1 / $2 after 10 s" >&2
			return 1
		}

		# kiln: checkpoint.bats tests this host cannot run, for any runtime.
		function kiln_need_soft_dirty() {
			criu check --feature mem_dirty_track &>/dev/null ||
				skip "kernel $(uname -r) has no soft-dirty page tracking, which --pre-dump needs"
		}
		function kiln_need_sys_resource() {
			local c
			c=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
			(((0x$c >> 24) & 1)) || skip "no CAP_SYS_RESOURCE here: CRIU's lazy page server cannot size its pipes"
		}
	EOF
	# git clone runtime-spec ... go build validate.go (1.1) / ./validate ... (1.3)
	patch_file "$t/spec.bats" '/^\tgit clone https:\/\/github.com\/opencontainers\/runtime-spec.git$/,/^\t\(GO111MODULE=auto go build runtime-spec\/schema\/validate.go\|\.\/validate config-schema.json \.\.\/\.\.\/config.json\)$/c\
	cp -r /usr/share/gocode/src/github.com/opencontainers/runtime-spec runtime-spec\
	SCHEMA=runtime-spec/schema/config-schema.json\
	[ -e "$SCHEMA" ]\
	'"$BIN"'/spec-validate "$SCHEMA" config.json' '/spec-validate "$SCHEMA" config.json$'
	sed -i '/^\t\.\/validate "\$SCHEMA" config.json$/d' "$t/spec.bats"
	if [ "$RT_NAME" != runc ]; then
		patch_file "$t/help.bats" "/=~/s/runc\\\\ /$RT_NAME\\\\ /g" "=~ $RT_NAME\\\\ "
		patch_file "$t/version.bats" "/=~/s/runc\\\\ /$RT_NAME\\\\ /g" "=~ $RT_NAME\\\\ "
	fi
}

# ------------------------------------------------------------------ sweep ---
# Thaw the tests' cgroups: a process in a frozen cgroup cannot die.
thaw_cgroups() {
	local f
	for f in $(find /sys/fs/cgroup/freezer/runc-cgroups-integration-test /sys/fs/cgroup/runc-cgroups-integration-test \
		/sys/fs/cgroup/unified/runc-cgroups-integration-test \( -name freezer.state -o -name cgroup.freeze \) 2>/dev/null); do
		case "$f" in *freezer.state) echo THAWED ;; *) echo 0 ;; esac >"$f" 2>/dev/null
	done
}

# Whatever a file left behind (a timed-out file skips its teardown):
# containers in the state dirs under $WORK/tmp, processes whose root is a
# bundle there, mounts there; then the files.
sweep() {
	local st ct p root m
	for st in $(find "$WORK/tmp" -maxdepth 4 -type d -name state 2>/dev/null); do
		for ct in $(timeout 20 "$RUNC" --root "$st" list -q 2>/dev/null); do
			timeout 20 "$RUNC" --root "$st" delete -f "$ct" >/dev/null 2>&1
		done
	done
	for p in /proc/[0-9]*; do
		root=$(readlink "$p/root" 2>/dev/null) || continue
		case "$root" in "$WORK"/*) kill -9 "${p#/proc/}" 2>/dev/null ;; esac
	done
	awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	rm -rf --one-file-system "${WORK:?}/tmp"/* 2>/dev/null
	restore_etc_criu
}

# checkpoint.bats "container specific CRIU config" writes /etc/criu/default.conf
# (log-file=NAME, making /etc/criu) and leaves it: every later criu on the
# host would write a log file into its working directory. What was there
# before the run (saved in $WORK/etc-criu) is put back.
save_etc_criu() {
	[ ! -d /etc/criu ] || cp -a /etc/criu "$WORK/etc-criu"
}
restore_etc_criu() {
	if [ -d "$WORK/etc-criu" ]; then
		diff -r "$WORK/etc-criu" /etc/criu >/dev/null 2>&1 || { rm -rf /etc/criu && cp -a "$WORK/etc-criu" /etc/criu; }
	else
		rm -rf /etc/criu
	fi
}

# Cgroups the tests create: /runc-cgroups-integration-test in each hierarchy
# (create_parent also makes directories for controllers that are not mounted
# on the /sys/fs/cgroup tmpfs; those are removed again).
CG_BEFORE=$(ls -1 /sys/fs/cgroup 2>/dev/null)
cleanup_cgroups() {
	local d
	for d in /sys/fs/cgroup/runc-cgroups-integration-test /sys/fs/cgroup/*/runc-cgroups-integration-test; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	for d in $(ls -1 /sys/fs/cgroup 2>/dev/null); do
		grep -qxF "$d" <<<"$CG_BEFORE" || rmdir "/sys/fs/cgroup/$d" 2>/dev/null
	done
}

# The file's timeout and bats' session (the pty's: helpers it left running
# too), thawed first: a process in a frozen cgroup cannot die.
stop_file() {
	local sid p
	[ -n "${TPID:-}" ] && kill -TERM "$TPID" 2>/dev/null
	thaw_cgroups
	[ -s "${sidf:-}" ] || return 0
	sid=$(cat "$sidf")
	for p in $(ps -e -o pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'); do kill -9 "$p" 2>/dev/null; done
}

finish() {
	[ -n "${WORK:-}" ] || return
	stop_file
	sweep
	cleanup_cgroups
	if [ "${KILN_RUNC_SUITE_KEEP:-0}" = 1 ]; then
		log "work directory kept: $WORK"
	elif grep -qF " $WORK/" /proc/self/mountinfo; then
		log "WARNING: mounts left under $WORK; not removing it"
	else
		rm -rf --one-file-system "$WORK"
	fi
}

# ------------------------------------------------------------------- main ---
fetch_source 1.1.5 bookworm
[ "$VERSION" = 1.1.5 ] || fetch_source "$VERSION" "$DEB_SUITE"
build_helpers
make_image busybox
make_image debian
# Work dirs of runs that were killed (we hold the lock: none is live).
for WORK in "$CACHE"/work.*; do
	[ -d "$WORK" ] || continue
	log "removing the work directory of an earlier run: $WORK"
	thaw_cgroups
	sweep
	grep -qF " $WORK/" /proc/self/mountinfo || rm -rf --one-file-system "$WORK"
done
WORK=
trap finish EXIT
trap 'exit 130' INT TERM
make_work

files=()
if [ $# -eq 0 ]; then
	for f in "$WORK"/tests/integration/*.bats; do files+=("$(basename "$f")"); done
else
	for f in "$@"; do
		f=$(basename -- "$f" .bats).bats
		[ -f "$WORK/tests/integration/$f" ] || die "no such file in runc's suite: $f"
		files+=("$f")
	done
fi

is_name_test() {
	local n
	[ "$RT_NAME" = runc ] && return 1
	for n in "${NAME_TESTS[@]}"; do [ "$1" = "$n" ] && return 0; done
	return 1
}

# is_diff_test FILE TEST TAP: TEST of FILE failed the way DIFF_TESTS says.
is_diff_test() {
	local d text
	[ "$RT_NAME" = runc ] && return 1
	case "$VERSION" in 1.1.*) ;; *) return 1 ;; esac
	for d in "${DIFF_TESTS[@]}"; do
		[ "${d%%|*}" = "$1" ] || continue
		d=${d#*|}
		[ "${d%%|*}" = "$2" ] || continue
		text=${d#*|}
		# the diagnostics below the test's "not ok" line
		awk -v t="$2" 'found && /^(not )?ok / { exit } found { print } /^not ok / { sub(/^not ok [0-9]+ /, ""); sub(/ in [0-9]+ms$/, ""); found = ($0 == t) }' "$3" |
			grep -qF -- "$text" && return 0
	done
	return 1
}

export RUNC TMPDIR=$WORK/tmp
TPID= sidf=
tot_p=0 tot_f=0 tot_s=0 tot_n=0 hung=()
bats_args=(--tap --timing)
[ -n "${KILN_RUNC_SUITE_FILTER:-}" ] && bats_args+=(--filter "$KILN_RUNC_SUITE_FILTER")
criu_prefix
save_etc_criu
log "runtime $RUNC; $(bats --version); ${#files[@]} files; ${TIMEOUT}s per file; $CRIU_LINE"
printf '%-30s %5s %5s %5s %5s %6s\n' FILE pass fail skip diff secs
for f in "${files[@]}"; do
	tap=$WORK/${f%.bats}.tap sidf=$WORK/${f%.bats}.sid
	t0=$(date +%s)
	# Under a pty, as upstream CI (script -e -c); TAP goes to a file.
	(cd "$WORK/tests/integration" &&
		exec timeout -k 10 "$TIMEOUT" script -qfec \
			"echo \$\$ >'$sidf'; exec bats ${bats_args[*]@Q} '$f' >'$tap' 2>&1" /dev/null >/dev/null 2>&1) &
	TPID=$!
	wait "$TPID"
	rc=$?
	TPID=
	secs=$(($(date +%s) - t0))
	stop_file
	sweep
	tr -d '\r' <"$tap" >"$tap.txt"
	p=0 fl=0 s=0 n=0
	while IFS= read -r line; do
		case "$line" in
		"not ok "*)
			name=${line#not ok } name=${name#* } name=${name% in [0-9]*ms}
			if is_diff_test "$f" "$name" "$tap.txt"; then
				n=$((n + 1))
				echo "  DIFF $name (an accepted difference)"
			else
				fl=$((fl + 1))
				echo "  FAIL ${line#not ok }"
			fi
			;;
		"ok "*"# skip"*) s=$((s + 1)) ;;
		"ok "*)
			name=${line#ok } name=${name#* } name=${name% in [0-9]*ms}
			if is_name_test "$name"; then n=$((n + 1)); else p=$((p + 1)); fi
			;;
		esac
	done <"$tap.txt"
	planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap.txt" | head -n1)
	note=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		hung+=("$f")
		left=$((${planned:-0} - p - fl - s - n))
		[ "$left" -gt 0 ] || left=1
		fl=$((fl + left))
		note=" TIMEOUT (${left} not run)"
	elif [ -z "$planned" ]; then
		fl=$((fl + 1))
		note=" (bats did not run: $(head -c 200 "$tap.txt" | tr '\n' ' '))"
	fi
	printf '%-30s %5d %5d %5d %5d %6d%s\n' "$f" "$p" "$fl" "$s" "$n" "$secs" "$note"
	if [ "$fl" -gt 0 ] && [ "${KILN_RUNC_SUITE_VERBOSE:-0}" = 1 ]; then sed 's/^/    /' "$tap.txt"; fi
	tot_p=$((tot_p + p)) tot_f=$((tot_f + fl)) tot_s=$((tot_s + s)) tot_n=$((tot_n + n))
done
printf '%-30s %5d %5d %5d %5d\n' TOTAL "$tot_p" "$tot_f" "$tot_s" "$tot_n"
[ ${#hung[@]} -eq 0 ] || log "timed out: ${hung[*]}"
echo "runc-integration ($RT_NAME): $tot_p passed, $tot_f failed, $tot_s skipped, $tot_n accepted differences (runc $VERSION suite)"
echo "$tot_p passed, $tot_f failed"
[ "$tot_f" = 0 ]
