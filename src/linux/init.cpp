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

#include "linux/hooks.hpp"
#include "handlers/handler.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "linux/inroot.hpp"
#include "linux/keyring.hpp"
#include "linux/namespaces.hpp"
#include "linux/process.hpp"
#include "linux/procfs.hpp"
#include "linux/rootfs.hpp"
#include "linux/sealed.hpp"
#include "linux/sync.hpp"
#include "linux/terminal.hpp"
#include "util/child.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"


namespace kiln::ns {

void join(const std::string &path, unsigned long flag) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open namespace " + path);
    if (::setns(fd.get(), static_cast<int>(flag)) < 0) throw_errno("setns " + path);
}

}  // namespace kiln::ns

namespace kiln::linux_init {
namespace {

int start_conn = -1;  // `start`'s connection once accepted: errors go there too

std::string state_json(const InitArgs &a, const char *status, int pid) {
    return spec::hook_state_json(a.spec->ociVersion, a.id, status, pid, a.bundle, a.spec->annotations);
}

// pid 1 of a namespace ignores signals it has no handler for. While waiting
// for `start`, let SIGTERM and friends end the init as they end runc's.
void exit_on_signal(int sig) { ::_exit(128 + sig); }

// The fds the runtime opened for us; every other inherited one is closed.
std::vector<int> fds_to_keep(const InitArgs &a) {
    std::vector<int> keep{a.sync_fd, a.start_fd, a.console_fd, a.join_pid_ns_fd};
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

bool user_ns_joined(const spec::Spec &spec) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == "user" && !n.path.empty()) return true;
    return false;
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

// Blocks until `start` connects to the start socket and sends Start (create),
// or the parent sends Start on the sync socket (run). The connection stays open until our
// exec (close-on-exec), so `start` learns of a failure before it.
void wait_for_start(const InitArgs &a) {
    if (a.start_fd < 0) {
        if (sync::wait(a.sync_fd) != sync::Msg::Start) ::_exit(1);
        return;
    }
    for (;;) {
        int c = ::accept4(a.start_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0 && errno == EINTR) continue;
        if (c < 0) ::_exit(1);
        if (sync::wait(c) == sync::Msg::Start) {
            start_conn = c;
            sync::send(c, sync::Msg::Ack);
            break;
        }
        ::close(c);
    }
    ::close(a.start_fd);
}

// prestart and createRuntime run in the runtime (the parent), createContainer
// here in the container's namespaces: all after the mounts, before pivot_root.
// createContainer's working directory is the rootfs, as runc's.
void run_creation_hooks(const InitArgs &a, const spec::Hooks &hooks, int host_pid) {
    if (!hooks.prestart.empty() || !hooks.createRuntime.empty()) {
        sync::send(a.sync_fd, sync::Msg::Hooks);
        if (sync::wait(a.sync_fd) != sync::Msg::Go) ::_exit(1);
    }
    hooks::run(hooks.createContainer, "createContainer", state_json(a, "creating", host_pid), a.rootfs);
}

// A config without a process can be created (runtime-spec); `start` must
// then fail, and kills this init when it finds no process to start.
[[noreturn]] void park_without_process(const InitArgs &a) {
    install_wait_handlers();
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    sync::send(a.sync_fd, sync::Msg::Ready);
    wait_for_start(a);
    ::_exit(1);
}

// stdio that is the host's /dev/null becomes the container's (runc's
// reOpenDevNull): CRIU cannot dump a file of a mount the container lacks.
void reopen_dev_null() {
    struct stat null_st, st;
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null || ::fstat(null.get(), &null_st) < 0) return;
    for (int fd = 0; fd < 3; fd++)
        if (::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == null_st.st_rdev && st.st_dev != null_st.st_dev)
            ::dup3(null.get(), fd, 0);
}

// Test builds only (KILN_UNSAFE=init-host-procfd): the init keeps a host
// procfs handle into the created state, as kiln did before (its
// /proc/self/fd), so the regression tests can show what it gave away. The
// procfs root, so that it stays usable after the init forks into a shared
// pid namespace and exits.
int unsafe_host_procfd(const InitArgs &a) {
    if (a.start_fd < 0 || !unsafe::off("init-host-procfd")) return -1;
    return ::open("/proc", O_PATH | O_DIRECTORY);
}

// A shared pid namespace (see namespaces_to_create in lifecycle.cpp): now
// that nothing of the host is left in our root, cwd or fds, fork the
// container process into it, as a child of the runtime (CLONE_PARENT), tell
// the runtime its pid, and leave.
// Forks the process that takes our place as a child of the runtime
// (CLONE_PARENT), tells the runtime its pid (tag + pid) and ends; returns in it.
void hand_over_to_child(const InitArgs &a, sync::Msg tag, const char *what) {
    pid_t pid = child::clone(CLONE_PARENT, what);
    if (pid > 0) {
        sync::send(a.sync_fd, tag, std::to_string(pid));
        ::_exit(0);
    }
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // cleared by fork
}

void enter_shared_pid_ns(const InitArgs &a, process::ExecLabels &labels) {
    if (a.join_pid_ns_fd < 0) return;
    ::close(a.join_pid_ns_fd);
    hand_over_to_child(a, sync::Msg::Pid, "fork into the shared pid namespace");
    const spec::Process *p = a.spec->process ? &*a.spec->process : nullptr;
    if (p && process::wants_exec_labels(*p) && process::receive_exec_labels(a.sync_fd, *p, labels) != sync::Msg::Labels)
        ::_exit(1);
}

// A joined user namespace owns the namespaces we make now (clone() would
// have made them under the runtime's). unshare(CLONE_NEWPID) only moves our
// children: fork the container's pid 1 into it at once, before any mount
// (procfs shows the pid namespace of the process that mounts it), as a
// child of the runtime, and leave. Returns our pid as the runtime sees it.
std::string unshare_in_joined_user_ns(const InitArgs &a, const std::string &host_pid) {
    if (!a.unshare_flags) return host_pid;
    if (::unshare(static_cast<int>(a.unshare_flags)) < 0) throw_errno("unshare namespaces in the joined user namespace");
    if (!(a.unshare_flags & CLONE_NEWPID)) return host_pid;
    hand_over_to_child(a, sync::Msg::NewPid, "fork into the new pid namespace");
    // The host's procfs is still at /proc: "self" there is our host pid.
    char buf[32];
    ssize_t n = ::readlink("/proc/self", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : host_pid;
}

[[noreturn]] void setup_and_exec(const InitArgs &a) {
    const auto &spec = *a.spec;
    ::umask(0);
    // The parent sends our pid as the runtime sees it.
    sync::Message go = sync::receive(a.sync_fd);
    if (go.msg != sync::Msg::Go) ::_exit(1);
    std::string host_pid = std::move(go.text);
    // Dumpable until now only for an unprivileged runtime, which has written
    // our maps and oom_score_adj. Before anything else (joining namespaces,
    // hooks, mounts, the container's process) no container process may
    // ptrace us or open our /proc entries (CVE-2016-9962).
    if (a.dumpable_until_go && !unsafe::off("cve-2016-9962")) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    debug(a.sync_fd, "child process in init()");
    const spec::Hooks no_hooks;
    const spec::Hooks &hooks = spec.hooks ? *spec.hooks : no_hooks;

    join_namespaces(spec);
    if (a.join_pid_ns_fd >= 0 && ::setns(a.join_pid_ns_fd, CLONE_NEWPID) < 0) throw_errno("setns pid namespace");
    host_pid = unshare_in_joined_user_ns(a, host_pid);
    unsigned long made = a.clone_flags | a.unshare_flags;
    // Made or joined: our host ids may be unmapped there (files we make
    // would fail with EOVERFLOW), so be its root, as runc's nsexec is.
    bool own_user_ns = (a.clone_flags & CLONE_NEWUSER) || user_ns_joined(spec);
    if (own_user_ns && (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0))
        throw_errno("become root in the user namespace");
    // The container's own session keyring, as runc makes it (--no-new-keyring: the caller's).
    if (!a.no_new_keyring && !unsafe::off("keyring")) keyring::join_session(a.id, true, own_user_ns);
    // Made now, a cgroup namespace is rooted at the container's cgroup,
    // which the parent has just moved us into (clone() would root it at kiln's).
    if (a.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0) throw_errno("unshare cgroup namespace");
    if (a.new_time_ns) enter_new_time_ns(spec);
    if (made & CLONE_NEWNET) netlink::loopback_up();
    set_hostname(spec);
    // CVE-2025-52881: off, the sysctls are written by path after the mounts (runc's way).
    bool late_sysctls = unsafe::off("cve-2025-52881");
    if (!late_sysctls) set_sysctls(spec, false);
    // Opened while /proc and /sys are still the host's, written just before
    // the exec. A process forked into a shared pid namespace gets its own
    // from the runtime (enter_shared_pid_ns).
    process::ExecLabels labels =
        spec.process && a.join_pid_ns_fd < 0 ? process::open_exec_labels(*spec.process) : process::ExecLabels{};

    UniqueFd host_procfd(unsafe_host_procfd(a));
    if (has_namespace(spec, "mount")) {
        rootfs::prepare(spec, a.rootfs, a.cgroup_dirs, a.in_user_ns, a.idmapped, a.join_pid_ns_fd);
        a.handler->before_pivot(spec, a.rootfs);
        run_creation_hooks(a, hooks, std::atoi(host_pid.c_str()));
        rootfs::pivot(a.rootfs, a.no_pivot);
        if (late_sysctls) set_sysctls(spec, true);
        rootfs::finish(spec);
        reopen_dev_null();
        a.handler->after_pivot(spec);
    } else {
        run_creation_hooks(a, hooks, std::atoi(host_pid.c_str()));
        if (::chroot(a.rootfs.c_str()) < 0) throw_errno("chroot " + a.rootfs);
        if (::chdir("/") < 0) throw_errno("chdir /");
        if (late_sysctls) set_sysctls(spec, true);
    }
    enter_shared_pid_ns(a, labels);
    if (!spec.process) park_without_process(a);
    const auto &proc = *spec.process;
    if (a.console_fd >= 0) {
        terminal::setup(a.console_fd, proc, has_namespace(spec, "mount"), a.console_size);
        ::close(a.console_fd);
    } else {
        // A session of its own, as runc's init: CRIU dumps only whole sessions.
        ::setsid();
    }
    if (has_namespace(spec, "mount")) rootfs::finish_dev(spec);
    process::Payload payload;
    payload.p = &proc;
    payload.filter = spec.linux && spec.linux->seccomp ? &*spec.linux->seccomp : nullptr;
    payload.personality = spec.linux && spec.linux->personality ? &*spec.linux->personality : nullptr;
    payload.memory_policy = spec.linux && spec.linux->memoryPolicy ? &*spec.linux->memoryPolicy : nullptr;
    payload.sync_fd = a.sync_fd;
    payload.in_user_ns = a.in_user_ns;
    payload.rootless_euid = a.rootless_euid;
    payload.create_cwd = true;
    payload.default_umask = true;
    // The stub: what a created container waits in (small, holding nothing).
    // run starts at once: a kiln running from a read-only view of itself
    // execs the payload straight away, one exec less.
    payload.stub = a.start_fd >= 0 || !sealed::running_readonly();
    payload.edit = [&](std::string &exe, int &exe_fd, std::vector<std::string> &args, std::vector<std::string> &env) {
        a.handler->container_process(exe, exe_fd, args, env);
    };
    process::Prepared prepared = process::prepare(payload, labels);

    install_wait_handlers();
    // startContainer hooks run after `start`, so then kiln itself waits.
    // A preloading handler's process parks itself: exec it now (stub mode 'x').
    bool preload = a.start_fd >= 0 && a.handler->exec_at_create();
    bool wait_here = !preload && (!hooks.startContainer.empty() || !prepared.stub);
    process::StubWait wait;
    if (!wait_here && !preload) {
        wait.mode = a.start_fd >= 0 ? 'a' : 's';
        wait.fd = a.start_fd >= 0 ? a.start_fd : a.sync_fd;
    }
    wait.dumpable = unsafe::off("cve-2016-9962");
    // From here the parent may exit at any time (create returns).
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    debug(a.sync_fd, "init: closing the pipe to signal completion");
    sync::send(a.sync_fd, sync::Msg::Ready);
    if (wait_here) {
        wait_for_start(a);
        // `start` has let us go: the parent no longer listens.
        child::report_to(start_conn, true);
        hooks::run(hooks.startContainer, "startContainer", state_json(a, "created", ::getpid()), "/");
    }

    int err = process::exec_payload(prepared, wait, a.preserve_fds, host_procfd.get());
    std::string msg = "exec " + prepared.exe + ": " + std::strerror(err) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
}

}  // namespace

void debug(int sync_fd, std::string_view msg) {
    if (log::debug_enabled()) sync::send(sync_fd, sync::Msg::Debug, msg);
}

void run(const InitArgs &a) {
    // Die with the parent while it still waits for us; not dumpable so no
    // container process can ptrace us or open our /proc entries
    // (CVE-2016-9962), except until Go where an unprivileged runtime needs it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!a.dumpable_until_go && !unsafe::off("cve-2016-9962")) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    child::run(a.sync_fd, [&] {
        // clone() copied every fd of the runtime, including any its caller
        // leaked to it: keep stdio, the preserved fds and ours (CVE-2024-21626).
        if (!unsafe::off("cve-2024-21626"))
            process::close_fds_except(3 + static_cast<int>(a.preserve_fds), fds_to_keep(a));
        setup_and_exec(a);
    });
}

}  // namespace kiln::linux_init
