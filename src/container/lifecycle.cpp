// Container lifecycle on the runtime's side: create, start, run, kill,
// delete, state and list. The init side lives in src/linux/init.cpp.
#include <dirent.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "cgroups/cgroup.hpp"
#include "container/hooks.hpp"
#include "container/notify_socket.hpp"
#include "container/runner.hpp"
#include "container/seccomp_agent.hpp"
#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "kiln/log.hpp"
#include "kiln/container.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "kiln/spec.hpp"
#include "linux/init.hpp"
#include "linux/namespaces.hpp"
#include "linux/process.hpp"
#include "linux/procfs.hpp"
#include "linux/resctrl.hpp"
#include "linux/rootfs.hpp"
#include "linux/terminal.hpp"
#include "linux/userns.hpp"
#include "util/unsafe.hpp"

namespace kiln {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// A live container init as the runtime's parent process sees it during
// create/run. Its destructor undoes everything unless commit() was called.
class Launch {
public:
    StateDir dir;
    StoredState st;
    std::unique_ptr<cgroups::Manager> cgroup;
    UniqueFd sync;
    UniqueFd console_relay;  // foreground run: where the init sends the pty master
    notify::Relay notify;    // run with NOTIFY_SOCKET: the container's socket
    pid_t pid = -1;
    bool committed = false;

    ~Launch() {
        if (committed) return;
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        resctrl::destroy(st.rdt);
        try {
            if (cgroup) cgroup->destroy();
            dir.remove();
        } catch (const Error &e) {
            // The record stays: it names the cgroup for a later `delete -f`.
            log::warn(std::string(e.what()) + ": kept the state of " + st.id + " for `delete --force`");
        }
    }
};

// As runc: a cgroup that is already frozen is refused (the init would hang
// in it). One that already has processes: the cgroupfs driver refuses it
// (runc 1.2, FsManager::create); the systemd driver warns as runc 1.1 does.
void check_existing_cgroup(const cgroups::Manager &cg, bool systemd) {
    if (cg.frozen()) throw Error("container's cgroup unexpectedly frozen");
    if (size_t n = systemd ? cg.pids().size() : 0)
        log::warn("container's cgroup is not empty: " + std::to_string(n) + " process(es) found");
}

std::string absolute_rootfs(const spec::Spec &spec, const std::string &bundle) {
    const std::string &p = spec.root->path;
    return p[0] == '/' ? p : bundle + "/" + p;
}

void check_create_options(const spec::Spec &spec, const CreateOptions &o, bool detached, bool use_fifo) {
    // create may park an init without a process (runtime-spec: `start` must
    // then fail); run would have nothing to run.
    if (!spec.process) {
        if (!use_fifo) throw Error("process property must not be empty");
        return;
    }
    if (!spec.root || spec.root->path.empty()) throw Error("config.json: root.path: must not be empty");
    bool tty = spec.process->terminal;
    if (tty && detached && o.console_socket.empty())
        throw Error("cannot allocate tty if kiln will detach without setting console socket");
    if (!tty && !o.console_socket.empty())
        throw Error("cannot use console socket if kiln will not detach or allocate tty");
}

// systemd socket activation meant for us (LISTEN_PID is our pid): the
// LISTEN_FDS fds pass through at 3.. before the --preserve-fds ones, and the
// payload sees LISTEN_FDS=n, LISTEN_PID=1 (runc's behaviour).
unsigned socket_activation(spec::Spec &spec) {
    const char *fds = ::getenv("LISTEN_FDS"), *pid = ::getenv("LISTEN_PID");
    if (!fds || !pid || std::atoi(pid) != ::getpid() || !spec.process) return 0;
    int n = std::atoi(fds);
    if (n <= 0) return 0;
    auto &env = spec.process->env;
    std::erase_if(env, [](const std::string &e) { return e.rfind("LISTEN_FDS=", 0) == 0 || e.rfind("LISTEN_PID=", 0) == 0; });
    env.push_back("LISTEN_FDS=" + std::to_string(n));
    env.push_back("LISTEN_PID=1");
    return static_cast<unsigned>(n);
}

// Namespaces with a path that must be joined before clone(): setns of pid and
// time namespaces only affects children.
//
// A pid namespace with a path is shared with other processes, which would
// see the init there while it still has the host's root, cwd and fds (a
// CAP_SYS_PTRACE neighbour could open /proc/<init>/root). So the init is
// cloned into our pid namespace and given the shared one's fd: it joins it
// for its children only, and after pivot_root forks the container process
// into it (linux/init.cpp). Where the init makes a user namespace of its
// own, it may not join a pid namespace owned by ours, and procfs can show
// another pid namespace than the mounting process's only since Linux 6.17
// (its "pidns" option): in those cases we join it here, as runc does.
//
// A user namespace with a path owns the namespaces we make: they are not
// cloned here (under the runtime's user namespace) but unshared by the init
// once it has joined it (*unshare).
unsigned long namespaces_to_create(const spec::Spec &spec, bool &cgroup_ns, bool &time_ns, UniqueFd &pid_ns,
                                   unsigned long *unshare) {
    unsigned long flags = 0;
    cgroup_ns = time_ns = false;
    *unshare = 0;
    if (!spec.linux) return 0;
    bool new_user_ns = false, join_user_ns = false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == "user") (n.path.empty() ? new_user_ns : join_user_ns) = true;
    for (auto &n : spec.linux->namespaces) {
        unsigned long f = ns::flag_of(n.type);
        if (!n.path.empty()) {
            if (f == CLONE_NEWPID && !new_user_ns && !unsafe::off("init-joins-pidns")) {
                pid_ns.reset(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
                if (!pid_ns) throw_errno("open namespace " + n.path);
                if (procfs::can_mount_for_pidns(pid_ns.get())) continue;
                pid_ns.reset();
            }
            if (f == CLONE_NEWPID || f == CLONE_NEWTIME) {
                ns::join(n.path, f);
            }
            continue;
        }
        // Unshared by the init: the offsets are written before it enters the
        // namespace (and clone() has no room for CLONE_NEWTIME).
        if (f == CLONE_NEWCGROUP)
            cgroup_ns = true;
        else if (f == CLONE_NEWTIME)
            time_ns = true;
        else
            flags |= f;
    }
    if (join_user_ns) std::swap(flags, *unshare);
    return flags;
}

bool has_user_ns_path(const spec::Spec &spec) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == "user" && !n.path.empty()) return true;
    return false;
}

