/*
 * kiln's exec stub. The container init runs this from a sealed memfd and it
 * execs the payload, so that no process of the container ever has the host's
 * kiln binary as /proc/self/exe (CVE-2019-5736): a "#!/proc/self/exe"
 * payload re-runs this sealed copy, which cannot be written.
 *
 * argv: [stub, payload-path, payload-argv0, payload-argv1, ...]
 * Built freestanding (no libc): a few hundred bytes.
 */
#include <asm/unistd.h>

static long sys3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static const char kFailed[] = "kiln: exec of the container process failed\n";

__attribute__((noreturn, used)) void stub_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	long err = argc >= 3 ? sys3(__NR_execve, (long)argv[1], (long)(argv + 2), (long)envp) : -22;
	(void)err;
	sys3(__NR_write, 2, (long)kFailed, sizeof kFailed - 1);
	for (;;)
		sys3(__NR_exit_group, 127, 0, 0);
}

__asm__(".text\n.globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall stub_main\n");
