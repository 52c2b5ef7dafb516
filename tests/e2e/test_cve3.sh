# shellcheck shell=bash
# Regression tests for the escapes of the security review in issue #11
# (findings 4, 5, 6 and the smaller ones of 8). Each test replays the attack
# and passes when it fails; each fails once its protection is switched off
# (tests/cve-off.sh: build-unsafe, KILN_UNSAFE=<knob>):
#
#   uid-range       uid/gid 4294967295 ((uid_t)-1, "unchanged" to setresuid)
#                   or above 2^31-1 in process.user and `exec --user`
#   keyring         containers sharing the engine's session keyring
#   mount-race      a racing volume (or rootfs) moving a mount destination
#                   between the check and the mount, or between the mount and
#                   the remount that makes it read-only
#   state-tmp       the state file written through a fixed temporary name by
#                   path, in a --root that others can write
#   net-sysctl      net.* sysctls with a joined host network namespace
#   lsm-proc        the LSM exec label written through the container's /proc
#   cgroup-kill     kill --all / delete missing processes in sub-cgroups
#   foreign-cgroup  a cgroupsPath naming a populated cgroup kiln did not make

# The limit runc gives (libcontainer/user: "uids and gids must be in range").
RANGE_ERR="must be in range 0-2147483647"

# C_FILE: compiles C source $2 statically to $1 (skips without a compiler).
_cc_static() {
	printf '%s\n' "$2" | cc -O2 -static -x c -o "$1" - 2>"$TD/cc.err" ||
		skip "cannot build a static C helper: $(head -c 200 "$TD/cc.err")"
}

# ------------------------------------------------------------- uid-range ---

# process.user.uid 4294967295 is (uid_t)-1: setresuid(-1, -1, -1) changes
# nothing and the payload runs as root. additionalGids above 2^31-1 are out
# of runc's range too. Safe: refused, naming the field, and nothing ran.
test_uid_4294967295_config() {
	local id want
	for want in "uid 4294967295" "gid 4294967295" "gids [2147483648]"; do
		id=$(new_id)
		case $want in
		uid*) C_UID=4294967295 run_in "$id" sh -c 'echo RAN uid=$(id -u)' ;;
		gid*) C_GID=4294967295 run_in "$id" sh -c 'echo RAN gid=$(id -g)' ;;
		gids*) C_GIDS='[2147483648]' run_in "$id" sh -c 'echo RAN groups=$(id -G)' ;;
		esac
		[[ $OUT != *RAN* ]] || fail "$(ctx "process.user $want: the payload ran")"
		[ "$RC" != 0 ] || fail "$(ctx "process.user $want was accepted")"
		expect_msg "$RANGE_ERR" "refusal of $want"
		if [ "$RT_NAME" = kiln ]; then
			case $want in
			uid*) expect_err_has "process.user.uid" ;;
			gid*) expect_err_has "process.user.gid" ;;
			gids*) expect_err_has "process.user.additionalGids[0]" ;;
			esac
		fi
		assert_clean "$id"
	done
}

# The same through `exec --user`, `--additional-gids` and `exec --process`.
test_uid_4294967295_exec() {
	local id b args
	id=$(new_id)
	b=$(mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	printf '{"args": ["sh", "-c", "echo RAN uid=$(id -u)"], "cwd": "/", "user": {"uid": 4294967295, "gid": 0}}' >"$TD/p.json"
	for args in "--user 4294967295" "--user 0:4294967295" "--additional-gids 2147483648" "--process $TD/p.json"; do
		# shellcheck disable=SC2086
		cap rt exec $args "$id" sh -c 'echo RAN uid=$(id -u)'
		[[ $OUT != *RAN* ]] || fail "$(ctx "exec $args: the process ran")"
		[ "$RC" != 0 ] || fail "$(ctx "exec $args was accepted")"
		expect_msg "$RANGE_ERR" "refusal of exec $args"
		if [ "$RT_NAME" = kiln ]; then
			case $args in
			--user*) expect_err_has "--user" ;;
			--add*) expect_err_has "--additional-gids" ;;
			--pro*) expect_err_has "process.user.uid" ;;
			esac
		fi
	done
}