// Whether the init stays dumpable from clone() until kGo (CVE-2016-9962
// otherwise demands it never is). A non-dumpable process's /proc/<pid>
// files are owned by root, so an unprivileged runtime (euid != 0) could not
// write its uid_map, gid_map, setgroups and oom_score_adj, and newuidmap
// refuses a /proc/<pid> that is not the caller's. Root (also root of
// rootless podman's user namespace) needs no window, and a container
// process running as root could use one.
//
// Why the window is safe: until kGo the init only closes inherited fds
// (close_range) and waits on the sync socket. It has joined no namespace
// yet (join_namespaces, the shared pid namespace and the unshare in a
// joined user namespace all come after kGo), no container process exists
// in the namespaces clone() made, it resolves no path, and its root, cwd and
// fds (sync socket, console, bind sources, preserved fds) are the
// unprivileged user's own objects. Who can ptrace it meanwhile must have
// its uid, and can ptrace the runtime itself just as well.
bool dumpable_until_go(const spec::Spec &spec, const linux_init::InitArgs &a) {
    if (!a.rootless_euid) return false;
    return (a.clone_flags & CLONE_NEWUSER) || (spec.process && spec.process->oomScoreAdj);
}

bool has_own_pid_ns(const spec::Spec &spec) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == "pid" && n.path.empty()) return true;
    return false;
}

// linux.netDevices into the container's network namespace: the one the init
// was cloned into, or the one it joins by path. Nothing to give back on
// delete: when the namespace goes, the kernel returns physical devices to
// the host and destroys virtual ones (runtime-spec 1.3, as runc 1.4).
void move_net_devices(const spec::Spec &spec, pid_t pid, unsigned long clone_flags) {
    if (!spec.linux || spec.linux->netDevices.empty()) return;
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    if (!(clone_flags & CLONE_NEWNET))
        for (auto &n : spec.linux->namespaces)
            if (n.type == "network") path = n.path;
    UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("open network namespace " + path);
    for (auto &[name, dev] : spec.linux->netDevices) netlink::move_device(name, dev.name, ns.get(), path);
}

