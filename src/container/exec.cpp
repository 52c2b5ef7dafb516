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
#include "container/runner.hpp"
#include "container/seccomp_agent.hpp"
#include "container/state.hpp"
#include "handlers/handler.hpp"
#include "kiln/container.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "kiln/spec.hpp"
#include "linux/init.hpp"
#include "linux/process.hpp"
#include "linux/terminal.hpp"
#include "util/fd.hpp"
#include "util/unsafe.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace kiln {
namespace {

struct NsEntry {
    const char *name;
    int flag;
};
// The user namespace first (it owns the rest), the mount namespace last (it
// changes our root). pid and time only apply to children: joined before fork.
const NsEntry kJoinOrder[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},     {"uts", CLONE_NEWUTS},
                              {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};

bool same_ns(pid_t pid, const char *name) {
    struct stat a, b;
    std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + name, ours = std::string("/proc/self/ns/") + name;
    return ::stat(theirs.c_str(), &a) == 0 && ::stat(ours.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
           a.st_dev == b.st_dev;
}

void join(pid_t pid, const char *name, int flag) {
    if (same_ns(pid, name)) return;
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return;  // the kernel lacks this namespace type
        throw_errno("open " + path);
    }
    if (::setns(fd.get(), flag) < 0) throw_errno("setns " + std::string(name));
}

uint32_t parse_id(const std::string &s, const char *what) {
    char *end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end || errno || v > 0xffffffffUL || s[0] == '-') throw Error(std::string(what) + s);
    return static_cast<uint32_t>(v);
}

// The process to run: -p FILE as given, else the config's process with the
// command-line overrides (runc ignores the flags when -p is given).
spec::Process build_process(const spec::Spec &spec, const ExecOptions &o) {
    if (!o.process_file.empty()) {
        auto p = spec::parse_process(read_file(o.process_file), o.process_file);
        if (p.args.empty()) throw Error("args must not be empty");
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
        p.user.uid = parse_id(o.user.substr(0, colon), "bad uid: ");
        if (colon != std::string::npos) p.user.gid = parse_id(o.user.substr(colon + 1), "bad gid: ");
    }
    for (auto &g : o.additional_gids) {
        if (!g.empty() && g[0] == '-') throw Error("additional-gids must be a positive number " + g);
        p.user.additionalGids.push_back(parse_id(g, "invalid additional-gids value "));
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

// --cgroup: the exec'd process goes to a sub-cgroup of the container's in
// the named controllers' hierarchies (all of them for a bare PATH).
std::vector<std::string> exec_cgroup_dirs(const StoredState &st, const std::vector<std::string> &specs) {
    std::vector<std::string> dirs = st.cgroup_dirs;
    if (specs.empty()) return dirs;
    auto &hs = cgroups::hierarchies();
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
            dirs[i] = st.cgroup_dirs[i] + path;
            set[i] = !ctrls.empty();
        }
    }
    return dirs;
}

void send_error(int fd, const std::string &msg) {
    std::string m = "E" + msg;
    (void)!::send(fd, m.data(), m.size(), MSG_NOSIGNAL);
}