# --------------------------------------------------------------- keyring ---

# kh: add DESC DATA (to @s) | read DESC (search @s) | ring (describe @s) |
# session CMD... (run CMD in a new anonymous session keyring)
KH_C='
#define _GNU_SOURCE
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char buf[512];
    long id, n;
    if (argc > 2 && !strcmp(argv[1], "session")) {
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0) return perror("join"), 2;
        execvp(argv[2], argv + 2);
        return perror("exec"), 2;
    }
    if (argc > 3 && !strcmp(argv[1], "add")) {
        id = syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]), KEY_SPEC_SESSION_KEYRING);
        if (id < 0) return perror("add_key"), 2;
        return printf("added %ld\n", id) < 0;
    }
    if (argc > 2 && !strcmp(argv[1], "read")) {
        id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[2], 0);
        if (id < 0) return perror("search"), 1;
        n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1, 0);
        if (n < 0) return perror("read"), 1;
        buf[n < (long)sizeof buf ? n : (long)sizeof buf - 1] = 0;
        return printf("key=%s\n", buf) < 0;
    }
    if (argc > 1 && !strcmp(argv[1], "ring")) {
        n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, buf, sizeof buf, 0);
        if (n < 0) return perror("describe"), 1;
        return printf("ring=%s\n", buf) < 0;
    }
    return 2;
}
'

# _keyring_setup: private rootfs with /bin/kh; exports what a sub-shell in a
# new session keyring (the engine's, shared by the containers) needs.
_keyring_setup() {
	make_rootfs "$TD/rootfs" || fail "cannot make a rootfs"
	_cc_static "$TD/rootfs/bin/kh" "$KH_C"
	KEY=kiln-secret-$E2E_RUNID-$RANDOM
	export TD ROOT TEST_NO TEST_NAME KEY
}
# _in_new_session FUNC: FUNC in a bash that has joined a new, anonymous
# session keyring (the engine's, here): nothing goes to the host's.
_in_new_session() {
	"$TD/rootfs/bin/kh" session bash -c '. "$E2E_DIR/lib.sh"; . "$E2E_DIR/test_cve3.sh"; "$1"' bash "$1" || exit 1
}

# In one engine session: container A adds a key to its session keyring and
# keeps running; container B (run after it) looks for that key in its own.
# Safe: B finds nothing; an `exec` in A still finds it (joined "_ses.<A>").
test_keyring_per_container() {
	_keyring_setup
	_in_new_session _keyring_attack
}
_keyring_attack() {
	local a b ba bb
	a=$(new_id)
	b=$(new_id)
	ba=$(C_ROOTFS=$TD/rootfs mkb "$a" sh -c "kh add $KEY topsecret-A >/mnt/added 2>&1; kh ring >>/mnt/added; exec sleep 60")
	cap rt run -d --bundle "$ba" "$a"
	expect_ok "run -d A"
	wait_nonempty "$ba/share/added"
	grep -q '^added ' "$ba/share/added" || fail "container A could not add its key: $(cat "$ba/share/added")"
	bb=$(C_ROOTFS=$TD/rootfs mkb "$b" sh -c "kh ring; kh read $KEY")
	cap rt run --bundle "$bb" "$b"
	[[ $OUT != *topsecret-A* ]] || fail "$(ctx "container B read the key container A added")"
	if [ "$RT_NAME" != crun ]; then
		grep -q "^ring=keyring;.*;_ses\.$a\$" "$ba/share/added" || fail "A's session keyring is not _ses.$a: $(cat "$ba/share/added")"
		[[ $OUT == *"ring=keyring;"*";_ses.$b"* ]] || fail "$(ctx "B's session keyring is not _ses.$b")"
	fi
	cap rt exec "$a" kh read "$KEY"
	expect_ok "exec in A reads A's key"
	expect_out_eq "key=topsecret-A" "exec in A"
}

