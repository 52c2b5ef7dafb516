// The container init. Runs in the child of clone(): joins namespaces, builds
// the root filesystem, applies process attributes, tells the parent it is
// ready, waits for `start`, and execs the payload. Errors go back to the
// parent over the sync socket; nothing is printed here.
#include "linux/init.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "container/hooks.hpp"
#include "handlers/handler.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "linux/namespaces.hpp"
#include "linux/process.hpp"
#include "linux/procfs.hpp"
#include "linux/rootfs.hpp"
#include "linux/terminal.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace kiln::ns {

void join(const std::string &path, unsigned long flag) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open namespace " + path);
    if (::setns(fd.get(), static_cast<int>(flag)) < 0) throw_errno("setns " + path);
}

}  // namespace kiln::ns

namespace kiln::linux_init {
namespace {

bool released = false;  // `start` has let us go: the parent no longer listens

void send_msg(int fd, char tag, std::string_view text = {}) {
    std::string msg(1, tag);
    msg.append(text);
    while (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

// Returns the message's tag (0 when the parent is gone); its text in *text.
char wait_msg(int fd, std::string *text = nullptr) {
    char buf[64];
    ssize_t n;
    do n = ::recv(fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 1) return 0;
    if (text) text->assign(buf + 1, static_cast<size_t>(n - 1));
    return buf[0];
}

std::string state_json(const InitArgs &a, const char *status, int pid) {
    return spec::hook_state_json(a.spec->ociVersion, a.id, status, pid, a.bundle, a.spec->annotations);
}

// pid 1 of a namespace ignores signals it has no handler for. While waiting
// for `start`, let SIGTERM and friends end the init as they end runc's.
void exit_on_signal(int sig) { ::_exit(128 + sig); }

// The fds the runtime opened for us; every other inherited one is closed.
std::vector<int> fds_to_keep(const InitArgs &a) {
    std::vector<int> keep{a.sync_fd, a.fifo_fd, a.console_fd};
    for (int fd : a.idmapped)
        if (fd >= 0) keep.push_back(fd);
    for (int fd : a.handler->init_fds()) keep.push_back(fd);
    return keep;
}

void install_wait_handlers() {
    struct sigaction sa{};
    sa.sa_handler = exit_on_signal;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE})
        ::sigaction(sig, &sa, nullptr);
}

void join_namespaces(const spec::Spec &spec) {
    if (!spec.linux) return;
    // The user namespace first: it owns the others.
    for (auto &n : spec.linux->namespaces)
        if (n.type == "user" && !n.path.empty()) ns::join(n.path, CLONE_NEWUSER);
    for (auto &n : spec.linux->namespaces) {
        if (n.path.empty() || n.type == "user" || n.type == "pid" || n.type == "time") continue;
        ns::join(n.path, ns::flag_of(n.type));
    }
}

bool has_namespace(const spec::Spec &spec, const char *type) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == type) return true;
    return false;
}

// unshare(CLONE_NEWTIME) makes a namespace for our children only; its
// offsets can be written until a process is in it. Write them, then move
// ourselves in with setns (allowed while single-threaded).
void enter_new_time_ns(const spec::Spec &spec) {
    if (::unshare(CLONE_NEWTIME) < 0) throw_errno("unshare time namespace");
    std::string offsets;
    for (auto &[clock, o] : spec.linux->timeOffsets)
        offsets += clock + " " + std::to_string(o.secs) + " " + std::to_string(o.nanosecs) + "\n";
    if (!offsets.empty()) write_file("/proc/self/timens_offsets", offsets);
    ns::join("/proc/self/ns/time_for_children", CLONE_NEWTIME);
}

// Written through proc_root, the host procfs opened before any container
// mount, so that nothing of the container can redirect the writes
// (CVE-2025-52881). by_path: after pivot_root through the container's /proc,
// as runc did (unsafe knob only).
void set_sysctls(const spec::Spec &spec, bool by_path) {
    if (!spec.linux || spec.linux->sysctl.empty()) return;
    UniqueFd proc_root;
    if (!by_path) proc_root = procfs::open_root();
    for (auto &[key, value] : spec.linux->sysctl) {
        std::string rel = "sys/" + key;
        for (size_t i = 4; i < rel.size(); i++)
            if (rel[i] == '.') rel[i] = '/';
        if (proc_root)
            procfs::write(proc_root.get(), rel, value);
        else
            write_file("/proc/" + rel, value);
    }
}

