/*
 * kbref - the kernel work of a container run, and nothing else: the yardstick
 * bench/kbench.py expresses `run` against ("ref" in its tables).
 *
 *   kbref [-m] [-S] [-N] [-c CGROUP_PATH] [-M MASKED_FILE] ROOTFS CMD [ARG...]
 *
 * It does what the default `kiln spec` / `runc spec` config asks of the kernel,
 * with no JSON, no state directory, no re-exec and a one-byte sync:
 *   parent: cgroup directory in every mounted hierarchy (v1: + cpuset copy-down,
 *           devices rules; v2: the child is cloned straight into it with
 *           clone3(CLONE_INTO_CGROUP)), clone into new mount/uts/ipc/pid/net
 *           namespaces, wait, remove the cgroup directories;
 *   child:  loopback up in the new network namespace, rprivate /, bind the rootfs, the 7 spec mounts (proc, dev tmpfs,
 *           devpts, shm, mqueue, sysfs, cgroup: v1 tmpfs + one read-only bind per
 *           hierarchy, v2 a read-only bind), 6 device nodes and the /dev
 *           symlinks, pivot_root, the masked paths (tmpfs on directories,
 *           /dev/null on files; plus the lines of MASKED_FILE), the read-only
 *           paths, read-only rootfs, hostname, RLIMIT_NOFILE, ids, capabilities
 *           (bounding, capset, ambient), no_new_privs, execve.
 *   -m: only the namespaces, the rootfs bind, pivot_root and execve.
 *
 *   kbref -e PID [-c CGROUP_PATH] CMD [ARG...]
 *
 * The kernel work of `exec` into the running container whose init is PID (the
 * yardstick of the exec row): a child joins the init's mount, uts, ipc, net
 * and pid namespaces with one setns(pidfd), forks the process that runs CMD
 * (a pid namespace takes effect for children), which the parent puts into the
 * container's cgroup in every hierarchy (v1: one cgroup.procs write each; v2:
 * one); it then drops to the default capabilities, sets no_new_privs and
 * execs CMD (PATH lookup in the container's root); the parent waits for it.
 *
 *   kbref -l ROOT
 *
 * The file-system work of `list` over a kiln --root (the yardstick of the
 * listN rows): per container directory its stat (the owner), its state.json
 * read, the init's /proc/PID/stat read (the pid-reuse check every runtime
 * makes) and the start socket's presence; no JSON parse, nothing printed.
 * Two ways of doing the same mounts more cheaply, to measure what a runtime
 * would save (bench/PROFILE.md):
 *   -S: masked directories all get a bind of one read-only tmpfs instead of a
 *       tmpfs each;
 *   -N: read-only binds (cgroup hierarchies, read-only paths) with the new
 *       mount API: open_tree(OPEN_TREE_CLONE) + mount_setattr(RDONLY) +
 *       move_mount instead of mount(MS_BIND) + mount(MS_REMOUNT|MS_RDONLY).
 * No eBPF device filter on cgroup v2 (the runtimes load one).
 * Exit status: the command's (128+N if killed by signal N); 127 on a setup error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <net/if.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_HIER 16
#define MAX_MASK 4096

static struct {
    char mnt[MAX_HIER][256]; /* mount points of the cgroup hierarchies */
    int n;
    int v2; /* /sys/fs/cgroup itself is cgroup2 */
} cg;

static const char *masked[MAX_MASK] = {
    "/proc/acpi",     "/proc/asound",      "/proc/kcore",       "/proc/keys",   "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
};
static int n_masked = 10;
static int shared_mask, new_api; /* -S, -N */
static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

static void fail(const char *what, const char *arg) {
    fprintf(stderr, "kbref: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    _exit(127);
}

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
    if (mount(src, dst, type, flags, data) < 0) fail("mount", dst);
}

static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) fail("write", path);
    close(fd);
}

static ssize_t get(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
    if (fd >= 0) close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

/* The cgroup hierarchies, from /proc/self/mountinfo (field 5: mount point,
 * after " - ": the filesystem type). */
static void find_cgroups(void) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], point[256], type[64];
    if (!f) fail("open", "/proc/self/mountinfo");
    while (fgets(line, sizeof line, f) && cg.n < MAX_HIER) {
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", point) != 1 || sscanf(sep + 3, "%63s", type) != 1) continue;
        if (strcmp(type, "cgroup") && strcmp(type, "cgroup2")) continue;
        if (!strcmp(type, "cgroup2") && !strcmp(point, "/sys/fs/cgroup")) cg.v2 = 1;
        snprintf(cg.mnt[cg.n++], sizeof cg.mnt[0], "%s", point);
    }
    fclose(f);
}

