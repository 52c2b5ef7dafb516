// `exec`: a new process in an existing container. The child joins the init's
// namespaces and cgroup, takes the process attributes, and execs through the
// sealed stub like the init does.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cgroups/cgroup.hpp"
#include "cgroups/fs.hpp"
#include "container/container.hpp"
#include "container/exec.hpp"
#include "container/supervise.hpp"
#include "container/seccomp_agent.hpp"
#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "kiln/container.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "kiln/spec.hpp"
#include "linux/init.hpp"
#include "linux/keyring.hpp"
#include "linux/process.hpp"
#include "linux/sealed.hpp"
#include "linux/sync.hpp"
#include "linux/terminal.hpp"
#include "util/child.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace kiln {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

struct NsEntry {
    const char *name;
    int flag;
};
const NsEntry kNamespaces[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
                               {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
                               {"pid", CLONE_NEWPID},   {"time", CLONE_NEWTIME}};

bool same_ns(pid_t pid, const char *name) {
    struct stat a, b;
    std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name, ours = std::string("/proc/self/ns/") + name;
    // A namespace type this kernel lacks has no entry: nothing to join.
    if (::stat(theirs.c_str(), &a) < 0) return true;
    return ::stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

// Until its first execve (the stub, just after create or run -d returned)
// the init is not dumpable and its memory still belongs to our user
// namespace: an unprivileged runtime may neither look at its /proc/<pid>/ns
// (EACCES) nor join them by pidfd (EPERM). Once it has exec'd, its user
// namespace, which we own, lets us. Waits up to 2 s for that.
void wait_init_exec(pid_t pid) {
    std::string user_ns = "/proc/" + std::to_string(pid) + "/ns/user";
    struct stat st;
    for (int i = 0; i < 2000 && ::stat(user_ns.c_str(), &st) < 0 && errno == EACCES; i++) {
        struct timespec ms = {0, 1000000};
        ::nanosleep(&ms, nullptr);
    }
}

// The init of the container, pinned: a pidfd opened and then checked
// against the recorded start time, so a reused pid is never joined.
// *flags: the namespaces of the init that are not ours.
UniqueFd pin_init(const StoredState &st, int *flags) {
    UniqueFd pidfd(pidfd_open(st.pid));
    if (!pidfd || process_start_time(st.pid) != st.start_time) throw Error("cannot exec in a stopped container");
    if (::geteuid() != 0) wait_init_exec(st.pid);
    *flags = 0;
    for (auto &ns : kNamespaces)
        if (!same_ns(st.pid, ns.name)) *flags |= ns.flag;
    // Still the same process: the entries compared above were its own.
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) < 0) throw Error("cannot exec in a stopped container");
    return pidfd;
}

// config.json as create saw it (kept in the state dir): exec takes the
// container's process, seccomp filter and personality from there, not from a
// bundle file that may have changed since.
spec::Spec saved_config(const std::string &state_dir, const StoredState &st) {
    std::string text;
    if (try_read_file(state_dir + "/config.json", text)) return spec::parse_config(text, "config.json");
    return spec::load_config(st.bundle);  // a container created by an older kiln
}

uint32_t parse_id(const std::string &s, const char *what, const char *flag) {
    char *end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end || errno || v > 0xffffffffUL || s[0] == '-') throw Error(std::string(what) + s);
    // 4294967295 would mean "unchanged" to setresuid: root (runc refuses it too).
    if (v > spec::kMaxId && !unsafe::off("uid-range")) throw Error(std::string(flag) + ": " + spec::kIdRangeError);
    return static_cast<uint32_t>(v);
}

}  // namespace

// The process to run: -p FILE as given, else the config's process with the
// command-line overrides (runc ignores the flags when -p is given).
spec::Process build_process(const spec::Spec &spec, const ExecOptions &o) {
    if (!o.process_file.empty()) {
        auto p = spec::parse_process(read_file(o.process_file), o.process_file);
        if (p.args.empty()) throw Error("args must not be empty");
        spec::validate_user(p.user, o.process_file);
        return p;
    }
    if (!spec.process) throw Error("process property must not be empty");
    spec::Process p = *spec.process;
    p.args = o.args;
    if (p.args.empty()) throw Error("exec args cannot be empty");
    p.terminal = o.tty;
    for (auto &e : o.env) p.env.push_back(e);
    if (!o.cwd.empty()) p.cwd = o.cwd;
    if (!o.user.empty()) {
        auto colon = o.user.find(':');
        p.user.uid = parse_id(o.user.substr(0, colon), "bad uid: ", "--user");
        if (colon != std::string::npos) p.user.gid = parse_id(o.user.substr(colon + 1), "bad gid: ", "--user");
    }
    for (auto &g : o.additional_gids) {
        if (!g.empty() && g[0] == '-') throw Error("additional-gids must be a positive number " + g);
        p.user.additionalGids.push_back(parse_id(g, "invalid additional-gids value ", "--additional-gids"));
    }
    if (o.no_new_privs) p.noNewPrivileges = true;
    if (!o.apparmor.empty()) p.apparmorProfile = o.apparmor;
    if (!o.process_label.empty()) p.selinuxLabel = o.process_label;
    if (!o.caps.empty()) {
        if (!p.capabilities) p.capabilities.emplace();
        for (auto &c : o.caps) {
            p.capabilities->bounding.push_back(c);
            p.capabilities->effective.push_back(c);
            p.capabilities->permitted.push_back(c);
        }
    }
    return p;
}

