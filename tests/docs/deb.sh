# tests/docs/deb.sh - sourced by tests/docs/run.sh: the Debian package.
#
# Builds it with `dpkg-buildpackage -b -us -uc` in a copy of the source files
# (so nothing lands next to the repository), looks inside, runs kiln from
# `dpkg -x`, and installs it with `apt-get install ./kiln_*.deb` into a fresh
# Debian 12 made by mmdebstrap (in a private mount namespace; the host's /usr
# is never touched). The .deb is kept under KILN_DEB_CACHE by a hash of the
# source files: a second run with the same sources does not rebuild it.

DEB=
DEB_VERSION=

# package_files: NUL-separated, the tracked or untracked-but-not-ignored
# files the package is built from (the tests are not: it is built with
# nocheck, and the project's test command runs them).
package_files() {
	git -C "$REPO" ls-files -co --exclude-standard -z |
		(cd "$REPO" && while IFS= read -r -d '' f; do
			case $f in tests/* | runtime-tools-conformance/* | .ci/*) continue ;; esac
			[ -f "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
		done)
}

source_hash() {
	package_files | (cd "$REPO" && xargs -0 sha256sum) | sha256sum | cut -c1-16
}

deb_build() {
	local cache=${KILN_DEB_CACHE:-$BUILD/deb} key arch dir src
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		{ echo "dpkg-dev and debhelper are not installed"; return 1; }
	git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo "not a git checkout"; return 1; }
	DEB_VERSION=$(cd "$REPO" && dpkg-parsechangelog -S Version) || return 1
	arch=$(dpkg --print-architecture)
	key=$(source_hash) || return 1
	dir=$cache/$key
	DEB=$dir/kiln_${DEB_VERSION}_${arch}.deb
	if [ -f "$DEB" ]; then
		echo "cached: $DEB"
		return 0
	fi
	# one package per source state: drop older ones
	[ -d "$cache" ] && find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name apt-archives -exec rm -rf {} +
	src=$dir/src/kiln-$DEB_VERSION
	rm -rf "$dir" && mkdir -p "$src" || return 1
	package_files | tar -C "$REPO" --null -T - -cf - | tar -C "$src" -xf - || return 1
	# The project's own test command runs the unit tests; here only the package.
	if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -us -uc) \
		>"$dir/build.log" 2>&1; then
		tail -n 30 "$dir/build.log"
		mv "$dir" "$dir.failed" 2>/dev/null
		return 1
	fi
	mv "$dir/src/kiln_${DEB_VERSION}_${arch}.deb" "$DEB" || return 1
	rm -rf "$dir/src"
}

deb_contents() {
	local list c want missing=()
	list=$(dpkg-deb --contents "$DEB" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}') || return 1
	want=(./usr/bin/kiln "./usr/bin/kiln-km -> kiln" "./usr/bin/kiln-km-label -> kiln"
		./usr/share/man/man8/kiln.8.gz ./usr/share/man/man8/kiln-km.8.gz
		"./usr/share/man/man8/kiln-km-label.8.gz -> kiln-km.8.gz"
		./usr/share/bash-completion/completions/kiln "./usr/share/bash-completion/completions/kiln-km -> kiln"
		./usr/share/zsh/vendor-completions/_kiln ./usr/share/fish/vendor_completions.d/kiln.fish
		./usr/share/fish/vendor_completions.d/kiln-km.fish ./usr/lib/tmpfiles.d/kiln.conf
		./usr/share/doc/kiln/copyright ./usr/share/doc/kiln/examples/daemon.json
		./usr/share/doc/kiln/examples/config.toml ./usr/share/doc/kiln/examples/50-kiln.conf
		./usr/share/doc/kiln/examples/containers.conf ./usr/share/doc/kiln/examples/km.json)
	for c in "${COMMANDS[@]}"; do
		[ "$c" = help ] || want+=("./usr/share/man/man8/kiln-$c.8.gz")
	done
	for c in "${want[@]}"; do
		grep -qxF -- "$c" <<<"$list" || missing+=("$c")
	done
	[ ${#missing[@]} = 0 ] || { echo "not in the package: ${missing[*]}"; return 1; }
}

deb_control() {
	local meson_version f
	meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$REPO/meson.build" | head -n 1)
	[ "$(dpkg-deb -f "$DEB" Package)" = kiln ] || { echo "Package: $(dpkg-deb -f "$DEB" Package)"; return 1; }
	[ "${DEB_VERSION%%[-+~]*}" = "$meson_version" ] ||
		{ echo "debian/changelog says $DEB_VERSION, meson.build $meson_version"; return 1; }
	dpkg-deb -f "$DEB" Depends | grep -q 'libc6' || { echo "Depends: $(dpkg-deb -f "$DEB" Depends)"; return 1; }
	# dh_installtmpfiles: /run/kiln made on installation
	f=$TMP/deb-control
	mkdir -p "$f" && dpkg-deb -e "$DEB" "$f" || return 1
	grep -q 'systemd-tmpfiles.*kiln.conf' "$f/postinst" || { echo "postinst does not run systemd-tmpfiles"; return 1; }
}

deb_extracted_runs() {
	local x=$TMP/deb-x out
	rm -rf "$x" && dpkg -x "$DEB" "$x" || return 1
	out=$("$x/usr/bin/kiln" --version) || { echo "kiln --version failed: $out"; return 1; }
	[ "$(head -n 1 <<<"$out")" = "kiln version ${DEB_VERSION%%[-+~]*}" ] || { echo "kiln --version: $out"; return 1; }
	out=$("$x/usr/bin/kiln-km" --version) || return 1
	grep -q 'this invocation: km)' <<<"$out" || { echo "kiln-km --version: $out"; return 1; }
	man_renders "$x/usr/share/man/man8/kiln-run.8.gz" || return 1
	"$x/usr/bin/kiln" spec --bundle "$x" && [ -s "$x/config.json" ] || { echo "kiln spec failed"; return 1; }
}

# A fresh Debian 12: apt-get install ./kiln_*.deb, kiln --version, man finds
# its page, bash-completion loads its completion, apt-get purge leaves no file.
deb_clean_install() {
	command -v mmdebstrap >/dev/null || { echo "mmdebstrap is not installed"; return 1; }
	local archives=${KILN_DEB_CACHE:-$BUILD/deb}/apt-archives
	mkdir -p "$archives"
	# shellcheck disable=SC2016
	timeout 900 unshare --mount --propagation private \
		mmdebstrap --mode=root --variant=apt --include=man-db,bash-completion --skip=essential/unlink \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--setup-hook="sync-in $archives /var/cache/apt/archives/" \
		--customize-hook="copy-in $DEB /tmp" \
		--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y /tmp/'"${DEB##*/}" \
		--customize-hook='chroot "$1" sh -ec "
			kiln --version | grep \"^kiln version\"
			kiln-km --version | grep \"this invocation: km\"
			man -w kiln-run | grep -q /usr/share/man/man8/kiln-run.8.gz
			bash -c \". /usr/share/bash-completion/bash_completion; __load_completion kiln && complete -p kiln | grep -q _kiln\"
			apt-get purge -y kiln >/dev/null
			! test -e /usr/bin/kiln
			! dpkg -s kiln >/dev/null 2>&1
			echo clean-install-ok"' \
		--customize-hook="sync-out /var/cache/apt/archives $archives" \
		bookworm /dev/null 2>&1 | tail -n 15 | tee "$TMP/chroot.log" | grep -q '^clean-install-ok$' || {
		cat "$TMP/chroot.log"
		return 1
	}
}

test_deb() {
	# not in $(...): deb_build sets DEB and DEB_VERSION
	if ! deb_build >"$TMP/deb-build.out" 2>&1; then
		fail "deb: dpkg-buildpackage -b -us -uc builds the package" "$(tr '\n' ' ' <"$TMP/deb-build.out" | tail -c 600)"
		return
	fi
	local how=built
	grep -q '^cached: ' "$TMP/deb-build.out" && how="cached: same sources as a previous run"
	ok "deb: dpkg-buildpackage -b -us -uc builds the package ($how)"
	check "deb: binary, KM links, every man page, completions, tmpfiles.d, examples" deb_contents
	check "deb: Package, Version (= meson's), Depends, tmpfiles postinst" deb_control
	check "deb: dpkg -x, then kiln --version, kiln-km, man page, kiln spec" deb_extracted_runs
	if [ "${KILN_SKIP_DEB_CHROOT:-0}" = 1 ]; then
		skip "deb: apt-get install in a fresh Debian 12" "KILN_SKIP_DEB_CHROOT=1"
	else
		check "deb: apt-get install ./kiln_*.deb in a fresh Debian 12 (mmdebstrap), then purge" deb_clean_install
	fi
}