std::string hook_state(const StoredState &st, const char *status, int pid) {
    return spec::hook_state_json(st.ociVersion, st.id, status, pid, st.bundle, st.annotations);
}

void send_tag(Launch &l, char tag, const std::string &text = {}) {
    std::string msg(1, tag);
    msg += text;
    if (::send(l.sync.get(), msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
        throw Error("container init exited unexpectedly");
}

// The parent half of the sync protocol: wait for kReady or an error,
// running the runtime-side creation hooks when the init asks for them.
void wait_ready(Launch &l, const spec::Spec &spec) {
    char buf[4096];
    ssize_t n;
    for (;;) {
        UniqueFd notify_fd;
        n = seccomp_agent::recv_msg(l.sync.get(), buf, sizeof buf, &notify_fd);
        if (n >= 1 && buf[0] == process::kSeccompFdTag && notify_fd) {
            seccomp_agent::hand_over(*spec.linux->seccomp, notify_fd.get(), l.pid, hook_state(l.st, "creating", l.pid));
            notify_fd.reset();  // the agent has it now; the runtime keeps none
            send_tag(l, linux_init::kGo);
            continue;
        }
        if (n >= 1 && buf[0] == linux_init::kDebug) {
            log::debug(std::string_view(buf + 1, static_cast<size_t>(n - 1)));
            continue;
        }
        if (n >= 1 && (buf[0] == linux_init::kPid || buf[0] == linux_init::kNewPid)) {
            // The init forked the container process into the shared pid
            // namespace, or pid 1 into a new one made in a joined user
            // namespace (CLONE_PARENT: our child), and exits.
            pid_t first = l.pid;
            l.pid = static_cast<pid_t>(std::atoi(std::string(buf + 1, static_cast<size_t>(n - 1)).c_str()));
            ::waitpid(first, nullptr, 0);
            // Born inside the container: its LSM attr files come from us.
            if (buf[0] == linux_init::kPid && spec.process && process::wants_exec_labels(*spec.process) &&
                !process::send_exec_labels(l.sync.get(), linux_init::kLabels,
                                           process::open_exec_labels(*spec.process, l.pid)))
                throw Error("container init exited unexpectedly");
            continue;
        }
        if (n < 1 || buf[0] != linux_init::kHooks) break;
        std::string state = hook_state(l.st, "creating", l.pid);
        hooks::run(spec.hooks->prestart, "prestart", state, l.st.bundle);
        hooks::run(spec.hooks->createRuntime, "createRuntime", state, l.st.bundle);
        send_tag(l, linux_init::kGo);
    }
    if (n >= 1 && buf[0] == linux_init::kReady) return;
    if (n >= 1 && buf[0] == linux_init::kError)
        throw Error("unable to start container process: " + std::string(buf + 1, static_cast<size_t>(n - 1)));
    int status = 0;
    ::waitpid(l.pid, &status, 0);
    l.pid = -1;
    throw Error("container init exited unexpectedly during setup");
}


// Everything up to a parked init: state dir, cgroup, namespaces, rootfs.
// use_fifo: the init waits on exec.fifo (create); otherwise on the sync
// socket (run, which starts it itself).
std::unique_ptr<Launch> launch(const Globals &g, const CreateOptions &o, bool use_fifo, bool detached) {
    validate_id(o.id);
    std::string config_text = read_file(o.bundle + "/config.json");
    spec::Spec spec = spec::parse_config(config_text, "config.json");
    // Payload handler (src/handlers): its spec changes are validated like the rest.
    auto handler = handlers::select(g, spec, o.id, use_fifo, o.bundle);
    handler->edit_spec(spec);
    spec::absolute_destinations(spec);
    spec::validate(spec);
    if (::geteuid() != 0) userns::validate_rootless(spec);
    check_create_options(spec, o, detached, use_fifo);
    if (spec.process) process::warn_unknown_capabilities(spec.process->capabilities);
    const spec::IntelRdt *rdt = spec.linux && spec.linux->intelRdt ? &*spec.linux->intelRdt : nullptr;
    std::string rdt_root = rdt ? resctrl::root() : "";
    if (rdt) resctrl::check(*rdt, rdt_root);
    if (spec.linux && !spec.linux->netDevices.empty() && ::geteuid() != 0)
        throw Error("network devices are not supported for rootless containers");
    unsigned listen_fds = socket_activation(spec);
    // Relative paths of the config (root, bind sources) are relative to the bundle.
    if (::chdir(o.bundle.c_str()) < 0) throw_errno("chdir " + o.bundle);

    auto l = std::make_unique<Launch>();
    auto &st = l->st;
    st.id = o.id;
    st.ociVersion = spec.ociVersion;
    st.bundle = o.bundle;
    st.rootfs = absolute_rootfs(spec, o.bundle);
    st.annotations = spec.annotations;
    st.own_pid_ns = has_own_pid_ns(spec);
    st.has_process = spec.process.has_value();
    if (spec.hooks) st.hooks = spec::hooks_json(*spec.hooks);
    const spec::Resources *res = spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
    cgroups::Options co;
    co.cgroups_path = spec.linux ? spec.linux->cgroupsPath : "";
    co.id = o.id;
    co.systemd = g.systemd_cgroup;
    // runc's --rootless auto: not root, or root of a user namespace.
    co.rootless = g.rootless == "true" || (g.rootless == "auto" && (::geteuid() != 0 || userns::running_in_user_ns()));
    co.annotations = spec.annotations;
    auto cgroup = cgroups::make(co);
    check_existing_cgroup(*cgroup, co.systemd);

    // The record comes first, so that whatever is made after it can be
    // found by `delete` even when we are killed (SIGKILL) half-way: the
    // cgroup we are about to make, then the cgroup as made (ours, and so its
    // processes), and pid 0 until the init is ready.
    st.cgroup_planned = cgroup->dirs();
    l->dir = StateDir::create(g.root, o.id, st);
    // Only now ours to undo: a create refused for a taken id, or for a
    // cgroup refused here, must not destroy a cgroup that is not ours.
    l->cgroup = std::move(cgroup);
    // exec takes the container's process, seccomp filter and personality
    // from this copy, never again from the bundle.
    l->dir.save_config(config_text);
    // NOTIFY_SOCKET: the container's own socket; run listens from now on,
    // a created container from `start` on.
    std::string notify_host = notify::host_socket();
    if (!notify_host.empty()) {
        notify::setup_container(spec, l->dir.path());
        if (!use_fifo) l->notify = notify::Relay::listen(l->dir.path(), notify_host);
    }

    // create: the init waits for `start` on this socket (its presence also
    // says "created"); run starts it over the sync socket.
    UniqueFd start_sock;
    if (use_fifo) start_sock = l->dir.listen_start_socket();
    l->cgroup->create(res);
    st.cgroup = l->cgroup->record();
    st.cgroup_planned.clear();
    l->dir.save(st);

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
    l->sync.reset(sv[0]);
    UniqueFd child_end(sv[1]);

    // A foreground run without a console socket relays the terminal itself:
    // the master comes back over a socketpair.
    UniqueFd console;
    if (spec.process && spec.process->terminal) {
        if (!o.console_socket.empty()) {
            console.reset(terminal::connect_socket(o.console_socket));
        } else {
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) throw_errno("socketpair");
            l->console_relay.reset(pair[0]);
            console.reset(pair[1]);
        }
    }

    linux_init::InitArgs args;
    args.spec = &spec;
    args.handler = handler.get();
    args.id = o.id;
    args.bundle = o.bundle;
    args.rootfs = st.rootfs;
    args.sync_fd = child_end.get();
    args.start_fd = start_sock.get();
    args.no_pivot = o.no_pivot;
    args.no_new_keyring = st.no_new_keyring = o.no_new_keyring;
    args.preserve_fds = listen_fds + o.preserve_fds;
    args.console_fd = console.get();
    args.cgroup_dirs = l->cgroup->dirs();
    UniqueFd pid_ns;
    args.clone_flags = namespaces_to_create(spec, args.new_cgroup_ns, args.new_time_ns, pid_ns, &args.unshare_flags);
    args.rootless_euid = ::geteuid() != 0;
    args.in_user_ns = (args.clone_flags & CLONE_NEWUSER) || has_user_ns_path(spec) || userns::running_in_user_ns();
    args.dumpable_until_go = dumpable_until_go(spec, args);
    args.join_pid_ns_fd = pid_ns.get();
    // Made here, with the host's privileges; the init moves them into place.
    std::vector<UniqueFd> idmapped = rootfs::mount_sources(spec);
    for (auto &fd : idmapped) args.idmapped.push_back(fd.get());

    log::debug("nsexec container setup: cloning the container init");
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, args.clone_flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) throw_errno("clone");
    if (pid == 0) {
        l->sync.reset();
        l->console_relay.reset();
        l->dir.close();
        linux_init::run(args);
    }
    l->pid = pid;
    child_end.reset();

    l->cgroup->join(pid);
    // The container starts from its cpuset, not from kiln's affinity (runc 1.3.1).
    process::reset_affinity(pid);
    if (rdt) {
        st.rdt = resctrl::apply(*rdt, o.id, pid, rdt_root);
        l->dir.save(st);  // on record for a delete after a kill -9, as the cgroup
    }
    move_net_devices(spec, pid, args.clone_flags);
    if (args.clone_flags & CLONE_NEWUSER) userns::write_maps(pid, spec.linux->uidMappings, spec.linux->gidMappings);
    if (spec.process && spec.process->oomScoreAdj)
        write_file("/proc/" + std::to_string(pid) + "/oom_score_adj", std::to_string(*spec.process->oomScoreAdj));
    send_tag(*l, linux_init::kGo, std::to_string(pid));
    wait_ready(*l, spec);
    // Joining a pid namespace, the init forked the container process into
    // it and left, or forked pid 1 into a new one made in a joined user
    // namespace (wait_ready took the new pid): record that one.
    pid = l->pid;
    handler->wait_parked(pid);

    st.pid = pid;
    st.start_time = process_start_time(pid);
    st.created = now_rfc3339nano();
    l->dir.save(st);
    if (!o.pidfd_socket.empty()) terminal::send_pidfd(o.pidfd_socket, pid);
    write_pid_file(o.pid_file, pid);
    return l;
}

