/*
 * kiln's exec stub. The container init execs this from a sealed memfd once
 * set-up is done; it waits for `start` and then execs the payload. So from
 * the moment the container can be seen until its end, no process of it has
 * the host's kiln binary as /proc/<pid>/exe (CVE-2019-5736): a
 * "#!/proc/self/exe" payload, or a ptrace-capable neighbour opening
 * /proc/1/exe of a created container, finds this sealed, unwritable copy.
 *
 * argv: [stub, MODE, FD1, FD2, payload-path, payload-argv0, ...]
 *   MODE's first character says what to wait for; a second one, "D", keeps
 *   the stub dumpable (test builds only: KILN_UNSAFE=cve-2016-9962).
 *   MODE "f": open FD2 for writing through the /proc/self/fd directory FD1
 *             (blocks until `start` opens exec.fifo), write "0";
 *   MODE "s": read one byte from the socket FD1 (`run` starts it);
 *   MODE "x": exec at once.
 * Built freestanding (no libc).
 */
#include <asm/fcntl.h>
#include <asm/unistd.h>
#include <linux/prctl.h>

static long sys4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

static const char kFailed[] = "kiln: exec of the container process failed\n";

static __attribute__((noreturn)) void die(void)
{
	sys4(__NR_write, 2, (long)kFailed, sizeof kFailed - 1, 0);
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
	long n = 0;
	while (*s >= '0' && *s <= '9')
		n = n * 10 + (*s++ - '0');
	return n;
}

__attribute__((noreturn, used)) void stub_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	char byte = '0';
	if (argc < 6)
		die();
	/* execve made us dumpable again, which would open our /proc/<pid>/fd
	 * (a /proc/self/fd directory of the host, exec.fifo) and ptrace to any
	 * process of the container with our credentials while the container is
	 * `created` (CVE-2016-9962). The payload's execve makes it dumpable. */
	if (argv[1][0] && argv[1][1] != 'D')
		sys4(__NR_prctl, PR_SET_DUMPABLE, 0, 0, 0);
	if (argv[1][0] != 'x')
		exit_on_signals();
	long fd1 = number(argv[2]), fd2 = number(argv[3]);
	if (argv[1][0] == 'f') {
		long fifo;
		do
			fifo = sys4(__NR_openat, fd1, (long)argv[3], O_WRONLY | O_CLOEXEC, 0);
		while (fifo == -4 /* EINTR */);
		if (fifo < 0 || sys4(__NR_write, fifo, (long)&byte, 1, 0) != 1)
			sys4(__NR_exit_group, 1, 0, 0, 0);
		sys4(__NR_close, fifo, 0, 0, 0);
		sys4(__NR_close, fd1, 0, 0, 0);
		sys4(__NR_close, fd2, 0, 0, 0);
	} else if (argv[1][0] == 's') {
		long n;
		do
			n = sys4(__NR_read, fd1, (long)&byte, 1, 0);
		while (n == -4);
		if (n != 1 || byte != 'S')
			sys4(__NR_exit_group, 1, 0, 0, 0);
		sys4(__NR_close, fd1, 0, 0, 0);
	}
	sys4(__NR_execve, (long)argv[4], (long)(argv + 5), (long)envp, 0);
	die();
}

__asm__(".text\n.globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall stub_main\n");