# --no-new-keyring: the containers keep the caller's session keyring, as with
# runc, so B does see A's key.
test_keyring_no_new_keyring() {
	_keyring_setup
	_in_new_session _keyring_shared
}
_keyring_shared() {
	local a b ba bb
	a=$(new_id)
	b=$(new_id)
	ba=$(C_ROOTFS=$TD/rootfs mkb "$a" kh add "$KEY" shared-A)
	cap rt run --no-new-keyring --bundle "$ba" "$a"
	expect_ok "run --no-new-keyring A"
	bb=$(C_ROOTFS=$TD/rootfs mkb "$b" kh read "$KEY")
	cap rt run --no-new-keyring --bundle "$bb" "$b"
	expect_ok "--no-new-keyring: B reads the key of the caller's session"
	expect_out_eq "key=shared-A"
	cap "$TD/rootfs/bin/kh" read "$KEY"
	expect_out_eq "key=shared-A" "the caller's session keyring holds A's key"
}

# ------------------------------------------------------------ mount-race ---

# _racer DIR A B: swaps DIR/A and DIR/B (renameat2 RENAME_EXCHANGE) for ever,
# at high priority (a swap must fall in a window of microseconds).
RACER_C='
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int d = open(argv[1], O_RDONLY | O_DIRECTORY);
    for (;;) renameat2(d, argv[2], d, argv[3], RENAME_EXCHANGE);
}
'
_racer() {
	[ -x "$TD/racer" ] || _cc_static "$TD/racer" "$RACER_C"
	nice -n -10 "$TD/racer" "$@" &
	RACER=$!
	note_pid $RACER
}
_stop_racer() {
	kill -9 "$RACER" 2>/dev/null
	wait "$RACER" 2>/dev/null
}

# A volume the container shares holds d/mnt, and a symlink s -> / that a
# racer swaps with d. The config binds a host dir read-only at /vol/d/mnt,
# 100 times over. A runtime that binds through an fd but applies `ro` to the
# path looked up again lands the remount on /mnt (the bundle's share, a mount
# too) whenever the swap falls between the two: the bind stays writable.
# Safe: every bind of the data dir is read-only (seen from the host in the
# created init's mountinfo), in every create. runc 1.1.5 fails this test
# (2 of 9 creates here): its remount looks the destination up again too,
# and its procfd check only compares that second lookup with itself.
test_mount_race_ro_bind() {
	local vol=$TD/vol data=$TD/rodata-$E2E_RUNID-$RANDOM mounts k i id b pid rw leaks=0 ran=0
	mkdir -p "$vol/d/mnt" "$data"
	ln -s / "$vol/s"
	make_rootfs "$TD/rootfs" || fail "cannot make a rootfs"
	mkdir -p "$TD/rootfs/vol"
	mounts="{ \"destination\": \"/vol\", \"type\": \"bind\", \"source\": \"$vol\", \"options\": [\"rbind\"] }"
	for k in $(seq 1 100); do
		mounts+=", { \"destination\": \"/vol/d/mnt\", \"type\": \"bind\", \"source\": \"$data\", \"options\": [\"bind\", \"ro\"] }"
	done
	_racer "$vol" d s
	poll 10 test -L "$vol/d" || fail "the racer does not swap"
	local t_end=$((SECONDS + 20))
	for i in $(seq 1 30); do
		[ "$i" -le 3 ] || [ "$SECONDS" -lt "$t_end" ] || break
		id=$(new_id)
		b=$(C_ROOTFS=$TD/rootfs C_MOUNTS=$mounts mkb "$id" true)
		cap rt create --bundle "$b" "$id"
		if [ "$RC" = 0 ]; then
			ran=$((ran + 1))
			pid=$(pid_of "$id")
			# mountinfo: field 4 is the mount's root in its filesystem, 6 its options
			rw=$(awk -v d="/${data##*/}" 'substr($4, length($4) - length(d) + 1) == d && $6 ~ /^rw/' "/proc/$pid/mountinfo" | wc -l)
			[ "$rw" = 0 ] || leaks=$((leaks + 1))
			echo "create $i: $rw of the read-only binds writable" >&2
		else
			echo "create $i: rc=$RC $(head -c 200 <<<"$ERR")" >&2
		fi
		rt delete -f "$id" >/dev/null 2>&1
	done
	_stop_racer
	echo "$ran creates, $leaks with a writable ro bind" >&2
	[ "$leaks" = 0 ] || fail "an ro bind was left writable in $leaks of $ran creates"
	[ "$ran" -gt 0 ] || [ "$RT_NAME" = runc ] || fail "$(ctx "no create succeeded")"
}