// Tells the waiting init to go: connect to its start socket and say "S".
// It answers kAck, then the connection closes when the payload is exec'd
// (close-on-exec), or carries "E..." when that failed (a startContainer
// hook, the exec). Returns false when the init was gone before it started.
bool release_init(const StateDir &dir) {
    UniqueFd conn(dir.connect_start_socket());
    if (!conn) {
        if (errno == ENOENT) throw Error("cannot start an already running container");
        if (errno == ECONNREFUSED) return false;  // nobody listens: the init died
        throw_errno("connect " + dir.start_socket_path());
    }
    if (::send(conn.get(), &linux_init::kStart, 1, MSG_NOSIGNAL) != 1) return false;
    bool started = false;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return started;
        if (buf[0] == linux_init::kAck) started = true;
        if (buf[0] == linux_init::kError)
            throw Error("unable to start container process: " + std::string(buf + 1, static_cast<size_t>(n - 1)));
    }
}

bool wait_gone(pid_t pid, int timeout_ms) {
    UniqueFd pidfd(pidfd_open(pid));
    if (!pidfd) return errno == ESRCH;
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

bool same_file(const std::string &a, const struct stat &b) {
    struct stat st;
    return ::stat(a.c_str(), &st) == 0 && st.st_ino == b.st_ino && st.st_dev == b.st_dev;
}

// A rootless container without a cgroup (nothing delegated): its processes
// are those in its pid namespace, which the init must still own.
std::vector<pid_t> pid_ns_members(const StoredState &st) {
    std::vector<pid_t> out;
    struct stat ns;
    std::string init_ns = "/proc/" + std::to_string(st.pid) + "/ns/pid";
    if (::stat(init_ns.c_str(), &ns) < 0 || process_start_time(st.pid) != st.start_time) return out;
    DIR *d = ::opendir("/proc");
    if (!d) return out;
    while (auto *e = ::readdir(d)) {
        char *end;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid > 0 && !*end && same_file(std::string("/proc/") + e->d_name + "/ns/pid", ns))
            out.push_back(static_cast<pid_t>(pid));
    }
    ::closedir(d);
    return out;
}

