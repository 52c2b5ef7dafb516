#!/bin/busybox sh
# shellcheck shell=dash disable=SC2013,SC2093,SC2015
# tests/vm/init.sh - /init of the VM's initramfs (busybox sh), see README.md.
#
# 1. loads the modules listed in /modules (virtio, 9p, overlay, ...);
# 2. mounts the host's root file system (9p tag "hostroot", read-only) with a
#    tmpfs overlay on top at /newroot, so the VM sees the host's files at the
#    same paths and can write (writes stay in the VM);
#    kiln.mode=systemd: the overlay's lower layer is the cached Debian root
#    kiln.sysroot=DIR (a host path) instead, the host root is under /host and
#    each kiln.bind=DIR (host path) is bound at the same path;
# 3. mounts the results share (9p tag "kilnvm", writable) at /kiln-vm, where
#    run.sh left cmd.sh, and where the status file goes;
# 4. v2: mounts proc/sys/dev/tmp/run and cgroup2 (every controller enabled in
#    the root's subtree_control), switch_root, runs /kiln-vm/stage2.sh as
#    PID 1 (it runs the command, writes the status, powers off);
#    systemd: switch_root to /lib/systemd/systemd, which mounts the rest and
#    starts kiln-vm.service (installed by this script in the overlay).
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

die() {
	echo "kiln-vm init: $*" >/dev/ttyS0
	echo "kiln-vm init: $*" >/dev/ttyS1
	poweroff -f
	sleep 1000
}

mode=v2 sysroot='' binds=''
for a in $(cat /proc/cmdline); do
	case $a in
	kiln.mode=*) mode=${a#kiln.mode=} ;;
	kiln.sysroot=*) sysroot=${a#kiln.sysroot=} ;;
	kiln.bind=*) binds="$binds ${a#kiln.bind=}" ;;
	esac
done

for m in $(cat /modules); do
	insmod "/lib/modules/$m" || die "insmod $m failed"
done

P9="trans=virtio,version=9p2000.L,msize=524288"
mkdir -p /host /rw /newroot
mount -t 9p -o "$P9,ro,cache=loose" hostroot /host || die "mounting the host root (9p) failed"
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
lower=/host
[ "$mode" = systemd ] && lower=/host$sysroot
[ -d "$lower/usr" ] || die "no root file system at $lower"
# index/xino/metacopy off: the lower layer is a network file system
mount -t overlay -o "lowerdir=$lower,upperdir=/rw/upper,workdir=/rw/work" overlay /newroot ||
	die "overlay mount failed"
mkdir -p /newroot/kiln-vm
mount -t 9p -o "$P9" kilnvm /newroot/kiln-vm || die "mounting the results share failed"

if [ "$mode" = systemd ]; then
	# the host's root (read-only) and its writable copies at the same paths
	mkdir -p /rw/hupper /rw/hwork /newroot/host
	mount -t overlay -o "lowerdir=/host,upperdir=/rw/hupper,workdir=/rw/hwork" hostov /newroot/host ||
		die "overlay of the host root failed"
	for b in $binds; do
		mkdir -p "/newroot$b" && mount --bind "/newroot/host$b" "/newroot$b" || die "bind $b failed"
	done
	mkdir -p /newroot/etc/systemd/system/multi-user.target.wants
	cp /kiln-vm.service /newroot/etc/systemd/system/kiln-vm.service
	ln -sf ../kiln-vm.service /newroot/etc/systemd/system/multi-user.target.wants/kiln-vm.service
	for u in serial-getty@ttyS0.service serial-getty@ttyS1.service getty@tty1.service \
		systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer man-db.timer \
		e2scrub_all.timer fstrim.timer systemd-networkd.service systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount; do
		ln -sf /dev/null "/newroot/etc/systemd/system/$u"
	done
	echo kiln-vm >/newroot/etc/hostname
	# systemd mounts the rest (/run, /sys/fs/cgroup, ...) itself
	mount --move /proc /newroot/proc
	mount --move /sys /newroot/sys
	mount --move /dev /newroot/dev
	exec switch_root /newroot /lib/systemd/systemd
	die "switch_root failed"
fi

# ---- v2: a plain PID 1 (stage2.sh) on a pure cgroup2 host
R=/newroot
mount --move /proc $R/proc
mount --move /sys $R/sys
mount --move /dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts $R/dev/pts
ln -sf pts/ptmx $R/dev/ptmx 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t mqueue mqueue $R/dev/mqueue
# Hold the bound paths (the repository, $PWD) aside: /tmp and /run get
# fresh tmpfs mounts, which would hide a repository cloned under them.
i=0
for b in $binds; do
	i=$((i + 1))
	mkdir -p /rw/keep$i && mount --bind "$R$b" /rw/keep$i || die "bind $b failed"
done
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mount -t tmpfs -o mode=755 tmpfs $R/run
i=0
for b in $binds; do
	i=$((i + 1))
	mkdir -p "$R$b" && mount --move /rw/keep$i "$R$b" || die "bind $b failed"
done
mkdir -p $R/run/lock
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || die "mounting cgroup2 failed"
for c in $(cat $R/sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >$R/sys/fs/cgroup/cgroup.subtree_control || echo "kiln-vm init: cannot enable $c" >/dev/ttyS0
done
mkdir -p $R/run/kiln-vm-bin
cp /bin/busybox $R/run/kiln-vm-bin/busybox
exec switch_root $R /run/kiln-vm-bin/busybox sh /kiln-vm/stage2.sh
die "switch_root failed"
