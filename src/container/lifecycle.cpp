// The parent side of creation: create, start and run (the Launch
// transaction, id maps, socket activation). The init side lives in
// src/linux/init.cpp; the commands on an existing container in container.cpp.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include "cgroups/cgroup.hpp"
#include "linux/hooks.hpp"
#include "container/notify_socket.hpp"
#include "container/container.hpp"
#include "container/lifecycle.hpp"
#include "container/seccomp_agent.hpp"
#include "container/state.hpp"
#include "container/supervise.hpp"
#include "handlers/handler.hpp"
#include "kiln/log.hpp"
#include "kiln/container.hpp"
#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/init.hpp"
#include "linux/namespaces.hpp"
#include "linux/process.hpp"
#include "linux/procfs.hpp"
#include "linux/resctrl.hpp"
#include "linux/rootfs.hpp"
#include "linux/sealed.hpp"
#include "linux/sync.hpp"
#include "linux/terminal.hpp"
#include "linux/userns.hpp"
#include "util/child.hpp"
#include "util/unsafe.hpp"

namespace kiln {
namespace {

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

}  // namespace

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

bool has_own_pid_ns(const spec::Spec &spec) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == "pid" && n.path.empty()) return true;
    return false;
}

namespace {

// A bind mount that gives the container the host's procfs: /proc or a path
// in it, or (recursively) the root above it. Symlinks in the source are
// resolved as mount(2) resolves them; relative sources are the bundle's.
bool binds_host_proc(const spec::Mount &m, const std::string &bundle) {
    bool rbind = false, bind = m.type == "bind";
    for (auto &o : m.options) {
        if (o == "rbind") rbind = bind = true;
        if (o == "bind") bind = true;
    }
    if (!bind || m.source.empty()) return false;
    std::string src = m.source[0] == '/' ? m.source : bundle + "/" + m.source;
    char real[PATH_MAX];
    if (!::realpath(src.c_str(), real)) return false;
    std::string r = real;
    return r == "/proc" || r.rfind("/proc/", 0) == 0 || (rbind && r == "/");
}

}  // namespace

// Everything else is invisible to containers until the init execs: in a new
// pid namespace the init is the first process, and runc's CVE-2019-5736
// vector (a payload "#!/proc/self/exe") meets the sealed stub, not kiln.
// A bind of the host's /proc shows the container every host process, this
// kiln (run's supervisor) included.
bool init_seen_by_containers(const spec::Spec &spec, const std::string &bundle) {
    if (!has_own_pid_ns(spec) || (spec.hooks && !spec.hooks->startContainer.empty())) return true;
    for (auto &m : spec.mounts)
        if (binds_host_proc(m, bundle)) return true;
    return false;
}

namespace {

bool has_user_ns_path(const spec::Spec &spec) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == "user" && !n.path.empty()) return true;
    return false;
}

// Whether the init stays dumpable from clone() until Go (CVE-2016-9962
// otherwise demands it never is). A non-dumpable process's /proc/<pid>
// files are owned by root, so an unprivileged runtime (euid != 0) could not
// write its uid_map, gid_map, setgroups and oom_score_adj, and newuidmap
// refuses a /proc/<pid> that is not the caller's. Root (also root of
// rootless podman's user namespace) needs no window, and a container
// process running as root could use one.
//
// Why the window is safe: until Go the init only closes inherited fds
// (close_range) and waits on the sync socket. It has joined no namespace
// yet (join_namespaces, the shared pid namespace and the unshare in a
// joined user namespace all come after Go), no container process exists
// in the namespaces clone() made, it resolves no path, and its root, cwd and
// fds (sync socket, console, bind sources, preserved fds) are the
// unprivileged user's own objects. Who can ptrace it meanwhile must have
// its uid, and can ptrace the runtime itself just as well.
bool dumpable_until_go(const spec::Spec &spec, const linux_init::InitArgs &a) {
    if (!a.rootless_euid) return false;
    return (a.clone_flags & CLONE_NEWUSER) || (spec.process && spec.process->oomScoreAdj);
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

void send_msg(Launch &l, sync::Msg msg, const std::string &text = {}) {
    if (!sync::send(l.sync.get(), msg, text)) throw Error("container init exited unexpectedly");
}

// The parent half of the sync protocol: wait for Ready or an error,
// running the runtime-side creation hooks when the init asks for them.
void wait_ready(Launch &l, const spec::Spec &spec) {
    sync::Message m;
    for (;;) {
        m = sync::receive(l.sync.get());
        if (m.msg == sync::Msg::SeccompFd && m.fds.size() == 1) {
            seccomp_agent::hand_over(*spec.linux->seccomp, m.fds[0].get(), l.pid, hook_state(l.st, "creating", l.pid));
            m.fds.clear();  // the agent has it now; the runtime keeps none
            send_msg(l, sync::Msg::Go);
            continue;
        }
        if (m.msg == sync::Msg::Debug) {
            log::debug(m.text);
            continue;
        }
        if (m.msg == sync::Msg::Pid || m.msg == sync::Msg::NewPid) {
            // The init forked the container process into the shared pid
            // namespace, or pid 1 into a new one made in a joined user
            // namespace (CLONE_PARENT: our child), and exits.
            pid_t first = l.pid;
            l.pid = static_cast<pid_t>(std::atoi(m.text.c_str()));
            ::waitpid(first, nullptr, 0);
            // Born inside the container: its LSM attr files come from us.
            if (m.msg == sync::Msg::Pid && spec.process && process::wants_exec_labels(*spec.process) &&
                !process::send_exec_labels(l.sync.get(), sync::Msg::Labels,
                                           process::open_exec_labels(*spec.process, l.pid)))
                throw Error("container init exited unexpectedly");
            continue;
        }
        if (m.msg != sync::Msg::Hooks) break;
        std::string state = hook_state(l.st, "creating", l.pid);
        hooks::run(spec.hooks->prestart, "prestart", state, l.st.bundle);
        hooks::run(spec.hooks->createRuntime, "createRuntime", state, l.st.bundle);
        send_msg(l, sync::Msg::Go);
    }
    if (m.msg == sync::Msg::Ready) return;
    if (m.msg == sync::Msg::Error) throw Error("unable to start container process: " + m.text);
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
    if (init_seen_by_containers(spec, o.bundle)) sealed::reexec_kept();
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
    std::optional<spec::ConsoleSize> console_size;
    if (spec.process && spec.process->terminal) {
        if (!o.console_socket.empty()) {
            console.reset(terminal::connect_socket(o.console_socket));
        } else {
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) throw_errno("socketpair");
            l->console_relay.reset(pair[0]);
            console.reset(pair[1]);
            console_size = terminal::caller_size();
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
    args.console_size = console_size;
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
    pid_t pid = child::clone(args.clone_flags);
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
    send_msg(*l, sync::Msg::Go, std::to_string(pid));
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

}  // namespace

void create(const Globals &g, const CreateOptions &o) {
    auto l = launch(g, o, true, true);
    l->committed = true;
}

void start(const Globals &g, const std::string &id) {
    validate_id(id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    std::string status = to_string(status_at(st, dir.fd(), "."));
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
    send_msg(*l, sync::Msg::Start);
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

}  // namespace kiln
