# shellcheck shell=bash
# tests/vm/lib.sh - shared by tests/vm/run.sh and tests/vm/ci.sh (sourced).
#
# Kernel: Debian 12's linux-image-6.1.0-*-amd64, fetched with "apt-get
# download" and unpacked with dpkg-deb -x into $VM_CACHE/kernel-<version>
# (no install; the host's own kernel is not touched).

VM_CACHE=${KILN_VM_CACHE:-/var/cache/kiln-vm}

vm_log() { printf 'kiln-vm: %s\n' "$*" >&2; }

# vm_apt ARGS...: apt-get with "apt-get update" once when the package lists
# are missing or stale (a fresh CI machine has none).
vm_apt() {
	local log_f rc=0
	log_f=$(mktemp "${TMPDIR:-/tmp}/kiln-vm-apt.XXXXXX") || return 1
	DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 "$@" >"$log_f" 2>&1 || rc=$?
	if [ $rc != 0 ] && grep -Eq 'Unable to locate package|has no installation candidate|Failed to fetch|404 +Not Found|Can.t select' "$log_f"; then
		rc=0
		DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 update >"$log_f" 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 "$@" >"$log_f" 2>&1 || rc=$?
	fi
	[ $rc = 0 ] || { echo "apt-get $* failed:" >&2; tail -n 15 "$log_f" >&2; }
	rm -f "$log_f"
	return $rc
}

# vm_kernel_pkg: the linux-image-6.1.0-N-amd64 package linux-image-amd64
# points at (KILN_VM_KERNEL_PKG overrides).
vm_kernel_pkg() {
	local p
	if [ -n "${KILN_VM_KERNEL_PKG:-}" ]; then echo "$KILN_VM_KERNEL_PKG"; return 0; fi
	p=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	if [ -z "$p" ]; then
		vm_apt update >/dev/null 2>&1 || true
		p=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	fi
	[ -n "$p" ] || { vm_log "cannot find the linux-image-amd64 kernel package (apt)"; return 1; }
	echo "$p"
}

# vm_kernel: sets KDIR (unpacked package), KVER, VMLINUZ; downloads once.
vm_kernel() {
	local pkg deb tmp
	# a cached kernel is used as is (no apt at all) unless a package is named
	if [ -z "${KILN_VM_KERNEL_PKG:-}" ]; then
		KDIR=$(ls -d "$VM_CACHE"/kernel-*/ 2>/dev/null | sort -V | tail -n1)
		KDIR=${KDIR%/}
	else
		KDIR=$VM_CACHE/kernel-${KILN_VM_KERNEL_PKG#linux-image-}
	fi
	if [ -z "$KDIR" ] || [ ! -f "$KDIR/ok" ]; then
		pkg=$(vm_kernel_pkg) || return 1
		KDIR=$VM_CACHE/kernel-${pkg#linux-image-}
		if [ ! -f "$KDIR/ok" ]; then
			mkdir -p "$VM_CACHE" || return 1
			tmp=$(mktemp -d "$VM_CACHE/dl.XXXXXX") || return 1
			vm_log "downloading $pkg"
			# apt's _apt user cannot write a root-only directory
			chmod 755 "$tmp"
			(cd "$tmp" && apt-get -q download "$pkg" >/dev/null 2>&1) ||
				(vm_apt update >/dev/null && cd "$tmp" && apt-get -q download "$pkg" >/dev/null 2>&1) ||
				{ vm_log "apt-get download $pkg failed"; rm -rf "$tmp"; return 1; }
			deb=$(ls "$tmp"/*.deb) && rm -rf "$KDIR" && mkdir -p "$KDIR" &&
				dpkg-deb -x "$deb" "$KDIR" || { rm -rf "$tmp" "$KDIR"; return 1; }
			rm -rf "$tmp"
			touch "$KDIR/ok"
		fi
	fi
	VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -n1)
	KVER=${VMLINUZ##*/vmlinuz-}
	[ -f "$VMLINUZ" ] || { vm_log "no vmlinuz in $KDIR"; return 1; }
}

# vm_modules NAME...: the .ko paths of the modules and everything they depend
# on, dependencies first (read from each module's modinfo "depends=" field,
# so neither depmod nor modinfo is needed). Built-in (=y) modules are skipped.
vm_modules() {
	local -A path=() seen=()
	local f n out=()
	while IFS= read -r f; do
		n=${f##*/}; n=${n%.ko}; n=${n//-/_}
		path[$n]=$f
	done < <(find "$KDIR/lib/modules/$KVER" -name '*.ko')
	visit() {
		local m=${1//-/_} d
		[ -n "${seen[$m]:-}" ] && return 0
		seen[$m]=1
		[ -n "${path[$m]:-}" ] || return 0 # built in, or absent
		for d in $(grep -ao 'depends=[A-Za-z0-9_,-]*' "${path[$m]}" | head -n1 | sed 's/^depends=//; s/,/ /g'); do
			visit "$d"
		done
		out+=("${path[$m]}")
	}
	for n in "$@"; do visit "$n"; done
	printf '%s\n' "${out[@]}"
}