void set_hostname(const spec::Spec &spec) {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) < 0)
        throw_errno("sethostname");
    if (!spec.domainname.empty() && ::setdomainname(spec.domainname.data(), spec.domainname.size()) < 0)
        throw_errno("setdomainname");
}

void enter_cwd(const std::string &cwd) {
    if (cwd.empty()) return;
    if (::chdir(cwd.c_str()) == 0) return;
    // runc creates a missing working directory.
    if (errno != ENOENT) throw_errno("chdir to cwd (\"" + cwd + "\") set in config.json failed");
    mkdir_all(cwd, 0755);
    if (::chdir(cwd.c_str()) < 0) throw_errno("chdir to cwd (\"" + cwd + "\") set in config.json failed");
}

// Blocks until `start` opens the fifo for reading, then writes the byte it
// waits for. The fifo is reopened through the host /proc opened before
// pivot_root, so the container's /proc (or its absence) does not matter.
void wait_for_start(const InitArgs &a, int proc_fd_dir) {
    if (a.fifo_fd < 0) {
        if (wait_msg(a.sync_fd) != kStart) ::_exit(1);
        return;
    }
    UniqueFd fifo(::openat(proc_fd_dir, std::to_string(a.fifo_fd).c_str(), O_WRONLY | O_CLOEXEC));
    if (!fifo || ::write(fifo.get(), "0", 1) != 1) ::_exit(1);
}

// prestart and createRuntime run in the runtime (the parent), createContainer
// here in the container's namespaces: all after the mounts, before pivot_root.
// createContainer's working directory is the rootfs, as runc's.
void run_creation_hooks(const InitArgs &a, const spec::Hooks &hooks, int host_pid) {
    if (!hooks.prestart.empty() || !hooks.createRuntime.empty()) {
        send_msg(a.sync_fd, kHooks);
        if (wait_msg(a.sync_fd) != kGo) ::_exit(1);
    }
    hooks::run(hooks.createContainer, "createContainer", state_json(a, "creating", host_pid), a.rootfs);
}

// A config without a process can be created (runtime-spec); `start` must
// then fail, and kills this init when it finds no process to start.
[[noreturn]] void park_without_process(const InitArgs &a, int proc_fd_dir) {
    install_wait_handlers();
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    send_msg(a.sync_fd, kReady);
    wait_for_start(a, proc_fd_dir);
    ::_exit(1);
}