std::vector<pid_t> container_pids(const StoredState &st) {
    if (st.cgroup.empty() && st.own_pid_ns) return pid_ns_members(st);
    return cgroups::open(st.cgroup)->pids();
}

void signal_all(const StoredState &st, int sig) {
    if (st.cgroup.empty() && st.own_pid_ns) {
        for (pid_t p : pid_ns_members(st)) ::kill(p, sig);
        return;
    }
    cgroups::open(st.cgroup)->kill_all(sig);
}

// Sends sig to the init, guarding against the pid having been reused.
void signal_init(const StoredState &st, int sig) {
    UniqueFd pidfd(pidfd_open(st.pid));
    if (!pidfd || process_start_time(st.pid) != st.start_time) throw Error("container not running");
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0) {
        if (errno == ESRCH) throw Error("container not running");
        throw_errno("kill container init");
    }
}

// runc makes a failing poststart hook fatal; the runtime-spec says warn
// and go on, and kiln follows the spec here.
void run_poststart(const StoredState &st) {
    if (st.hooks.empty()) return;
    hooks::run_warn_only(spec::parse_hooks(st.hooks).poststart, "poststart", hook_state(st, "running", st.pid),
                         st.bundle);
}

// A cgroup that cannot be removed keeps the record (and poststop waits):
// a later `delete` tries again. poststop failures only warn (runtime-spec);
// a create that died before its init was ready (pid 0) ran no container
// and gets no poststop, as a failed create does.
void destroy(StateDir &dir, const StoredState &st) {
    cgroups::destroy(st.cgroup);
    // Made by a create killed there, or there before it: only an empty one goes.
    for (auto &d : st.cgroup_planned) ::rmdir(d.c_str());
    resctrl::destroy(st.rdt);
    if (st.pid > 0 && !st.hooks.empty())
        hooks::run_warn_only(spec::parse_hooks(st.hooks).poststop, "poststop", hook_state(st, "stopped", 0),
                             st.bundle);
    dir.remove();
}