# The rootfs (a volume another container writes, say) has proc/ and a
# symlink procsym -> /pp that a racer swaps. A runtime that checks the
# procfs destination without following symlinks but mounts on a second
# lookup that follows them puts procfs at /pp, where maskedPaths and
# readonlyPaths never look. Safe: procfs is never at /pp (the runtime mounts
# on what it checked, or refuses the symlink).
test_mount_race_proc_destination() {
	local i id b pid escaped=0 ran=0
	make_rootfs "$TD/rootfs" || fail "cannot make a rootfs"
	mkdir -p "$TD/rootfs/pp"
	ln -s /pp "$TD/rootfs/procsym"
	_racer "$TD/rootfs" proc procsym
	poll 10 test -L "$TD/rootfs/proc" || fail "the racer does not swap"
	# The window is a few microseconds: as many creates as fit in 40 s (a
	# loaded host gets few), stopping at the first escape.
	local t_end=$((SECONDS + 40))
	for i in $(seq 1 300); do
		[ "$i" -le 3 ] || [ "$SECONDS" -lt "$t_end" ] || break
		[ "$escaped" = 0 ] || break
		id=$(new_id)
		b=$(C_ROOTFS=$TD/rootfs mkb "$id" true)
		cap rt create --bundle "$b" "$id"
		if [ "$RC" = 0 ]; then
			ran=$((ran + 1))
			pid=$(pid_of "$id")
			# mountinfo field 5: the mount point, as the container sees it
			awk '$5 == "/pp"' "/proc/$pid/mountinfo" | grep -q . && escaped=$((escaped + 1))
		fi
		echo "create $i: rc=$RC escaped=$escaped $(head -c 200 <<<"$ERR")" >&2
		rt delete -f "$id" >/dev/null 2>&1
	done
	_stop_racer
	echo "$ran creates, procfs at /pp in $escaped" >&2
	[ "$escaped" = 0 ] || fail "procfs was mounted through the symlink at /pp in $escaped of $ran creates"
	[ "$ran" -gt 0 ] || [ "$RT_NAME" = runc ] || fail "$(ctx "no create succeeded")"
}

# ------------------------------------------------------------- state-tmp ---

# Run by an unprivileged user (nobody): waits for the container's state dir
# in a --root anyone may write, moves it aside, puts its own dir there with
# state.json.tmp a symlink to a root-owned file.
STATE_THIEF='
import os, sys
root, cid, victim = sys.argv[1:4]
d = os.path.join(root, cid)
while not os.path.isdir(d):
    pass
os.rename(d, d + ".stolen")
os.mkdir(d)
os.symlink(victim, os.path.join(d, "state.json.tmp"))
print("swapped", flush=True)
'