static const char *base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* mkdir -p ROOT/REL, copying cpuset.cpus/mems down on the v1 cpuset hierarchy
 * (a new cpuset starts empty and no task may join it). */
static void make_cgroup(const char *root, const char *rel, int cpuset) {
    char dir[4096], file[4200], parent_file[4200], buf[4096];
    snprintf(dir, sizeof dir, "%s%s", root, rel);
    for (char *p = dir + strlen(root) + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) fail("mkdir", dir);
        if (cpuset) {
            static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
            for (int k = 0; k < 2; k++) {
                snprintf(file, sizeof file, "%s/%s", dir, files[k]);
                if (get(file, buf, sizeof buf) > 1) continue;
                *strrchr(dir, '/') = 0;
                snprintf(parent_file, sizeof parent_file, "%s/%s", dir, files[k]);
                dir[strlen(dir)] = '/';
                if (get(parent_file, buf, sizeof buf) > 0) put(file, buf);
            }
        }
        *p = c;
        if (!c) break;
    }
}

static const char *const device_rules[] = {"c *:* m",  "b *:* m",   "c 1:3 rwm", "c 1:5 rwm",   "c 1:7 rwm", "c 5:0 rwm",
                                           "c 1:8 rwm", "c 1:9 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"};

static void setup_cgroups(const char *rel) {
    char path[4200];
    for (int i = 0; i < cg.n; i++) {
        make_cgroup(cg.mnt[i], rel, !strcmp(base(cg.mnt[i]), "cpuset"));
        if (!strcmp(base(cg.mnt[i]), "devices")) {
            snprintf(path, sizeof path, "%s%s/devices.deny", cg.mnt[i], rel);
            put(path, "a");
            snprintf(path, sizeof path, "%s%s/devices.allow", cg.mnt[i], rel);
            for (size_t k = 0; k < sizeof device_rules / sizeof *device_rules; k++) put(path, device_rules[k]);
        }
    }
}

static void join_cgroups(const char *rel, pid_t pid) {
    char path[4200], text[32];
    snprintf(text, sizeof text, "%d", pid);
    for (int i = 0; i < cg.n; i++) {
        snprintf(path, sizeof path, "%s%s/cgroup.procs", cg.mnt[i], rel);
        put(path, text);
    }
}

static void remove_cgroups(const char *rel) {
    char path[4200];
    for (int i = 0; i < cg.n; i++) {
        snprintf(path, sizeof path, "%s%s", cg.mnt[i], rel);
        for (int tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 2000; tries++) usleep(500);
    }
}

struct child_args {
    const char *rootfs, *cgroup;
    char **argv;
    int minimal, sync_fd, sync_peer;
};

/* Read-only bind of SRC on DST (relative to the cwd or absolute). */
static void bind_readonly(const char *src, const char *dst, int recursive) {
    const unsigned long nsd = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (!new_api) {
        do_mount(src, dst, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL);
        do_mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | (recursive ? MS_REC : 0) | nsd, NULL);
        return;
    }
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (tree < 0) fail("open_tree", src);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
        fail("mount_setattr", src);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) fail("move_mount", dst);
    close(tree);
}

static void mount_cgroupfs(const char *rel) {
    const unsigned long nsd = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    char src[4200], dst[512];
    if (cg.v2) {
        snprintf(src, sizeof src, "/sys/fs/cgroup%s", rel ? rel : "");
        bind_readonly(src, "sys/fs/cgroup", 1);
        return;
    }
    do_mount("tmpfs", "sys/fs/cgroup", "tmpfs", nsd, "mode=755");
    for (int i = 0; i < cg.n; i++) {
        snprintf(dst, sizeof dst, "sys/fs/cgroup/%s", base(cg.mnt[i]));
        snprintf(src, sizeof src, "%s%s", cg.mnt[i], rel ? rel : "");
        mkdir(dst, 0755);
        bind_readonly(src, dst, 1);
    }
    do_mount(NULL, "sys/fs/cgroup", NULL, MS_REMOUNT | MS_RDONLY | nsd, "mode=755");
}

