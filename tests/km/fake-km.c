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
 * Snapshots (kiln checkpoint/restore of KM containers), as km does them:
 *   - --mgtpipe=PATH (or --mgtpipe PATH): listen on a unix stream socket at
 *     PATH for km_cli's requests (kontainapp/km include/libkontain_mgmt.h:
 *     int opcode (0 = snapshot), int length, char label[256], char
 *     description[256], int live, char snapshot_path[1024]; reply: one int,
 *     0 or an errno). The monitor then stays: the payload runs as its child,
 *     signals are passed on, its exit status is ours (a signal is re-raised);
 *   - a snapshot request writes snapshot_path (open O_RDWR|O_CREAT|O_TRUNC,
 *     as km): an ELF header of type ET_CORE, then text lines "label=",
 *     "description=", "argv=" (the payload's, one per line), "env=". With
 *     live == 0 the payload is killed and the monitor exits 0 after replying.
 *     Logs "snapshot=PATH live=N label=..." to $FAKE_KM_LOG;
 *   - a payload that is such an ET_CORE file is resumed: no further
 *     arguments allowed ("cannot set payload arguments when resuming a
 *     snapshot", exit 1, as km); the recorded argv runs with the recorded
 *     environment plus FAKE_KM_RESUMED=<label>; logs "resume=PATH".
 *   What it cannot do is the real thing: keep the payload's memory. A resumed
 *   payload starts afresh and learns from FAKE_KM_RESUMED that it was resumed.
 * Built static so that it runs inside a busybox-static container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* km's mgmtrequest_t with the snapshot request (libkontain_mgmt.h). */
struct mgmt_request {
	int32_t opcode;
	int32_t length;
	char label[256];
	char description[256];
	int32_t live;
	char snapshot_path[1024];
};

static pid_t child = -1;
static const char *log_path;

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

static void log_line(const char *fmt, const char *a, const char *b)
{
	if (!log_path)
		return;
	FILE *f = fopen(log_path, "a");
	if (!f)
		return;
	fprintf(f, fmt, a, b);
	fclose(f);
}

/* An ELF64 header saying ET_CORE (4), as km's snapshots are core files. */
static int is_snapshot(const char *path)
{
	unsigned char h[18];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, h, sizeof h);
	close(fd);
	return n == sizeof h && !memcmp(h, "\177ELF", 4) && h[16] == 4 && h[17] == 0;
}

static int write_snapshot(const struct mgmt_request *r, char **pargv)
{
	unsigned char h[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
	h[16] = 4; /* ET_CORE */
	h[18] = 62; /* EM_X86_64 */
	int fd = open(r->snapshot_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return errno;
	}
	fwrite(h, 1, sizeof h, f);
	fprintf(f, "\nlabel=%.255s\ndescription=%.255s\n", r->label, r->description);
	for (char **a = pargv; *a; a++)
		fprintf(f, "argv=%s\n", *a);
	for (char **e = environ; *e; e++)
		fprintf(f, "env=%s\n", *e);
	return fclose(f) == 0 ? 0 : EIO;
}

/* The recorded argv/env of a snapshot; FAKE_KM_RESUMED=<label> added. */
static void read_snapshot(const char *path, char ***argv_out, char ***env_out)
{
	static char *args[256], *envs[512];
	int na = 0, ne = 0;
	char line[8192], label[300] = "";
	FILE *f = fopen(path, "r");
	if (!f) {
		perror("fake-km: open snapshot");
		exit(1);
	}
	fseek(f, 64, SEEK_SET);
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "argv=", 5) && na < 255)
			args[na++] = strdup(line + 5);
		else if (!strncmp(line, "env=", 4) && ne < 510 && strncmp(line + 4, "FAKE_KM_RESUMED=", 16))
			envs[ne++] = strdup(line + 4);
		else if (!strncmp(line, "label=", 6))
			snprintf(label, sizeof label, "%.290s", line + 6);
	}
	fclose(f);
	if (!na) {
		fprintf(stderr, "fake-km: snapshot %s records no payload\n", path);
		exit(1);
	}
	char *r = malloc(strlen(label) + 20);
	sprintf(r, "FAKE_KM_RESUMED=%s", label);
	envs[ne++] = r;
	args[na] = NULL;
	envs[ne] = NULL;
	*argv_out = args;
	*env_out = envs;
}