# A --root that other users can write (0777): a user swaps the container's
# state directory during `create` for one whose state.json.tmp is a symlink
# to a root-owned file. A runtime that writes its state through that fixed
# name, by path, truncates and overwrites the file. Safe: the file is
# intact; kiln refuses such a --root outright.
test_state_tmp_symlink_swap() {
	local root=$TD/sroot victim=$TD/victim id b thief
	# not a per-user python3 (pyenv under /root): nobody must be able to run it
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 needed for the attacker"
	command -v setpriv >/dev/null || skip "setpriv needed to run the attacker as nobody"
	mkdir -p "$root"
	chmod 0777 "$root"
	echo ORIG >"$victim"
	chmod 0644 "$victim"
	id=$(new_id)
	b=$(mkb "$id" true)
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "$STATE_THIEF" "$root" "$id" "$victim" >"$TD/thief.out" 2>&1 &
	thief=$!
	note_pid $thief
	sleep 0.3
	cap timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$root" create --bundle "$b" "$id"
	echo "create: rc=$RC err=$ERR thief: $(cat "$TD/thief.out")" >&2
	kill -9 $thief 2>/dev/null
	wait $thief 2>/dev/null
	timeout -k 5 "$E2E_CMD_TIMEOUT" "$KILN" --root "$root" delete -f "$id" >/dev/null 2>&1
	[ -d "$root/$id.stolen" ] && { timeout 10 "$KILN" --root "$root" delete -f "$id" >/dev/null 2>&1; rm -rf "$root/$id.stolen"; }
	[ "$(cat "$victim")" = ORIG ] || fail "$(ctx "the state was written through the planted symlink into a root-owned file: $(head -c 100 "$victim")")"
	if [ "$RT_NAME" = kiln ]; then
		[ "$RC" != 0 ] || fail "$(ctx "a --root writable by others was accepted")"
		expect_err_has "writable by other users"
		for cmd in "list" "state $id" "delete $id"; do
			# shellcheck disable=SC2086
			cap "$KILN" --root "$root" $cmd
			[ "$RC" != 0 ] || fail "$(ctx "$cmd in a --root writable by others was accepted")"
		done
	fi
}

# ------------------------------------------------------------ net-sysctl ---

# net.* sysctls with the network namespace joined by path, and that path is
# the namespace the runtime runs in (its "host"): the sysctl would change the
# host's network stack. The test's "host" is a network namespace of its own
# (unshare -n), so nothing outside the test changes. Safe: refused, and the
# host's ip_forward stays 0.
test_net_sysctl_host_netns() {
	local id b
	command -v unshare >/dev/null || skip "unshare needed"
	id=$(new_id)
	b=$(C_NS='{"type":"pid"},{"type":"network","path":"/proc/self/ns/net"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' \
		mkb "$id" cat /proc/sys/net/ipv4/ip_forward)
	sed -i 's|"linux": {|"linux": { "sysctl": { "net.ipv4.ip_forward": "1" },|' "$b/config.json"
	cap unshare -n sh -c 'timeout 30 "$1" --root "$2" run --bundle "$3" "$4"; echo "host ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"' \
		sh "$KILN" "$ROOT" "$b" "$id"
	[[ $OUT != *"host ip_forward=1"* ]] || fail "$(ctx "the sysctl changed the network namespace the runtime runs in")"
	[[ $OUT == *"host ip_forward=0"* ]] || fail "$(ctx "could not read the namespace's ip_forward")"
	expect_err_has "host"
	expect_err_has "network namespace"
	[ "$RT_NAME" != kiln ] || expect_err_has "linux.sysctl.net.ipv4.ip_forward"
}

# -------------------------------------------------------------- lsm-proc ---

