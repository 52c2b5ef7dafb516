# shellcheck shell=bash
# tests/vm/sysroot.sh - the root file system of "run.sh systemd" (sourced).
#
# A minimal Debian 12 (mmdebstrap --variant=minbase) with systemd as init,
# dbus for the system bus, and what kiln and its e2e tests need at run time.
# Built once into $VM_CACHE/sysroot-<hash of the package list> (~1-3 min,
# ~300 MB) from the host's apt sources; later runs reuse it.

# libpam-systemd: user sessions (user@UID.service needs pam_systemd for its
# XDG_RUNTIME_DIR); uidmap: newuidmap/newgidmap for the rootless tests.
VM_SYSROOT_PKGS="systemd systemd-sysv dbus bash python3 busybox-static iproute2 util-linux
 procps kmod libyajl2 libmnl0 libseccomp2 libcap2 libcap2-bin libsystemd0 libpam-systemd uidmap ${KILN_VM_SYSROOT_PKGS:-}"

# vm_sysroot: prints the sysroot's path, building it when missing.
vm_sysroot() {
	local key dir tmp srcs=() f proxy aptopts=() log_f
	key=$(echo "bookworm $VM_SYSROOT_PKGS" | tr -s ' \n' ' ' | md5sum | cut -c1-12)
	dir=$VM_CACHE/sysroot-$key
	if [ -f "$dir.ok" ] && [ -x "$dir/lib/systemd/systemd" ]; then echo "$dir"; return 0; fi
	if ! command -v mmdebstrap >/dev/null; then
		vm_log "installing mmdebstrap"
		vm_apt install --no-install-recommends mmdebstrap >&2 || return 1
	fi
	# the host's apt sources (and proxy), so that CI's mirror is used
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -s "$f" ] && grep -Eq '^(deb |Types:.*deb)' "$f" && srcs+=("$f")
	done
	proxy=$(apt-config shell P Acquire::http::Proxy 2>/dev/null | sed -n "s/^P='\(.*\)'$/\1/p")
	[ -n "$proxy" ] && aptopts+=(--aptopt="Acquire::http::Proxy \"$proxy\"")
	mkdir -p "$VM_CACHE" || return 1
	tmp=$dir.tmp
	rm -rf "$tmp" "$dir" "$dir.ok"
	vm_log "building the systemd root $dir (mmdebstrap, once)"
	log_f=$(mktemp "${TMPDIR:-/tmp}/kiln-vm-mmdebstrap.XXXXXX") || return 1
	# shellcheck disable=SC2086
	if ! mmdebstrap --mode=root --variant=minbase --format=directory \
		--include="$(echo $VM_SYSROOT_PKGS | tr ' ' ,)" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		"${aptopts[@]}" bookworm "$tmp" "${srcs[@]}" >"$log_f" 2>&1; then
		vm_log "mmdebstrap failed:"
		tail -n 20 "$log_f" >&2
		rm -rf "$tmp" "$log_f"
		return 1
	fi
	rm -f "$log_f"
	# no password for the console; a fixed machine-id is not wanted
	: >"$tmp/etc/machine-id"
	mv "$tmp" "$dir" && touch "$dir.ok" || return 1
	echo "$dir"
}