/* The spec's mounts, relative to the new root (the current directory). */
static void mount_spec(const char *rel) {
    static const struct {
        const char *src, *dst, *type;
        unsigned long flags;
        const char *data;
    } spec[] = {
        {"proc", "proc", "proc", 0, NULL},
        {"tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"},
        {"devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {"shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k"},
        {"mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL},
    };
    for (size_t i = 0; i < sizeof spec / sizeof *spec; i++) {
        mkdir(spec[i].dst, 0755);
        do_mount(spec[i].src, spec[i].dst, spec[i].type, spec[i].flags, spec[i].data);
    }
    mount_cgroupfs(rel);
    static const struct {
        const char *name;
        unsigned maj, min;
    } nodes[] = {{"dev/null", 1, 3},   {"dev/zero", 1, 5},    {"dev/full", 1, 7},
                 {"dev/tty", 5, 0},    {"dev/random", 1, 8},  {"dev/urandom", 1, 9}};
    for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
        if (mknod(nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0) fail("mknod", nodes[i].name);
        if (chmod(nodes[i].name, 0666) < 0) fail("chmod", nodes[i].name); /* mknod obeys the umask */
    }
    static const char *const links[][2] = {{"/proc/self/fd", "dev/fd"},      {"/proc/self/fd/0", "dev/stdin"},
                                           {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
                                           {"pts/ptmx", "dev/ptmx"}};
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlink(links[i][0], links[i][1]) < 0) fail("symlink", links[i][1]);
}

/* After pivot_root: masked and read-only paths, read-only rootfs. */
static void restrict_paths(void) {
    struct stat st;
    const char *first_dir = NULL; /* -S: the one tmpfs the other masked dirs bind */
    for (int i = 0; i < n_masked; i++) {
        if (stat(masked[i], &st) < 0) continue; /* absent paths are skipped, as the runtimes do */
        if (!S_ISDIR(st.st_mode)) do_mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
        else if (shared_mask && first_dir) do_mount(first_dir, masked[i], NULL, MS_BIND, NULL);
        else {
            do_mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, NULL);
            first_dir = masked[i];
        }
    }
    for (size_t i = 0; i < sizeof readonly / sizeof *readonly; i++) {
        if (stat(readonly[i], &st) < 0) continue;
        bind_readonly(readonly[i], readonly[i], 1);
    }
    do_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

/* Root's ids, the default capabilities (bounding, capset, ambient), no_new_privs. */
static void set_ids_and_caps(void) {
    const unsigned keep[] = {CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE};
    uint64_t mask = 0;
    for (size_t i = 0; i < 3; i++) mask |= 1ULL << keep[i];
    if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fail("set ids", NULL);
    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if (!(mask >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) fail("PR_CAPBSET_DROP", NULL);
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{(uint32_t)mask, (uint32_t)mask, (uint32_t)mask}, {0, 0, 0}};
    if (syscall(SYS_capset, &hdr, data) < 0) fail("capset", NULL);
    for (size_t i = 0; i < 3; i++)
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, keep[i], 0, 0) < 0) fail("PR_CAP_AMBIENT_RAISE", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("PR_SET_NO_NEW_PRIVS", NULL);
}

static void drop_privileges(void) {
    struct rlimit nofile = {1024, 1024};
    if (sethostname("runc", 4) < 0) fail("sethostname", NULL);
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) fail("setrlimit", NULL);
    set_ids_and_caps();
}

/* The new network namespace's lo starts down; runtimes bring it up. */
static void loopback_up(void) {
    struct ifreq ifr = {0};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket", NULL);
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("SIOCSIFFLAGS", "lo");
    close(s);
}

static int child_main(struct child_args *a) {
    char go;
    close(a->sync_peer);
    if (read(a->sync_fd, &go, 1) != 1) _exit(127); /* the parent has put us into the cgroups */
    close(a->sync_fd);
    if (!a->minimal) loopback_up();
    do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    do_mount(a->rootfs, a->rootfs, NULL, MS_BIND | MS_REC, NULL);
    if (chdir(a->rootfs) < 0) fail("chdir", a->rootfs);
    if (!a->minimal) mount_spec(a->cgroup);
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root", a->rootfs);
    if (umount2(".", MNT_DETACH) < 0) fail("umount2", "old root");
    if (chdir("/") < 0) fail("chdir", "/");
    if (!a->minimal) {
        restrict_paths();
        drop_privileges();
    }
    char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/root", NULL};
    execve(a->argv[0], a->argv, env);
    fail("execve", a->argv[0]);
    return 127;
}

static void load_masked(const char *file) {
    FILE *f = fopen(file, "re");
    char line[4096];
    if (!f) fail("open", file);
    while (fgets(line, sizeof line, f) && n_masked < MAX_MASK) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '/') masked[n_masked++] = strdup(line);
    }
    fclose(f);
}

/* clone3 into new namespaces; on cgroup v2 straight into the cgroup. */
static pid_t spawn(struct child_args *a, int cgroup_fd) {
    struct clone_args ca = {
        .flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET,
        .exit_signal = SIGCHLD,
    };
    if (cgroup_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)cgroup_fd;
    }
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) _exit(child_main(a));
    return pid;
}