# process.apparmorProfile is applied by writing /proc/thread-self/attr/...
# An image whose /proc is a symlink to /mnt (the bundle's share, a host dir)
# and whose /sys says AppArmor is on, with a config that mounts neither:
# a runtime that checks /sys and writes /proc after pivot_root writes the
# label into a file of the share, and the payload runs unconfined while the
# engine believes it confined. Safe: the share's files are untouched, and
# the payload either runs under the profile or does not run at all.
test_lsm_label_fake_proc() {
	local id b f profile=kiln-e2e-profile-$E2E_RUNID
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs C_MOUNTS='{ "destination": "/realproc", "type": "proc", "source": "proc" }' \
		mkb "$id" sh -c 'echo "current=$(cat /realproc/self/attr/current 2>&1)"')
	make_rootfs "$TD/rootfs" || fail "cannot make a rootfs"
	rmdir "$TD/rootfs/proc" && ln -s /mnt "$TD/rootfs/proc"
	mkdir -p "$TD/rootfs/sys/module/apparmor/parameters"
	echo Y >"$TD/rootfs/sys/module/apparmor/parameters/enabled"
	sed -i -e '/"destination": "\/proc", "type": "proc"/d' -e '/"destination": "\/sys", "type": "sysfs"/,+1d' \
		-e '/"destination": "\/sys\/fs\/cgroup", "type": "cgroup"/,+1d' \
		-e "s|\"noNewPrivileges\"|\"apparmorProfile\": \"$profile\", \"noNewPrivileges\"|" "$b/config.json"
	grep -q apparmorProfile "$b/config.json" && ! grep -q '"type": "sysfs"' "$b/config.json" || fail "could not edit the config"
	mkdir -p "$b/share/thread-self/attr/apparmor" "$b/share/self/attr"
	for f in thread-self/attr/apparmor/exec thread-self/attr/exec self/attr/exec; do : >"$b/share/$f"; done
	cap rt run --bundle "$b" "$id"
	for f in thread-self/attr/apparmor/exec thread-self/attr/exec self/attr/exec; do
		[ ! -s "$b/share/$f" ] || fail "$(ctx "the AppArmor label went into the image's fake /proc/$f: $(cat "$b/share/$f")")"
	done
	if [ "$RC" = 0 ]; then
		[[ $OUT == *"current=$profile"* ]] || fail "$(ctx "the payload ran without its AppArmor profile")"
	else
		expect_msg "pparmor" "a refusal should name AppArmor"
	fi
}

# ------------------------------------------- cgroup-kill, foreign-cgroup ---

