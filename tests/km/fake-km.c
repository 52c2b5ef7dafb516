/*
 * fake-km: a stand-in for Kontain's km monitor, for tests on hosts without
 * KVM. It behaves like km at its interface and records what it saw:
 *   km [options] PAYLOAD [args...]
 *   - options come before the payload (parsing stops at the first non-option);
 *   - no payload: usage, exit 1; a relative payload: exit 1 (kiln must pass
 *     an absolute path);
 *   - needs a virtualization device: the first of /dev/kontain, /dev/kvm,
 *     /dev/kkm that exists must be a char device (FAKE_KM_EXPECT=MAJ:MIN
 *     checks its numbers) whose open(O_RDWR) is not refused by the device
 *     cgroup (EPERM); ENXIO/ENODEV (no driver behind a stand-in node) is fine;
 *   - --wait-for-signal: block SIGUSR1, then wait for it (km's preload mode);
 *   - appends "argv[i]=...", "env=...", "device=..." lines to $FAKE_KM_LOG
 *     (when set), then execs the payload with [payload, args...].
 * Built static so that it runs inside a busybox-static container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *msg)
{
	fprintf(stderr, "fake-km: %s\n", msg);
	return 1;
}

/* Options of km that take a value as the next argument. */
static int takes_value(const char *o)
{
	return !strcmp(o, "-F") || !strcmp(o, "-k") || !strcmp(o, "-P") || !strcmp(o, "-C") || !strcmp(o, "-e") ||
	       !strcmp(o, "--putenv") || !strcmp(o, "--copyenv") || !strcmp(o, "--mgtpipe");
}

int main(int argc, char **argv)
{
	int i = 1, wait_signal = 0;
	char line[512];
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--wait-for-signal"))
			wait_signal = 1;
		else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("Kontain Monitor version 0.1-fake\n");
			return 0;
		} else if (takes_value(argv[i]) && i + 1 < argc)
			i++;
	}
	if (i >= argc)
		return fail("usage: km [options] payload [args...]");
	if (argv[i][0] != '/')
		return fail("payload path is not absolute");

	const char *devs[] = {"/dev/kontain", "/dev/kvm", "/dev/kkm"};
	const char *dev = NULL;
	struct stat st;
	for (unsigned d = 0; d < 3 && !dev; d++)
		if (stat(devs[d], &st) == 0)
			dev = devs[d];
	if (!dev)
		return fail("Can't open default device file");
	if (!S_ISCHR(st.st_mode))
		return fail("device is not a char device");
	snprintf(line, sizeof line, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	const char *want = getenv("FAKE_KM_EXPECT");
	if (want && strcmp(want, line))
		return fail("device numbers differ from FAKE_KM_EXPECT");
	int fd = open(dev, O_RDWR);
	if (fd < 0 && (errno == EPERM || errno == EACCES))
		return fail("access to the device is denied (device cgroup or mode)");
	if (fd >= 0)
		close(fd);

	const char *log = getenv("FAKE_KM_LOG");
	if (log) {
		FILE *f = fopen(log, "a");
		if (!f)
			return fail("cannot open FAKE_KM_LOG");
		fprintf(f, "device=%s %s\n", dev, line);
		for (int k = 0; k < argc; k++)
			fprintf(f, "argv[%d]=%s\n", k, argv[k]);
		for (char **e = environ; *e; e++)
			fprintf(f, "env=%s\n", *e);
		fclose(f);
	}
	if (wait_signal) {
		sigset_t set;
		int sig;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		fprintf(stderr, "Waiting for kill -SIGUSR1 %d\n", getpid());
		sigwait(&set, &sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	execv(argv[i], argv + i);
	perror("fake-km: exec payload");
	return 1;
}
