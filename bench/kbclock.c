/*
 * kbclock - run commands and measure them for bench/kbench.py.
 *
 *   kbclock [-g ACCT_CGROUP] [-j JOIN_CGROUP] [-o STDOUT] [-e STDERR] -- CMD [ARG...]
 *   kbclock [-g ...] [-j ...] [-e STDERR] -P PAR -b FILE
 *
 * The first form runs one command; the second runs every line of FILE (arguments
 * separated by TABs), PAR at a time. Each forked child first moves itself into
 * the cgroup directory JOIN_CGROUP (writes 0 to its cgroup.procs) and then execs
 * the command, so the CPU the command and everything it starts use is charged to
 * ACCT_CGROUP (JOIN_CGROUP and the containers' cgroups are below it) and nothing
 * of kbclock or of the Python harness is.
 *
 * Output on stdout, one line per command (in completion order):
 *   C <index> <exit status> <wall_us> <ru_user_us> <ru_sys_us> <maxrss_kib> <minflt> <majflt>
 * (the rusage is wait4's: the command and the descendants it waited for) and last
 *   T <wall_us> <cpu_us> <cpu_user_us> <cpu_sys_us>
 * with the wall time of the whole run and the CPU charged to ACCT_CGROUP meanwhile
 * (cgroup v1 cpuacct.usage{,_user,_sys} or v2 cpu.stat; -1 without -g).
 * The exit status is 128+N for a command killed by signal N, 127 if exec failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct cpu {
    long long total_us, user_us, sys_us;
};

static const char *acct_dir, *join_dir, *out_path = "/dev/null", *err_path = "/dev/null";

static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long read_number(const char *dir, const char *name) {
    char path[4096], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    return atoll(buf);
}

/* v2 cpu.stat: "usage_usec N\nuser_usec N\nsystem_usec N\n..." */
static int read_cpu_stat(const char *dir, struct cpu *c) {
    char path[4096], key[64];
    long long v;
    snprintf(path, sizeof path, "%s/cpu.stat", dir);
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    while (fscanf(f, "%63s %lld", key, &v) == 2) {
        if (!strcmp(key, "usage_usec")) c->total_us = v;
        else if (!strcmp(key, "user_usec")) c->user_us = v;
        else if (!strcmp(key, "system_usec")) c->sys_us = v;
    }
    fclose(f);
    return 0;
}

static struct cpu read_cpu(void) {
    struct cpu c = {-1, -1, -1};
    if (!acct_dir) return c;
    long long ns = read_number(acct_dir, "cpuacct.usage");
    if (ns >= 0) {
        c.total_us = ns / 1000;
        c.user_us = read_number(acct_dir, "cpuacct.usage_user") / 1000;
        c.sys_us = read_number(acct_dir, "cpuacct.usage_sys") / 1000;
        return c;
    }
    read_cpu_stat(acct_dir, &c);
    return c;
}

static void child_exec(char **argv) {
    if (join_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/cgroup.procs", join_dir);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            perror(path);
            _exit(127);
        }
        close(fd);
    }
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(127);
    dup2(in, 0), dup2(out, 1), dup2(err, 2);
    if (in > 2) close(in);
    if (out > 2) close(out);
    if (err > 2) close(err);
    execvp(argv[0], argv);
    fprintf(stderr, "kbclock: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

struct slot {
    pid_t pid;
    int index;
    long long start_us;
};

static void report(const struct slot *s, int status, const struct rusage *ru) {
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    long long u = ru->ru_utime.tv_sec * 1000000LL + ru->ru_utime.tv_usec;
    long long k = ru->ru_stime.tv_sec * 1000000LL + ru->ru_stime.tv_usec;
    printf("C %d %d %lld %lld %lld %ld %ld %ld\n", s->index, rc, now_us() - s->start_us, u, k, ru->ru_maxrss,
           ru->ru_minflt, ru->ru_majflt);
    fflush(stdout);
}

/* Split FILE into commands: lines of TAB-separated arguments. */
static char ***load_batch(const char *file, int *count) {
    FILE *f = fopen(file, "re");
    if (!f) {
        perror(file);
        exit(2);
    }
    char ***cmds = NULL, *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (!*line) continue;
        int argc = 1;
        for (char *p = line; *p; p++) argc += *p == '\t';
        char **argv = calloc(argc + 1, sizeof *argv), *save = NULL, *tok;
        int a = 0;
        for (tok = strtok_r(strdup(line), "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) argv[a++] = tok;
        cmds = realloc(cmds, (n + 1) * sizeof *cmds);
        cmds[n++] = argv;
    }
    free(line);
    fclose(f);
    *count = n;
    return cmds;
}

static int run_all(char ***cmds, int n, int par) {
    struct slot *run = calloc(par, sizeof *run);
    int next = 0, active = 0, failed = 0;
    struct cpu c0 = read_cpu();
    long long t0 = now_us();
    while (next < n || active > 0) {
        while (next < n && active < par) {
            struct slot *s = NULL;
            for (int i = 0; i < par && !s; i++)
                if (!run[i].pid) s = &run[i];
            s->index = next;
            s->start_us = now_us();
            fflush(stdout);
            s->pid = fork();
            if (s->pid < 0) {
                perror("fork");
                s->pid = 0;
                printf("C %d 126 0 0 0 0 0 0\n", next++);
                failed++;
                continue;
            }
            if (s->pid == 0) child_exec(cmds[next]);
            next++, active++;
        }
        int status;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, 0, &ru);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < par; i++)
            if (run[i].pid == pid) {
                report(&run[i], status, &ru);
                failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                run[i].pid = 0;
                active--;
            }
    }
    long long wall = now_us() - t0;
    struct cpu c1 = read_cpu();
    printf("T %lld %lld %lld %lld\n", wall, c0.total_us < 0 ? -1 : c1.total_us - c0.total_us,
           c0.user_us < 0 ? -1 : c1.user_us - c0.user_us, c0.sys_us < 0 ? -1 : c1.sys_us - c0.sys_us);
    free(run);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    const char *batch = NULL;
    int par = 1, opt;
    while ((opt = getopt(argc, argv, "+g:j:o:e:P:b:")) != -1) {
        switch (opt) {
        case 'g': acct_dir = optarg; break;
        case 'j': join_dir = optarg; break;
        case 'o': out_path = optarg; break;
        case 'e': err_path = optarg; break;
        case 'P': par = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'b': batch = optarg; break;
        default:
            fprintf(stderr, "usage: kbclock [-g CG] [-j CG] [-o OUT] [-e ERR] [-P PAR -b FILE | -- CMD...]\n");
            return 2;
        }
    }
    if (batch) {
        int n;
        char ***cmds = load_batch(batch, &n);
        return run_all(cmds, n, par);
    }
    if (optind >= argc) return 2;
    char **one[] = {argv + optind};
    return run_all(one, 1, 1);
}