# _cg_mkdir REL: mkdir /sys/fs/cgroup/<hierarchy>/REL in every hierarchy
# (or the pure v2 root), each new cpuset level with its parent's cpus/mems.
_cg_mkdir() {
	local h d part f
	for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
		[ -d "$h" ] && [ ! -L "$h" ] && [ -f "$h/cgroup.procs" ] || continue
		d=$h
		for part in ${1//\// }; do
			[ -d "$d/$part" ] || {
				mkdir "$d/$part" || return 1
				for f in cpuset.cpus cpuset.mems; do
					[ -f "$d/$f" ] && cat "$d/$f" >"$d/$part/$f"
				done
			}
			d=$d/$part
		done
		echo "$d"
	done
}

# A container without a pid namespace of its own (killing its init does not
# take the rest with it) and two processes `exec --cgroup sub` put in a
# sub-cgroup, one ignoring SIGTERM. A runtime that signals only the top
# cgroup's cgroup.procs misses both: kill --all TERM leaves the first
# running, delete -f leaves the second running (and the cgroup behind).
# Safe: both die, nothing is left.
test_cgroup_kill_sub_cgroups() {
	local id b p1 p2
	id=$(new_id)
	b=$(C_NS='{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}' mkb "$id" sh -c 'trap "" TERM; exec sleep 60')
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d"
	_cg_mkdir "$E2E_CGPARENT/$id/sub" >/dev/null || fail "cannot make the sub-cgroups"
	cap rt exec -d --cgroup sub --pid-file "$TD/p1" "$id" sleep 600
	expect_ok "exec --cgroup sub (1)"
	cap rt exec -d --cgroup sub --pid-file "$TD/p2" "$id" sh -c 'trap "" TERM; exec sleep 600'
	expect_ok "exec --cgroup sub (2)"
	p1=$(cat "$TD/p1") p2=$(cat "$TD/p2")
	note_pid "$p1"
	note_pid "$p2"
	grep -q ":/$E2E_CGPARENT/$id/sub\$" "/proc/$p1/cgroup" || fail "process 1 is not in the sub-cgroup: $(cat "/proc/$p1/cgroup")"
	cap rt kill --all "$id" TERM
	expect_ok "kill --all TERM"
	poll 5 _pid_dead "$p1" || fail "kill --all TERM did not reach the process in a sub-cgroup"
	kill -0 "$p2" || fail "the process that ignores SIGTERM died of kill --all TERM"
	cap rt delete -f "$id"
	expect_ok "delete -f"
	poll 5 _pid_dead "$p2" || fail "delete -f left the process in a sub-cgroup running"
	assert_clean "$id"
}

# cgroupsPath names a cgroup that already exists and holds a process kiln
# did not start (here a `sleep` of the test; cgroupsPath "/" is the same with
# every process of the host). A runtime that takes it kills that process on
# delete (and pause, update would act on it). Safe: the create is refused
# (runc 1.2: "container's cgroup is not empty"); the process lives on.
test_foreign_cgroup_populated() {
	local cg id b d victim
	cg=$(new_id)
	sleep 600 </dev/null >/dev/null 2>&1 &
	victim=$!
	note_pid $victim
	for d in $(_cg_mkdir "$E2E_CGPARENT/$cg") ; do echo "$victim" >"$d/cgroup.procs" || fail "cannot move the victim into $d"; done
	id=$(new_id)
	b=$(C_CGPATH=$(cg_path "$cg") mkb "$id" sleep 60)
	cap rt run -d --bundle "$b" "$id"
	local rc=$RC err=$ERR
	[ "$rc" != 0 ] || cap rt delete -f "$id"
	sleep 0.2
	kill -0 "$victim" 2>/dev/null && ! _pid_dead "$victim" || fail "$(ctx "the runtime killed a process in the cgroup it did not make (create rc=$rc)")"
	if [ "$RT_NAME" = kiln ]; then
		RC=$rc ERR=$err
		[ "$RC" != 0 ] || fail "$(ctx "a populated cgroupsPath was accepted")"
		expect_err_has "container's cgroup is not empty: 1 process(es) found"
		assert_clean "$id"
	fi
}

# After pivot_root a /proc/self/fd/N path goes through the container's /proc.
# With the image's /proc a symlink to /mnt (the bundle's share) whose
# self/fd/N are symlinks to /decoy, a runtime that masks a directory by
# mounting onto /proc/self/fd/N masks /decoy instead, and /sys/firmware
# stays readable. Safe: /sys/firmware is the empty read-only tmpfs, /decoy
# untouched (or the run is refused naming /proc).
test_mask_by_fd_fake_proc() {
	local id b n
	[ -d /sys/firmware ] || skip "no /sys/firmware on this host"
	id=$(new_id)
	b=$(C_ROOTFS=$TD/rootfs C_MOUNTS='{ "destination": "/realproc", "type": "proc", "source": "proc" }' \
		mkb "$id" sh -c 'echo "firmware=$(stat -f -c %T /sys/firmware):$(ls -A /sys/firmware | wc -l) decoy=$(stat -f -c %T /decoy)"')
	make_rootfs "$TD/rootfs" || fail "cannot make a rootfs"
	rmdir "$TD/rootfs/proc" && ln -s /mnt "$TD/rootfs/proc"
	mkdir -p "$TD/rootfs/decoy"
	sed -i '/"destination": "\/proc", "type": "proc"/d' "$b/config.json"
	mkdir -p "$b/share/self/fd" "$b/share/thread-self"
	for n in $(seq 0 99); do ln -s /decoy "$b/share/self/fd/$n"; done
	cap rt run --bundle "$b" "$id"
	if [ "$RC" != 0 ]; then
		expect_msg "/proc" "a refusal should name /proc"
		return 0
	fi
	expect_out_has "firmware=tmpfs:0 " "/sys/firmware masked by an empty tmpfs"
	[[ $OUT != *"decoy=tmpfs"* ]] || fail "$(ctx "the mask went onto /decoy through the fake /proc")"
}
