# tests/docs/install.sh - sourced by tests/docs/run.sh: `meson install` puts
# the binary, its KM links, the manual, the completions and the tmpfiles.d
# entry where their users look (into a DESTDIR, never over the host).

STAGE=
# stage_install: DESTDIR install of the build directory, once per run.
stage_install() {
	[ -n "$STAGE" ] && return 0
	STAGE=$TMP/stage
	if ! DESTDIR=$STAGE meson install -C "$BUILD" --no-rebuild --quiet >"$TMP/install.log" 2>&1; then
		cat "$TMP/install.log" >&2
		STAGE=$TMP/stage-failed
		return 1
	fi
}

# staged GLOB: the one installed path matching */GLOB.
staged() {
	find "$STAGE" -path "*/$1" \( -type f -o -type l \) 2>/dev/null | head -n 1
}

install_layout() {
	local p f c missing=()
	for p in bin/kiln bin/kiln-km bin/kiln-km-label man8/kiln-km-label.8 tmpfiles.d/kiln.conf \
		bash-completion/completions/kiln bash-completion/completions/kiln-km \
		fish/vendor_completions.d/kiln.fish fish/vendor_completions.d/kiln-km.fish; do
		[ -n "$(staged "$p")" ] || missing+=("$p")
	done
	[ -n "$(staged 'zsh/*/_kiln')" ] || missing+=("zsh/{site-functions,vendor-completions}/_kiln")
	for f in man/*.8; do
		[ -n "$(staged "man8/${f#man/}")" ] || missing+=("man8/${f#man/} (add it to man/meson.build)")
	done
	for c in "${COMMANDS[@]}"; do
		[ "$c" = help ] || [ -n "$(staged "man8/kiln-$c.8")" ] || missing+=("man8/kiln-$c.8")
	done
	[ ${#missing[@]} = 0 ] || { echo "not installed: ${missing[*]}"; return 1; }
	[ "$(readlink "$(staged bin/kiln-km)")" = kiln ] || { echo "bin/kiln-km is not a link to kiln"; return 1; }
}

installed_km_link_works() {
	local out
	out=$("$(staged bin/kiln-km)" --version) || return 1
	grep -q '^kiln version ' <<<"$out" || { echo "kiln-km --version: $out"; return 1; }
	grep -q 'this invocation: km)' <<<"$out" || { echo "kiln-km does not select the km handler: $out"; return 1; }
	out=$("$(staged bin/kiln-km-label)" --version) || return 1
	grep -q 'this invocation: km-label)' <<<"$out" || { echo "kiln-km-label: $out"; return 1; }
}

installed_man_found() {
	local mandir w
	mandir=$(dirname "$(dirname "$(staged man8/kiln.8)")")
	for p in kiln kiln-run kiln-km kiln-km-label; do
		w=$(MANPATH=$mandir man -w "$p" 2>&1) || { echo "man -w $p: $w"; return 1; }
		case $w in "$STAGE"/*) ;; *) echo "man -w $p found $w, not the installed page"; return 1 ;; esac
	done
	# the kiln-km-label link renders kiln-km's page
	# (the page is read whole first: grep -q in a pipe under pipefail fails
	# whenever man is still writing when grep has seen enough)
	w=$(MANPATH=$mandir MANWIDTH=80 man kiln-km-label 2>/dev/null | col -b)
	grep -q 'kiln-km, kiln-km-label' <<<"$w" ||
		{ echo "man kiln-km-label does not show the KM page"; return 1; }
}

installed_tmpfiles_creates_run_kiln() {
	local root=$TMP/tmpfiles-root conf
	command -v systemd-tmpfiles >/dev/null || { echo "no systemd-tmpfiles"; return 2; }
	conf=$(staged tmpfiles.d/kiln.conf)
	mkdir -p "$root/run"
	systemd-tmpfiles --create --root="$root" "$conf" || return 1
	[ "$(stat -c '%a %U' "$root/run/kiln" 2>/dev/null)" = "700 root" ] ||
		{ echo "/run/kiln: $(stat -c '%a %U' "$root/run/kiln" 2>&1)"; return 1; }
}

test_install() {
	if ! stage_install; then
		fail "meson install (DESTDIR)" "$(tail -n 5 "$TMP/install.log" | tr '\n' ' ')"
		return
	fi
	ok "meson install (DESTDIR)"
	check "meson install: binary, KM links, every man page, completions, tmpfiles.d" install_layout
	check "installed kiln-km / kiln-km-label select the KM handler" installed_km_link_works
	check "man finds the installed pages (kiln, kiln-run, kiln-km, kiln-km-label)" installed_man_found
	local why rc
	why=$(installed_tmpfiles_creates_run_kiln 2>&1)
	rc=$?
	case $rc in
	0) ok "systemd-tmpfiles creates /run/kiln 0700 root from the installed entry" ;;
	2) skip "systemd-tmpfiles creates /run/kiln" "$why" ;;
	*) fail "systemd-tmpfiles creates /run/kiln 0700 root from the installed entry" "$why" ;;
	esac
}
