/*
 * kiln's exec stub. The container init execs this from a sealed memfd once
 * set-up is done; it waits for `start` and then execs the payload. So from
 * the moment the container can be seen until its end, no process of it has
 * the host's kiln binary as /proc/<pid>/exe (CVE-2019-5736): a
 * "#!/proc/self/exe" payload, or a ptrace-capable neighbour opening
 * /proc/1/exe of a created container, finds this sealed, unwritable copy.
 *
 * While it waits it holds nothing that names a host path: stdio, the
 * preserved fds, and sockets (a socket cannot be reopened through
 * /proc/<pid>/fd, nor walked like a directory).
 *
 * argv: [stub, MODE, FD1, EXECFD, payload-path, payload-argv0, ...]
 *   MODE's first character says what to wait for; a second one, "D", keeps
 *   the stub dumpable (test builds only: KILN_UNSAFE=cve-2016-9962).
 *   MODE "a": FD1 is the listening start socket (create): accept one
 *             connection from `start`, read "S" from it, answer "A", close
 *             FD1; the connection is close-on-exec, so `start` sees EOF
 *             once the payload runs, or an "E..." message if its exec failed;
 *   MODE "s": read "S" from the sync socket FD1 (`run` starts it);
 *   MODE "x": exec at once.
 *   EXECFD >= 0: exec that file (execveat AT_EMPTY_PATH), opened and checked
 *   by the runtime, instead of payload-path (which the container controls).
 * Built freestanding (no libc).
 */
#include <asm/fcntl.h>
#include <asm/unistd.h>
#include <linux/prctl.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#define EINTR 4

static long sys6(long n, long a, long b, long c, long d, long e)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
#define sys4(n, a, b, c, d) sys6(n, a, b, c, d, 0)

static const char kFailed[] = "kiln: exec of the container process failed\n";
static long conn = -1; /* `start`'s connection (mode "a") */

static __attribute__((noreturn)) void die(void)
{
	static const char msg[] = "Eexec of the container process failed";
	sys4(__NR_write, 2, (long)kFailed, sizeof kFailed - 1, 0);
	if (conn >= 0)
		sys4(__NR_write, conn, (long)msg, sizeof msg - 1, 0);
	for (;;)
		sys4(__NR_exit_group, 127, 0, 0, 0);
}

/* pid 1 of a namespace ignores signals it has no handler for; while the
 * container is `created`, SIGTERM and friends must end it as they end
 * runc's init. execve resets these handlers for the payload. */
static void on_signal(int sig)
{
	sys4(__NR_exit_group, 128 + sig, 0, 0, 0);
}

struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

static void exit_on_signals(void)
{
	static const int sigs[] = {1, 2, 3, 10, 12, 13, 14, 15}; /* HUP INT QUIT USR1 USR2 PIPE ALRM TERM */
	/* x86-64 needs SA_RESTORER; the handler never returns, so none runs. */
	struct kernel_sigaction sa = {on_signal, 0x04000000 /* SA_RESTORER */, (void (*)(void))on_signal, 0};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sys4(__NR_rt_sigaction, sigs[i], (long)&sa, 0, 8);
}

static long number(const char *s)
{
	long n = 0, neg = *s == '-';
	s += neg;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return neg ? -n : n;
}

/* One byte "S" from fd; anything else (or EOF) is not a start. */
static int read_start(long fd)
{
	char byte = 0;
	long n;
	do
		n = sys4(__NR_read, fd, (long)&byte, 1, 0);
	while (n == -EINTR);
	return n == 1 && byte == 'S';
}

/* Mode "a": the first connection that says "S" starts us; others are
 * dropped (only root can connect: the socket is 0600 in a 0711 dir). */
static void wait_accept(long listener)
{
	for (;;) {
		long c = sys4(__NR_accept4, listener, 0, 0, O_CLOEXEC);
		if (c == -EINTR)
			continue;
		if (c < 0)
			sys4(__NR_exit_group, 1, 0, 0, 0);
		if (read_start(c)) {
			conn = c;
			sys4(__NR_write, c, (long)"A", 1, 0); /* started: `start` may return */
			break;
		}
		sys4(__NR_close, c, 0, 0, 0);
	}
	sys4(__NR_close, listener, 0, 0, 0);
}

__attribute__((noreturn, used)) void stub_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	if (argc < 6)
		die();
	/* execve made us dumpable again, which would open our /proc/<pid>/fd
	 * and ptrace to any process of the container with our credentials
	 * while the container is `created` (CVE-2016-9962). The payload's
	 * execve makes it dumpable. */
	if (argv[1][0] && argv[1][1] != 'D')
		sys4(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	if (argv[1][0] != 'x')
		exit_on_signals();
	long fd1 = number(argv[2]), exec_fd = number(argv[3]);
	if (argv[1][0] == 'a') {
		wait_accept(fd1);
	} else if (argv[1][0] == 's') {
		if (!read_start(fd1))
			sys4(__NR_exit_group, 1, 0, 0, 0);
		sys4(__NR_close, fd1, 0, 0, 0);
	}
	if (exec_fd >= 0) {
		/* Not inherited by the payload: it is the file being run. */
		sys4(__NR_fcntl, exec_fd, F_SETFD, FD_CLOEXEC, 0);
		sys6(__NR_execveat, exec_fd, (long)"", (long)(argv + 5), (long)envp, AT_EMPTY_PATH);
	} else {
		sys4(__NR_execve, (long)argv[4], (long)(argv + 5), (long)envp, 0);
	}
	die();
}

__asm__(".text\n.globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall stub_main\n");