// The end of a foreground run, under the lock again: a `delete` from
// elsewhere may have removed the container meanwhile, and a new container
// may have taken its id since; only our own is torn down.
void teardown_own(const Globals &g, const StoredState &ours) {
    StateDir dir;
    StoredState st;
    try {
        dir = StateDir::open(g.root, ours.id);
        st = dir.load();
    } catch (const Error &e) {
        if (e.code() == ENOENT) return;
        throw;
    }
    if (st.pid != ours.pid || st.start_time != ours.start_time) return;
    signal_all(st, SIGKILL);
    destroy(dir, st);
}


struct SignalName {
    const char *name;
    int number;
};

const SignalName kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},
    {"CONT", SIGCONT}, {"FPE", SIGFPE},   {"HUP", SIGHUP},       {"ILL", SIGILL},   {"INT", SIGINT},
    {"IO", SIGIO},     {"IOT", SIGIOT},   {"KILL", SIGKILL},     {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
    {"PROF", SIGPROF}, {"PWR", SIGPWR},   {"QUIT", SIGQUIT},     {"SEGV", SIGSEGV}, {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},       {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

ContainerState to_public(const StoredState &st, std::string status) {
    ContainerState cs;
    cs.ociVersion = st.ociVersion;
    cs.id = st.id;
    cs.status = std::move(status);
    cs.pid = cs.status == "stopped" ? 0 : st.pid;
    cs.bundle = st.bundle;
    cs.rootfs = st.rootfs;
    cs.created = st.created;
    cs.annotations = st.annotations;
    return cs;
}

}  // namespace

void write_pid_file(const std::string &path, pid_t pid) {
    if (path.empty()) return;
    // runc: ".<name>" next to it, O_EXCL, then rename over the target.
    auto slash = path.find_last_of('/');
    std::string tmp = path.substr(0, slash + 1) + "." + path.substr(slash + 1);
    UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd) throw_errno("open " + tmp);
    std::string text = std::to_string(pid);
    if (!write_all(fd.get(), text)) {
        ::unlink(tmp.c_str());
        throw_errno("write " + tmp);
    }
    fd.reset();
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_errno("rename " + path, err);
    }
}

void validate_id(const std::string &id) {
    if (id.empty()) throw Error("container id cannot be empty");
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '.' || c == '-'))
            throw Error("invalid container ID format");
    if (id == "." || id == "..") throw Error("invalid container ID format");
}

int parse_signal(const std::string &s) {
    if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        long n = std::strtol(s.c_str(), nullptr, 10);
        if (n >= 0 && n <= 64) return static_cast<int>(n);
        throw Error("unknown signal \"" + s + "\"");
    }
    std::string up;
    for (char c : s) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view name = up;
    if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
    for (auto &sig : kSignals)
        if (name == sig.name) return sig.number;
    throw Error("unknown signal \"" + s + "\"");
}