static void pass_on(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* One request per connection, one int back (km_cli's protocol). */
static int serve(int lfd, char **pargv)
{
	struct mgmt_request r;
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 0;
	memset(&r, 0, sizeof r);
	ssize_t n = recv(c, &r, sizeof r, MSG_WAITALL);
	int32_t status = EINVAL;
	if (n == sizeof r && r.opcode == 0) {
		r.snapshot_path[sizeof r.snapshot_path - 1] = 0;
		r.label[sizeof r.label - 1] = r.description[sizeof r.description - 1] = 0;
		status = write_snapshot(&r, pargv);
		char live[16];
		snprintf(live, sizeof live, "%d", r.live);
		log_line("snapshot=%s live=%s\n", r.snapshot_path, live);
	}
	send(c, &status, sizeof status, MSG_NOSIGNAL);
	close(c);
	return status == 0 && r.live == 0;
}

/* --mgtpipe: the payload is our child; we answer snapshot requests. */
static int monitor(const char *pipe_path, const char *exe, char **pargv, char **penv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(pipe_path) >= sizeof addr.sun_path)
		return fail("mgmt path too long");
	strcpy(addr.sun_path, pipe_path);
	unlink(pipe_path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4) < 0) {
		perror("fake-km: mgt socket");
		lfd = -1; /* km warns and runs on without snapshots */
	}
	child = fork();
	if (child < 0)
		return fail("fork");
	if (child == 0) {
		execve(exe, pargv, penv);
		perror("fake-km: exec payload");
		_exit(127);
	}
	int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], pass_on);
	for (;;) {
		int status;
		pid_t w = waitpid(child, &status, WNOHANG);
		if (w == child) {
			unlink(pipe_path);
			if (WIFSIGNALED(status)) {
				signal(WTERMSIG(status), SIG_DFL);
				raise(WTERMSIG(status));
			}
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		struct pollfd p = {lfd, POLLIN, 0};
		if (poll(&p, lfd >= 0 ? 1 : 0, 100) == 1 && serve(lfd, pargv)) {
			/* not live: the payload ends after the snapshot (km's exit_group) */
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			unlink(pipe_path);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	int i = 1, wait_signal = 0;
	const char *mgtpipe = NULL;
	char line[512];
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--wait-for-signal"))
			wait_signal = 1;
		else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("Kontain Monitor version 0.1-fake\n");
			return 0;
		} else if (!strncmp(argv[i], "--mgtpipe=", 10))
			mgtpipe = argv[i] + 10;
		else if (!strcmp(argv[i], "--mgtpipe") && i + 1 < argc)
			mgtpipe = argv[++i];
		else if (takes_value(argv[i]) && i + 1 < argc)
			i++;
	}
	if (i >= argc)
		return fail("usage: km [options] payload [args...]");
	if (argv[i][0] != '/')
		return fail("payload path is not absolute");
	log_path = getenv("FAKE_KM_LOG");
	char **pargv = argv + i, **penv = environ;
	const char *exe = argv[i];
	if (is_snapshot(argv[i])) {
		if (i + 1 < argc)
			return fail("cannot set payload arguments when resuming a snapshot");
		log_line("resume=%s%s\n", argv[i], "");
		read_snapshot(argv[i], &pargv, &penv);
		exe = pargv[0];
	}
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

	if (log_path) {
		FILE *f = fopen(log_path, "a");
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
	if (mgtpipe)
		return monitor(mgtpipe, exe, pargv, penv);
	execve(exe, pargv, penv);
	perror("fake-km: exec payload");
	return 1;
}