namespace {

// A --cgroup PATH made lexically clean ("a/./b/../c" -> "a/c", "/" -> ""),
// as runc's path.Join; one that climbs out of the container's cgroup is
// refused with runc's words.
std::string sub_cgroup(const std::string &path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        std::string c = path.substr(start, slash - start);
        if (c == "..") {
            if (parts.empty()) throw Error(path + " is not a sub cgroup path");
            parts.pop_back();
        } else if (!c.empty() && c != ".") {
            parts.push_back(c);
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    std::string out;
    for (auto &c : parts) out += "/" + c;
    return out;
}

}  // namespace

// --cgroup: the exec'd process goes to a sub-cgroup of the container's in
// the named controllers' hierarchies (all of them for a bare PATH).
std::vector<std::string> exec_cgroup_dirs(const StoredState &st, const std::vector<std::string> &specs) {
    std::vector<std::string> dirs = st.cgroup.dirs;
    if (specs.empty()) return dirs;
    auto hs = cgroups::hierarchies_of(st.cgroup);
    std::vector<bool> set(dirs.size(), false);
    bool bare = false;
    for (auto &spec : specs) {
        auto colon = spec.find(':');
        std::string ctrls = colon == std::string::npos ? "" : spec.substr(0, colon);
        std::string path = colon == std::string::npos ? spec : spec.substr(colon + 1);
        if (colon != std::string::npos && ctrls.empty())
            throw Error("invalid --cgroup argument: " + spec + " (empty <controller> prefix)");
        if (colon == std::string::npos) {
            if (bare) throw Error("invalid --cgroup argument: " + spec + " (missing <controller>: prefix)");
            bare = true;
        }
        if (path.empty()) throw Error("invalid --cgroup argument: " + spec);
        path = sub_cgroup(path);
        std::vector<std::string> names;
        for (size_t start = 0; !ctrls.empty() && start <= ctrls.size();) {
            size_t comma = ctrls.find(',', start);
            names.push_back(ctrls.substr(start, comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        for (auto &c : names) {
            bool known = false;
            for (size_t i = 0; i < dirs.size() && i < hs.size(); i++) known = known || cgroups::has_controller(hs[i], c);
            if (!known) throw Error("invalid --cgroup argument: unknown controller " + c);
        }
        for (size_t i = 0; i < dirs.size() && i < hs.size(); i++) {
            bool match = names.empty();
            for (auto &c : names) match = match || cgroups::has_controller(hs[i], c);
            if (!match) continue;
            if (set[i] && !ctrls.empty()) throw Error("invalid --cgroup argument: controller " + ctrls + " specified multiple times");
            if (set[i]) continue;
            dirs[i] = st.cgroup.dirs[i] + path;
            set[i] = !ctrls.empty();
        }
    }
    return dirs;
}

namespace {

// execCPUAffinity.final once the process is in the container's cgroup; with
// no affinity asked for at all, every cpu of its cpuset (never kiln's own).
void set_final_affinity(pid_t pid, const std::optional<spec::ExecCPUAffinity> &a) {
    if (!a || (a->initial.empty() && a->final_.empty())) return process::reset_affinity(pid);
    if (a->final_.empty()) return;
    process::set_affinity(pid, spec::parse_list(a->final_, "process.execCPUAffinity.final"),
                          "error setting final CPU affinity");
}

// The pid the first child reports (Pid), once it has exited.
pid_t receive_pid(int sync, pid_t mid) {
    sync::Message m = sync::receive(sync);
    int status = 0;
    while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
    }
    if (m.msg == sync::Msg::Pid && !m.text.empty()) return static_cast<pid_t>(std::atoi(m.text.c_str()));
    if (m.msg == sync::Msg::Error) throw Error("unable to start container process: " + m.text);
    throw Error("exec process exited unexpectedly");
}

struct ChildArgs {
    const spec::Process *p = nullptr;
    const spec::Seccomp *filter = nullptr;
    const spec::Personality *personality = nullptr;
    const spec::MemoryPolicy *memory_policy = nullptr;  // the container's, as runc's setns init applies it
    handlers::Handler *handler = nullptr;
    int sync_fd = -1, console_fd = -1;
    std::optional<spec::ConsoleSize> console_size;  // kiln relays the terminal: the caller's size
    unsigned preserve_fds = 0;
    bool new_user_ns = false;
    bool rootless_euid = false;  // the runtime's euid is not 0 (ours changes in the container's user ns)
    std::string keyring_of;  // the container id whose session keyring we join, "" for none
};


// The exec'd process, born inside every namespace of the container (see
// enter()): sets itself up and execs through the sealed stub.
void child(const ChildArgs &a) {
    const spec::Process &p = *a.p;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // Not dumpable: the container's processes see us in their pid namespace
    // but must not ptrace us or open our /proc entries (CVE-2016-9962).
    if (!unsafe::off("cve-2016-9962")) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // Only stdio, the preserved fds and ours go in (CVE-2024-21626).
    std::vector<int> keep = a.handler->init_fds();
    keep.push_back(a.sync_fd);
    keep.push_back(a.console_fd);
    if (!unsafe::off("cve-2024-21626")) process::close_fds_except(3 + static_cast<int>(a.preserve_fds), keep);
    process::ExecLabels labels;  // LSM attr files, opened for us by the runtime
    // Go (cgroup joined), with the LSM attr files the runtime opened
    // for us through the host's procfs: we were born inside the
    // container, whose /proc could swallow the labels.
    if (process::receive_exec_labels(a.sync_fd, p, labels) != sync::Msg::Go) ::_exit(1);
    linux_init::debug(a.sync_fd, "child process in init()");
    // The container's session keyring "_ses.<id>", as runc's setns init joins it.
    if (!a.keyring_of.empty()) keyring::join_session(a.keyring_of, false, a.new_user_ns);
    if (a.console_fd >= 0) {
        terminal::setup(a.console_fd, p, false, a.console_size);
        ::close(a.console_fd);
    }
    process::Payload payload;
    payload.p = &p;
    payload.filter = a.filter;
    payload.personality = a.personality;
    payload.memory_policy = a.memory_policy;
    payload.sync_fd = a.sync_fd;
    payload.in_user_ns = a.new_user_ns;
    payload.rootless_euid = a.rootless_euid;
    // runc's setns init: a missing cwd is an error, the umask stays the caller's unless set.
    payload.create_cwd = false;
    payload.default_umask = false;
    // From a read-only view of kiln no stub is needed: exec directly.
    payload.stub = !sealed::running_readonly();
    payload.edit = [&](std::string &exe, int &exe_fd, std::vector<std::string> &args, std::vector<std::string> &env) {
        a.handler->exec_process(exe, exe_fd, args, env);
    };
    process::Prepared prepared = process::prepare(payload, labels);
    // `exec -d` returns at once: the process must outlive us.
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    linux_init::debug(a.sync_fd, "setns_init: about to exec");
    // The sync socket is close-on-exec: the parent sees EOF once we exec.
    int err = process::exec_payload(prepared, process::StubWait{}, a.preserve_fds);
    throw_errno("exec " + prepared.exe, err);
}

// The first child: still in the host's pid namespace, so no process of the
// container can see it while it holds the host's root and cwd. It joins all
// the init's namespaces at once through the pidfd (setns(2) with a pidfd:
// atomic, user namespace first), then forks the real process, which is born
// in the container's pid namespace with the container's root, as a child of
// the runtime (CLONE_PARENT, as runc's nsexec does). It reports that pid and
// exits.
void enter(int init_pidfd, int flags, const ChildArgs &a) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // execCPUAffinity.initial: ours until the cgroup is joined, inherited by the process.
    if (a.p->execCPUAffinity && !a.p->execCPUAffinity->initial.empty())
        process::set_affinity(0, spec::parse_list(a.p->execCPUAffinity->initial, "process.execCPUAffinity.initial"),
                              "error setting initial CPU affinity");
    if (!unsafe::off("cve-2016-9962")) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (flags && ::setns(init_pidfd, flags) < 0) throw_errno("join the container's namespaces");
    ::close(init_pidfd);
    pid_t pid = child::clone(CLONE_PARENT);
    if (pid == 0) child::run(a.sync_fd, [&] { child(a); });
    sync::send(a.sync_fd, sync::Msg::Pid, std::to_string(pid));
}

}  // namespace

int exec(const Globals &g, const ExecOptions &o) {
    validate_id(o.id);
    StoredState st = load_state(g.root, o.id);
    std::string status = to_string(status_of(st, g.root + "/" + o.id));
    if (status == "stopped") throw Error("cannot exec in a stopped container");
    if (status == "paused" && !o.ignore_paused)
        throw Error("cannot exec in a paused container (use --ignore-paused to override)");
    // The container's config: the base process and the seccomp filter that
    // every process of the container gets.
    auto spec = saved_config(g.root + "/" + o.id, st);
    spec::Process p = build_process(spec, o);
    process::warn_unknown_capabilities(p.capabilities);
    auto handler = handlers::for_exec(g, o.id, st.annotations);
    handler->prepare_exec();
    const spec::Seccomp *filter = spec.linux && spec.linux->seccomp ? &*spec.linux->seccomp : nullptr;
    if (p.terminal && o.detach && o.console_socket.empty())
        throw Error("cannot allocate tty if kiln will detach without setting console socket");
    if (!p.terminal && !o.console_socket.empty())
        throw Error("cannot use console socket if kiln will not detach or allocate tty");
    UniqueFd console, relay;  // relay: foreground without a socket, kiln owns the pty
    if (p.terminal && !o.console_socket.empty()) {
        console.reset(terminal::connect_socket(o.console_socket));
    } else if (p.terminal) {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) throw_errno("socketpair");
        relay.reset(pair[0]);
        console.reset(pair[1]);
    }

    int flags = 0;
    UniqueFd init = pin_init(st, &flags);
    sigset_t all;
    sigfillset(&all);
    if (!o.detach) ::sigprocmask(SIG_BLOCK, &all, nullptr);

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
    UniqueFd parent_end(sv[0]), child_end(sv[1]);
    ChildArgs ca;
    ca.p = &p;
    ca.filter = filter;
    ca.personality = spec.linux && spec.linux->personality ? &*spec.linux->personality : nullptr;
    ca.memory_policy = spec.linux && spec.linux->memoryPolicy ? &*spec.linux->memoryPolicy : nullptr;
    ca.handler = handler.get();
    ca.sync_fd = child_end.get();
    ca.console_fd = console.get();
    if (relay) ca.console_size = terminal::caller_size();
    ca.preserve_fds = o.preserve_fds;
    ca.new_user_ns = flags & CLONE_NEWUSER;
    ca.rootless_euid = ::geteuid() != 0;
    if (!st.no_new_keyring && !unsafe::off("keyring")) ca.keyring_of = st.id;
    log::debug("nsexec container setup: forking the exec process");
    pid_t mid = child::fork();
    if (mid == 0) {
        parent_end.reset();
        relay.reset();
        child::run(ca.sync_fd, [&] { enter(init.get(), flags, ca); });
    }
    child_end.reset();
    init.reset();
    pid_t pid = -1;
    try {
        pid = receive_pid(parent_end.get(), mid);
        cgroups::FsManager({}, exec_cgroup_dirs(st, o.cgroups)).join(pid);
        resctrl::join(st.rdt, pid);
        set_final_affinity(pid, p.execCPUAffinity);
        if (!process::send_exec_labels(parent_end.get(), sync::Msg::Go, process::open_exec_labels(p, pid)))
            throw Error("exec process exited unexpectedly");
        sync::Message m;
        while ((m = sync::receive(parent_end.get())).msg != sync::Msg::None) {
            if (m.msg == sync::Msg::Debug) {
                log::debug(m.text);
                continue;
            }
            // SCMP_ACT_NOTIFY: the listener goes to the agent
            if (m.msg != sync::Msg::SeccompFd || m.fds.size() != 1) break;
            seccomp_agent::hand_over(*filter, m.fds[0].get(), pid,
                                     spec::hook_state_json(st.ociVersion, st.id, "running", st.pid, st.bundle, st.annotations));
            m.fds.clear();
            if (!sync::send(parent_end.get(), sync::Msg::Go)) throw Error("exec process exited unexpectedly");
        }
        if (m.msg == sync::Msg::Error) throw Error("unable to start container process: " + m.text);
        if (!o.pidfd_socket.empty()) terminal::send_pidfd(o.pidfd_socket, pid);
        write_pid_file(o.pid_file, pid);
    } catch (...) {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        throw;
    }
    if (o.detach) return 0;
    UniqueFd master;
    if (relay) master.reset(terminal::receive_master(relay.get()));
    return supervise(pid, master.get());
}

}  // namespace kiln