void create(const Globals &g, const CreateOptions &o) {
    auto l = launch(g, o, true, true);
    l->committed = true;
}

void start(const Globals &g, const std::string &id) {
    validate_id(id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    std::string status = status_at(st, dir.fd(), ".");
    if (status == "stopped") throw Error("cannot start a container that has stopped");
    if (status == "running") throw Error("cannot start an already running container");
    if (status != "created") throw Error("cannot start a container in the " + status + " state");
    if (!st.has_process) {
        signal_init(st, SIGKILL);
        throw Error("process property must not be empty");
    }
    // NOTIFY_SOCKET: listening before the init is released, so that no
    // READY= is lost; start returns once it has been passed on (runc).
    notify::Relay relay = notify::Relay::listen(dir.path(), notify::host_socket());
    if (int sig = handlers::start_signal(st.annotations)) {
        signal_init(st, sig);  // a preloaded process, parked until this signal
    } else if (!release_init(dir)) {
        ::unlinkat(dir.fd(), StateDir::kStartSocket, 0);
        throw Error("cannot start a container that has stopped");
    }
    ::unlinkat(dir.fd(), StateDir::kStartSocket, 0);
    run_poststart(st);
    if (!relay) return;
    dir.close();  // state, kill and delete must not wait for READY=
    relay.wait(st.pid);
}

int run(const Globals &g, const RunOptions &o) {
    // Signals are blocked from before clone() so none is lost; the init
    // unblocks them for itself.
    sigset_t all, old;
    sigfillset(&all);
    if (!o.detach) ::sigprocmask(SIG_BLOCK, &all, &old);
    if (!o.detach && !o.no_subreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    auto l = launch(g, o, false, o.detach);
    send_tag(*l, linux_init::kStart);
    l->sync.reset();
    run_poststart(l->st);
    l->committed = true;
    // pause, resume, update, exec and delete from elsewhere must not wait
    // for the container to exit (nor, with -d, for its READY=).
    l->dir.close();
    if (o.detach) {
        // runc: run -d returns once the container said READY= (or ended).
        if (l->notify) l->notify.wait(l->pid);
        return 0;
    }

    int status = 0;
    try {
        UniqueFd master;
        if (l->console_relay) master.reset(terminal::receive_master(l->console_relay.get()));
        status = supervise(l->pid, master.get(), &l->notify);
    } catch (...) {
        // Nobody is left to wait for the container: do not leave it behind.
        ::kill(l->pid, SIGKILL);
        ::waitpid(l->pid, nullptr, 0);
        teardown_own(g, l->st);
        throw;
    }
    if (!o.keep) teardown_own(g, l->st);
    return status;
}

// Only "stopped or not" matters here: no start socket or freezer lookup.
void kill(const Globals &g, const std::string &id, int signal, bool all) {
    validate_id(id);
    StoredState st = load_state(g.root, id);
    // Without its own pid namespace, killing the init leaves the rest running.
    if (all || (signal == SIGKILL && !st.own_pid_ns)) {
        if (!alive(st)) {
            if (all) return;
            throw Error("container not running");
        }
        signal_all(st, signal);
        return;
    }
    // "container not running" when stopped: checked on the pinned pidfd.
    signal_init(st, signal);
}

void remove(const Globals &g, const std::string &id, bool force) {
    validate_id(id);
    StateDir::sweep(g.root);
    StateDir dir;
    try {
        dir = StateDir::open(g.root, id);
    } catch (const Error &e) {
        if (force && e.code() == ENOENT) return;
        throw;
    }
    StoredState st;
    try {
        st = dir.load();
    } catch (const Error &e) {
        // A state.json that cannot be read may still name processes and
        // cgroups: keep it (runc does). Only a dir without one goes (runc's
        // aborted create; kiln's creates always write one first).
        if (e.code() != ENOENT) throw;
        dir.remove();
        if (force) return;
        throw;
    }
    std::string status = status_at(st, dir.fd(), ".");
    if (status == "running" || status == "paused") {
        if (!force) throw Error("cannot delete container " + id + " that is not stopped: " + status);
    }
    if (status != "stopped") {
        signal_all(st, SIGKILL);
        // A frozen task cannot die: thaw after queueing the kill.
        if (status == "paused") cgroups::open(st.cgroup)->freeze(false);
        ::kill(st.pid, SIGKILL);
        wait_gone(st.pid, 10000);
    } else if (st.pid <= 0 || (!st.own_pid_ns && force)) {
        // pid 0: a create killed before its init was ready (we hold the
        // lock it held): what is in its cgroup is what it left.
        signal_all(st, SIGKILL);
    }
    destroy(dir, st);
}

void pause(const Globals &g, const std::string &id) {
    validate_id(id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    std::string status = status_of(st, dir.path());
    // runc freezes created and running containers; anything else is "not running".
    if (status != "running" && status != "created") throw Error("container not running");
    cgroups::open(st.cgroup)->freeze(true);
}

void resume(const Globals &g, const std::string &id) {
    validate_id(id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    if (status_of(st, dir.path()) != "paused") throw Error("container not paused");
    cgroups::open(st.cgroup)->freeze(false);
}

void update(const Globals &g, const std::string &id, const spec::Resources &r) {
    validate_id(id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    if (status_of(st, dir.path()) == "stopped") throw Error("container not running");
    cgroups::open(st.cgroup)->update(r);
}

void update_rdt(const Globals &g, const std::string &id, const std::string &l3, const std::string &mb) {
    validate_id(id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    if (status_of(st, dir.path()) == "stopped") throw Error("container not running");
    resctrl::update(resctrl::root(), st.rdt, l3, mb);
}

std::string stats_event(const Globals &g, const std::string &id) {
    validate_id(id);
    StoredState st = load_state(g.root, id);
    if (status_of(st, g.root + "/" + id) == "stopped") throw Error("container with id " + id + " is not running");
    json::Writer w;
    w.begin_object().key("type").string("stats").key("id").string(id).key("data");
    cgroups::open(st.cgroup)->stats(w, st.pid);
    w.end_object();
    return w.str();
}

std::unique_ptr<cgroups::OomWatch> watch_oom(const Globals &g, const std::string &id) {
    validate_id(id);
    return std::make_unique<cgroups::OomWatch>(load_state(g.root, id).cgroup);
}

std::vector<int> pids(const Globals &g, const std::string &id) {
    validate_id(id);
    StoredState st = load_state(g.root, id);
    auto v = container_pids(st);
    return std::vector<int>(v.begin(), v.end());
}

ContainerState state(const Globals &g, const std::string &id) {
    validate_id(id);
    StoredState st = load_state(g.root, id);
    return to_public(st, status_of(st, g.root + "/" + id));
}

namespace {

// The OWNER column: one passwd lookup per distinct uid (glibc does not cache
// getpwuid, and every lookup reads /etc/passwd again).
const std::string &owner_name(std::map<uid_t, std::string> &cache, uid_t uid) {
    auto it = cache.find(uid);
    if (it != cache.end()) return it->second;
    struct passwd *pw = ::getpwuid(uid);
    return cache[uid] = pw ? pw->pw_name : "#" + std::to_string(uid);
}

}  // namespace

// Reads per container only what is printed: state.json, the init's
// /proc/PID/stat (pid reuse), the start socket's presence, and the freezer
// only for a running one; every path is relative to the root's fd.
std::vector<ContainerState> list(const Globals &g) {
    std::vector<ContainerState> out;
    check_root(g.root);
    DIR *d = ::opendir(g.root.c_str());
    if (!d) {
        if (errno == ENOENT) return out;
        throw_errno("open " + g.root);
    }
    int root = ::dirfd(d);
    std::map<uid_t, std::string> owners;
    while (auto *e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        if (e->d_type != DT_DIR && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
        std::string id = e->d_name;
        struct stat sb;
        if (::fstatat(root, e->d_name, &sb, 0) < 0 || !S_ISDIR(sb.st_mode)) continue;
        try {
            StoredState st = load_state_at(root, id, g.root + "/" + id);
            ContainerState cs = to_public(st, status_at(st, root, id));
            cs.owner = owner_name(owners, sb.st_uid);
            out.push_back(std::move(cs));
        } catch (const std::exception &ex) {
            std::fprintf(stderr, "load container %s: %s\n", id.c_str(), ex.what());
        }
    }
    ::closedir(d);
    return out;
}

}  // namespace kiln