[[noreturn]] void setup_and_exec(const InitArgs &a) {
    const auto &spec = *a.spec;
    ::umask(0);
    std::string host_pid;  // the parent sends our pid as the runtime sees it
    if (wait_msg(a.sync_fd, &host_pid) != kGo) ::_exit(1);
    debug(a.sync_fd, "child process in init()");
    const spec::Hooks no_hooks;
    const spec::Hooks &hooks = spec.hooks ? *spec.hooks : no_hooks;

    join_namespaces(spec);
    bool new_user_ns = a.clone_flags & CLONE_NEWUSER;
    if (new_user_ns && (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0))
        throw_errno("become root in the user namespace");
    // Made now, a cgroup namespace is rooted at the container's cgroup,
    // which the parent has just moved us into (clone() would root it at kiln's).
    if (a.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) throw_errno("unshare cgroup namespace");
    if (a.new_time_ns) enter_new_time_ns(spec);
    if (a.clone_flags & CLONE_NEWNET) netlink::loopback_up();
    set_hostname(spec);
    // CVE-2025-52881: off, the sysctls are written by path after the mounts (runc's way).
    bool late_sysctls = unsafe::off("cve-2025-52881");
    if (!late_sysctls) set_sysctls(spec, false);

    UniqueFd proc_fd_dir(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!proc_fd_dir) throw_errno("open /proc/self/fd");
    if (has_namespace(spec, "mount")) {
        rootfs::prepare(spec, a.rootfs, a.cgroup_dirs, new_user_ns, a.idmapped);
        a.handler->before_pivot(spec, a.rootfs);
        run_creation_hooks(a, hooks, std::atoi(host_pid.c_str()));
        rootfs::pivot(a.rootfs, a.no_pivot);
        if (late_sysctls) set_sysctls(spec, true);
        rootfs::finish(spec);
        a.handler->after_pivot(spec);
    } else {
        run_creation_hooks(a, hooks, std::atoi(host_pid.c_str()));
        if (::chroot(a.rootfs.c_str()) < 0) throw_errno("chroot " + a.rootfs);
        if (::chdir("/") < 0) throw_errno("chdir /");
        if (late_sysctls) set_sysctls(spec, true);
    }
    if (!spec.process) park_without_process(a, proc_fd_dir.get());
    const auto &proc = *spec.process;
    if (a.console_fd >= 0) {
        terminal::setup(a.console_fd, proc, has_namespace(spec, "mount"));
        ::close(a.console_fd);
    }
    if (has_namespace(spec, "mount")) rootfs::finish_dev(spec);
    process::set_rlimits(proc.rlimits);
    // Before seccomp, which may forbid these syscalls.
    if (spec.linux && spec.linux->personality) process::set_personality(*spec.linux->personality);
    if (proc.scheduler) process::set_scheduler(*proc.scheduler);
    if (proc.ioPriority) process::set_io_priority(*proc.ioPriority);
    std::vector<std::string> env = proc.env;
    process::add_home(env, proc.user.uid);
    enter_cwd(proc.cwd);
    if (!unsafe::off("cve-2024-21626")) process::verify_cwd();
    std::string exe = process::find_executable(proc.args[0], env);
    std::vector<std::string> args = proc.args;
    a.handler->container_process(exe, args, env);

    if (proc.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
    // Made before the seccomp filter, which may not allow memfd_create.
    UniqueFd stub(process::sealed_stub());
    process::set_exec_labels(proc);
    // Without no_new_privs the filter needs CAP_SYS_ADMIN: load it while we
    // still have it; with no_new_privs as late as possible.
    const spec::Seccomp *filter = spec.linux && spec.linux->seccomp ? &*spec.linux->seccomp : nullptr;
    if (filter && !proc.noNewPrivileges) process::load_seccomp(*filter, proc.noNewPrivileges, a.sync_fd);
    process::set_user_and_caps(proc, new_user_ns);
    if (filter && proc.noNewPrivileges) process::load_seccomp(*filter, proc.noNewPrivileges, a.sync_fd);
    ::umask(proc.user.umask.value_or(022));

    auto argv = process::c_strings(args), envp = process::c_strings(env);

    install_wait_handlers();
    // startContainer hooks run after `start`, so then kiln itself waits.
    // A preloading handler's process parks itself: exec it now (stub mode 'x').
    bool preload = a.fifo_fd >= 0 && a.handler->exec_at_create();
    bool wait_here = !preload && (!hooks.startContainer.empty() || !stub);
    process::StubWait wait;
    if (!wait_here && !preload) {
        wait.mode = a.fifo_fd >= 0 ? 'f' : 's';
        wait.fd1 = a.fifo_fd >= 0 ? proc_fd_dir.get() : a.sync_fd;
        wait.fd2 = a.fifo_fd;
    }
    wait.dumpable = unsafe::off("cve-2016-9962");
    // From here the parent may exit at any time (create returns).
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    debug(a.sync_fd, "init: closing the pipe to signal completion");
    send_msg(a.sync_fd, kReady);
    if (wait_here) {
        wait_for_start(a, proc_fd_dir.get());
        released = true;
        hooks::run(hooks.startContainer, "startContainer", state_json(a, "created", ::getpid()), "/");
    }

    // No fd of ours may reach the payload (CVE-2024-21626): everything past
    // stdio and the preserved fds is close-on-exec (the stub closes the
    // ones it waits on).
    if (!unsafe::off("cve-2024-21626")) ::syscall(SYS_close_range, 3 + a.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    int err = process::exec_via_stub(stub.get(), wait, exe, argv.data(), envp.data());
    released = true;
    std::string msg = "exec " + exe + ": " + std::strerror(err) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
}

}  // namespace

void debug(int sync_fd, std::string_view msg) {
    if (log::debug_enabled()) send_msg(sync_fd, kDebug, msg);
}

void run(const InitArgs &a) {
    // Die with the parent while it still waits for us; not dumpable so no
    // container process can ptrace us or open our /proc entries (CVE-2016-9962).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!unsafe::off("cve-2016-9962")) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    try {
        // clone() copied every fd of the runtime, including any its caller
        // leaked to it: keep stdio, the preserved fds and ours (CVE-2024-21626).
        if (!unsafe::off("cve-2024-21626"))
            process::close_fds_except(3 + static_cast<int>(a.preserve_fds), fds_to_keep(a));
        setup_and_exec(a);
    } catch (const std::exception &e) {
        // After `start` nobody listens on the socket: say it on stderr.
        if (!released) {
            send_msg(a.sync_fd, kError, e.what());
        } else {
            std::string msg = std::string("kiln: ") + e.what() + "\n";
            (void)!::write(2, msg.data(), msg.size());
        }
    }
    ::_exit(1);
}

}  // namespace kiln::linux_init