[[noreturn]] void child(pid_t init, const spec::Process &p, const spec::Seccomp *filter,
                        const spec::Personality *personality, int sync_fd, int console_fd, unsigned preserve_fds,
                        handlers::Handler &handler) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // Not dumpable: the container's processes see us in their pid namespace
    // but must not ptrace us or open our /proc entries (CVE-2016-9962).
    if (!unsafe::off("cve-2016-9962")) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    try {
        // Only stdio, the preserved fds and ours go in (CVE-2024-21626).
        if (!unsafe::off("cve-2024-21626"))
            process::close_fds_except(3 + static_cast<int>(preserve_fds), {sync_fd, console_fd});
        char go;
        if (::recv(sync_fd, &go, 1, 0) != 1) ::_exit(1);
        linux_init::debug(sync_fd, "child process in init()");
        bool new_user_ns = !same_ns(init, "user");
        for (auto &ns : kJoinOrder) join(init, ns.name, ns.flag);
        if (::chdir(p.cwd.empty() ? "/" : p.cwd.c_str()) < 0)
            throw_errno("chdir to cwd (\"" + p.cwd + "\") set in config.json failed");
        if (!unsafe::off("cve-2024-21626")) process::verify_cwd();
        if (console_fd >= 0) {
            terminal::setup(console_fd, p, false);
            ::close(console_fd);
        }
        process::set_rlimits(p.rlimits);
        if (personality) process::set_personality(*personality);
        if (p.scheduler) process::set_scheduler(*p.scheduler);
        if (p.ioPriority) process::set_io_priority(*p.ioPriority);
        std::vector<std::string> env = p.env;
        process::add_home(env, p.user.uid);
        std::string exe = process::find_executable(p.args[0], env);
        std::vector<std::string> args = p.args;
        handler.exec_process(exe, args, env);
        if (p.noNewPrivileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
        UniqueFd stub(process::sealed_stub());
        process::set_exec_labels(p);
        if (filter && !p.noNewPrivileges) process::load_seccomp(*filter, p.noNewPrivileges, sync_fd);
        process::set_user_and_caps(p, new_user_ns);
        if (filter && p.noNewPrivileges) process::load_seccomp(*filter, p.noNewPrivileges, sync_fd);
        if (p.user.umask) ::umask(*p.user.umask);

        auto argv = process::c_strings(args), envp = process::c_strings(env);
        // `exec -d` returns at once: the process must outlive us.
        ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        linux_init::debug(sync_fd, "setns_init: about to exec");
        // The sync socket is close-on-exec: the parent sees EOF once we exec.
        if (!unsafe::off("cve-2024-21626")) ::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
        int err = process::exec_via_stub(stub.get(), process::StubWait{}, exe, argv.data(), envp.data());
        throw_errno("exec " + exe, err);
    } catch (const std::exception &e) {
        send_error(sync_fd, e.what());
    }
    ::_exit(1);
}



}  // namespace

int exec(const Globals &g, const ExecOptions &o) {
    validate_id(o.id);
    StoredState st = load_state(g.root, o.id);
    std::string status = status_of(st, g.root + "/" + o.id);
    if (status == "stopped") throw Error("cannot exec in a stopped container");
    if (status == "paused" && !o.ignore_paused)
        throw Error("cannot exec in a paused container (use --ignore-paused to override)");
    // The container's config: the base process and the seccomp filter that
    // every process of the container gets.
    auto spec = spec::load_config(st.bundle);
    spec::Process p = build_process(spec, o);
    auto handler = handlers::for_exec(g, st.annotations);
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

    sigset_t all;
    sigfillset(&all);
    if (!o.detach) ::sigprocmask(SIG_BLOCK, &all, nullptr);
    // pid and time namespaces take effect for our children.
    join(st.pid, "pid", CLONE_NEWPID);
    join(st.pid, "time", CLONE_NEWTIME);

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) throw_errno("socketpair");
    UniqueFd parent_end(sv[0]), child_end(sv[1]);
    log::debug("nsexec container setup: forking the exec process");
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        parent_end.reset();
        relay.reset();
        const spec::Personality *personality =
            spec.linux && spec.linux->personality ? &*spec.linux->personality : nullptr;
        child(st.pid, p, filter, personality, child_end.get(), console.get(), o.preserve_fds, *handler);
    }
    child_end.reset();
    try {
        cgroups::open(exec_cgroup_dirs(st, o.cgroups))->join(pid);
        char go = 'G';
        if (::send(parent_end.get(), &go, 1, MSG_NOSIGNAL) != 1) throw Error("exec process exited unexpectedly");
        char buf[4096];
        ssize_t n;
        UniqueFd notify_fd;  // SCMP_ACT_NOTIFY: the listener goes to the agent
        while ((n = seccomp_agent::recv_msg(parent_end.get(), buf, sizeof buf, &notify_fd)) >= 1) {
            if (buf[0] == linux_init::kDebug) {
                log::debug(std::string_view(buf + 1, static_cast<size_t>(n - 1)));
                continue;
            }
            if (buf[0] != process::kSeccompFdTag || !notify_fd) break;
            seccomp_agent::hand_over(*filter, notify_fd.get(), pid,
                                     spec::hook_state_json(st.ociVersion, st.id, "running", st.pid, st.bundle, st.annotations));
            notify_fd.reset();
            if (::send(parent_end.get(), &go, 1, MSG_NOSIGNAL) != 1) throw Error("exec process exited unexpectedly");
        }
        if (n > 0 && buf[0] == 'E') throw Error("unable to start container process: " + std::string(buf + 1, n - 1));
        if (!o.pidfd_socket.empty()) terminal::send_pidfd(o.pidfd_socket, pid);
        write_pid_file(o.pid_file, pid);
    } catch (...) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw;
    }
    if (o.detach) return 0;
    UniqueFd master;
    if (relay) master.reset(terminal::receive_master(relay.get()));
    return supervise(pid, master.get());
}

}  // namespace kiln