/* -e: see the top. Exit status as for a run. */
static int exec_into(pid_t init, const char *rel, char **argv) {
    int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
    int to_parent[2], go[2];
    if (pidfd < 0) fail("pidfd_open", NULL);
    if (rel) find_cgroups();
    if (pipe2(to_parent, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) fail("pipe2", NULL);
    pid_t mid = fork();
    if (mid < 0) fail("fork", NULL);
    if (mid == 0) {
        if (setns(pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID) < 0) fail("setns", NULL);
        pid_t p = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0); /* our parent's child, as kiln's */
        if (p < 0) fail("clone", NULL);
        if (p > 0) {
            if (write(to_parent[1], &p, sizeof p) != sizeof p) _exit(127);
            _exit(0);
        }
        char c;
        if (read(go[0], &c, 1) != 1) _exit(127); /* in the cgroups now */
        if (chdir("/") < 0) fail("chdir", "/");
        set_ids_and_caps();
        char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/root", NULL};
        execvpe(argv[0], argv, env);
        fail("execve", argv[0]);
    }
    close(to_parent[1]);
    close(go[0]);
    pid_t p = 0;
    int status;
    if (read(to_parent[0], &p, sizeof p) != sizeof p) fail("read", "the exec'd pid");
    while (waitpid(mid, &status, 0) < 0)
        if (errno != EINTR) fail("waitpid", NULL);
    if (rel) join_cgroups(rel, p);
    if (write(go[1], "g", 1) != 1) fail("write", "sync pipe");
    while (waitpid(p, &status, 0) < 0)
        if (errno != EINTR) fail("waitpid", NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* -l: see the top. */
static int list_floor(const char *root) {
    DIR *d = opendir(root);
    char buf[8192], path[320];
    if (!d) fail("opendir", root);
    int rfd = dirfd(d), n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(rfd, e->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode)) continue;
        snprintf(path, sizeof path, "%s/state.json", e->d_name);
        int fd = openat(rfd, path, O_RDONLY | O_CLOEXEC);
        ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        if (fd >= 0) close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        const char *p = strstr(buf, "\"pid\":");
        snprintf(path, sizeof path, "/proc/%d/stat", p ? atoi(p + 6) : 0);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
            if (read(fd, buf, sizeof buf) < 0) fail("read", path);
            close(fd);
        }
        snprintf(path, sizeof path, "%s/exec.sock", e->d_name);
        n += faccessat(rfd, path, F_OK, 0) == 0;
    }
    closedir(d);
    return n >= 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    struct child_args a = {0};
    pid_t exec_init = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+mc:M:SNe:l:")) != -1) {
        if (opt == 'l') return list_floor(optarg);
        else if (opt == 'e') exec_init = atoi(optarg);
        else if (opt == 'm') a.minimal = 1;
        else if (opt == 'S') shared_mask = 1;
        else if (opt == 'N') new_api = 1;
        else if (opt == 'c') a.cgroup = optarg;
        else if (opt == 'M') load_masked(optarg);
        else return 2;
    }
    if (exec_init > 0 && argc - optind >= 1) return exec_into(exec_init, a.cgroup, argv + optind);
    if (argc - optind < 2 || (a.cgroup && a.cgroup[0] != '/')) {
        fprintf(stderr, "usage: kbref [-m] [-S] [-N] [-c /CGROUP_PATH] [-M MASKED_FILE] ROOTFS CMD [ARG...]\n"
                        "       kbref -e PID [-c /CGROUP_PATH] CMD [ARG...]\n"
                        "       kbref -l ROOT\n");
        return 2;
    }
    static char rootfs[4096];
    if (!realpath(argv[optind], rootfs)) fail("realpath", argv[optind]);
    a.rootfs = rootfs;
    a.argv = argv + optind + 1;
    int use_cg = !a.minimal && a.cgroup;
    if (use_cg) {
        find_cgroups();
        setup_cgroups(a.cgroup);
    }
    int cgroup_fd = -1;
    if (use_cg && cg.v2) {
        char dir[4200];
        snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", a.cgroup);
        if ((cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) fail("open", dir);
    }
    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0) fail("pipe2", NULL);
    a.sync_fd = sync[0];
    a.sync_peer = sync[1];
    pid_t pid = spawn(&a, cgroup_fd);
    if (pid < 0) fail("clone3", NULL);
    close(sync[0]);
    if (use_cg && !cg.v2) join_cgroups(a.cgroup, pid);
    if (write(sync[1], "g", 1) != 1) fail("write", "sync pipe");
    close(sync[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail("waitpid", NULL);
    if (use_cg) remove_cgroups(a.cgroup);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
