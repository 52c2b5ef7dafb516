// The commands on an existing container: kill, delete, pause, resume,
// update, state, ps, events, list; and the pieces of start and run that act
// on a created one (release, poststart, the teardown at run's end).
#include "container/container.hpp"

#include <dirent.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>

#include "cgroups/cgroup.hpp"
#include "linux/hooks.hpp"
#include "linux/kernel.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "kiln/log.hpp"
#include "linux/sync.hpp"
#include "linux/resctrl.hpp"

namespace kiln {
namespace {

int pidfd_open(pid_t pid) { return kernel::get().pidfd_open(pid, 0); }

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

bool without_cgroup(const StoredState &st) { return st.cgroup.empty() && st.own_pid_ns; }

std::vector<pid_t> container_pids(const StoredState &st) {
    if (without_cgroup(st)) return pid_ns_members(st);
    return cgroups::open(st.cgroup)->pids();
}

void signal_all(const StoredState &st, int sig) {
    if (without_cgroup(st)) {
        for (pid_t p : pid_ns_members(st)) kernel::get().kill(p, sig);
        return;
    }
    cgroups::open(st.cgroup)->kill_all(sig);
}

bool wait_gone(pid_t pid, int timeout_ms) {
    UniqueFd pidfd(pidfd_open(pid));
    if (!pidfd) return errno == ESRCH;
    struct pollfd p = {pidfd.get(), POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

class RealTeardown final : public TeardownOps {
public:
    void signal_all(const StoredState &st, int sig) override { kiln::signal_all(st, sig); }
    void thaw(const StoredState &st) override { cgroups::open(st.cgroup)->freeze(false); }
    void kill_init(pid_t pid) override { kernel::get().kill(pid, SIGKILL); }
    bool wait_gone(pid_t pid, int timeout_ms) override { return kiln::wait_gone(pid, timeout_ms); }
    void remove_cgroup(const StoredState &st) override {
        cgroups::destroy(st.cgroup);
        // Made by a create killed there, or there before it: only an empty
        // one goes, so a failure (busy, not empty) is no error here.
        for (auto &d : st.cgroup_planned) ::rmdir(d.c_str());
    }
    void remove_rdt(const StoredState &st) override { resctrl::destroy(st.rdt); }
    void poststop(const StoredState &st) override {
        hooks::run_warn_only(spec::parse_hooks(st.hooks).poststop, "poststop", hook_state(st, "stopped", 0),
                             st.bundle);
    }
    void remove_state(StateDir &dir) override {
        if (!dir.remove()) throw_errno("unable to remove container state dir " + dir.path());
    }
};

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

}  // namespace

const char *to_string(Status s) {
    switch (s) {
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: break;
    }
    return "stopped";
}

bool cgroup_frozen(const StoredState &s) { return cgroups::open(deferred_cgroup(s, s.id))->frozen(); }

Status status_at(const StoredState &s, int dirfd, const std::string &dir, FrozenProbe frozen) {
    if (!alive(s)) return Status::Stopped;
    if (::faccessat(dirfd, (dir + "/" + StateDir::kStartSocket).c_str(), F_OK, 0) == 0) return Status::Created;
    return frozen(s) ? Status::Paused : Status::Running;
}

Status status_of(const StoredState &s, const std::string &state_dir) { return status_at(s, AT_FDCWD, state_dir); }

TeardownOps &real_teardown_ops() {
    static RealTeardown ops;
    return ops;
}

void teardown(TeardownOps &ops, StateDir &dir, const StoredState &st, Status status, bool kill_rest) {
    if (status != Status::Stopped) {
        ops.signal_all(st, SIGKILL);
        // A frozen task cannot die: thaw after queueing the kill.
        if (status == Status::Paused) ops.thaw(st);
        ops.kill_init(st.pid);
        if (!ops.wait_gone(st.pid, 10000)) throw Error("container init still running");
    } else if (kill_rest) {
        ops.signal_all(st, SIGKILL);
    }
    ops.remove_cgroup(st);
    ops.remove_rdt(st);
    // A create that died before its init was ready (pid 0) ran no container
    // and gets no poststop, as a failed create does.
    if (st.pid > 0 && !st.hooks.empty()) ops.poststop(st);
    ops.remove_state(dir);
}

Container Container::load(const Globals &g, const std::string &id, bool lock) {
    validate_id(id);
    if (!lock) return Container(load_state(g.root, id), AT_FDCWD, g.root + "/" + id);
    StateDir dir = StateDir::open(g.root, id);
    StoredState st = dir.load();
    return Container(std::move(dir), std::move(st));
}

Container::Container(StateDir dir, StoredState st) : dir_(std::move(dir)), st_(std::move(st)), at_fd_(dir_.fd()), at_path_(".") {}

Container::Container(StoredState st, int dirfd, std::string dir) : st_(std::move(st)), at_fd_(dirfd), at_path_(std::move(dir)) {}

Status Container::status() const { return status_at(st_, at_fd_, at_path_, frozen_); }

ContainerState Container::to_public(Status status) const {
    ContainerState cs;
    cs.ociVersion = st_.ociVersion;
    cs.id = st_.id;
    cs.status = to_string(status);
    cs.pid = status == Status::Stopped ? 0 : st_.pid;
    cs.bundle = st_.bundle;
    cs.rootfs = st_.rootfs;
    cs.created = st_.created;
    cs.annotations = st_.annotations;
    return cs;
}

// Only "stopped or not" matters here: no start socket or freezer lookup.
void Container::kill(int sig, bool all) const {
    // Without its own pid namespace, killing the init leaves the rest running.
    if (all || (sig == SIGKILL && !st_.own_pid_ns)) {
        if (!alive(st_)) {
            if (all) return;
            throw Error("container not running");
        }
        signal_all(st_, sig);
        return;
    }
    // "container not running" when stopped: checked on the pinned pidfd.
    signal_init(st_, sig);
}

void Container::pause() const {
    Status s = status();
    // runc freezes created and running containers; anything else is "not running".
    if (s != Status::Running && s != Status::Created) throw Error("container not running");
    cgroups::open(st_.cgroup)->freeze(true);
}

void Container::resume() const {
    if (status() != Status::Paused) throw Error("container not paused");
    cgroups::open(st_.cgroup)->freeze(false);
}

void Container::update(const spec::Resources &r) const {
    if (status() == Status::Stopped) throw Error("container not running");
    cgroups::open(st_.cgroup)->update(r);
}

void Container::update_rdt(const std::string &l3, const std::string &mb) const {
    if (status() == Status::Stopped) throw Error("container not running");
    resctrl::update(resctrl::root(), st_.rdt, l3, mb);
}

void Container::destroy(bool force, TeardownOps &ops) {
    Status s = status();
    if ((s == Status::Running || s == Status::Paused) && !force)
        throw Error("cannot delete container " + st_.id + " that is not stopped: " + to_string(s));
    // Stopped, pid 0: a create killed before its init was ready (we hold
    // the lock it held): what is in its cgroup is what it left. Without its
    // own pid namespace the init's death did not take the rest along.
    bool kill_rest = st_.pid <= 0 || (!st_.own_pid_ns && force);
    teardown(ops, dir_, st_, s, kill_rest);
}

std::string Container::stats_event() const {
    if (status() == Status::Stopped) throw Error("container with id " + st_.id + " is not running");
    json::Writer w;
    w.begin_object().key("type").string("stats").key("id").string(st_.id).key("data");
    cgroups::open(st_.cgroup)->stats(w, st_.pid);
    w.end_object();
    return w.str();
}


std::vector<pid_t> Container::pids() const { return container_pids(st_); }

void signal_init(const StoredState &st, int sig) {
    UniqueFd pidfd(pidfd_open(st.pid));
    if (!pidfd || process_start_time(st.pid) != st.start_time) throw Error("container not running");
    if (kernel::get().pidfd_send_signal(pidfd.get(), sig, nullptr, 0) < 0) {
        if (errno == ESRCH) throw Error("container not running");
        throw_errno("kill container init");
    }
}

// Connects to the start socket and sends Start ("S"). The init answers Ack,
// then the connection closes when the payload is exec'd (close-on-exec), or
// carries Error with the reason when that failed.
bool release_init(const StateDir &dir) {
    UniqueFd conn(dir.connect_start_socket());
    if (!conn) {
        if (errno == ENOENT) throw Error("cannot start an already running container");
        if (errno == ECONNREFUSED) return false;  // nobody listens: the init died
        throw_errno("connect " + dir.start_socket_path());
    }
    if (!sync::send(conn.get(), sync::Msg::Start)) return false;
    bool started = false;
    for (;;) {
        sync::Message m = sync::receive(conn.get());
        if (m.msg == sync::Msg::None) return started;  // EOF: exec'd (or died)
        if (m.msg == sync::Msg::Ack) started = true;
        if (m.msg == sync::Msg::Error) throw Error("unable to start container process: " + m.text);
    }
}

void run_poststart(const StoredState &st) {
    if (st.hooks.empty()) return;
    hooks::run_warn_only(spec::parse_hooks(st.hooks).poststart, "poststart", hook_state(st, "running", st.pid),
                         st.bundle);
}

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
    // Our init has been reaped: whatever is left in its cgroup goes first.
    teardown(real_teardown_ops(), dir, st, Status::Stopped, true);
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

void kill(const Globals &g, const std::string &id, int signal, bool all) { Container::load(g, id, false).kill(signal, all); }

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
    Container(std::move(dir), std::move(st)).destroy(force);
}

void pause(const Globals &g, const std::string &id) { Container::load(g, id, true).pause(); }

void resume(const Globals &g, const std::string &id) { Container::load(g, id, true).resume(); }

void update(const Globals &g, const std::string &id, const spec::Resources &r) { Container::load(g, id, true).update(r); }

void update_rdt(const Globals &g, const std::string &id, const std::string &l3, const std::string &mb) {
    Container::load(g, id, true).update_rdt(l3, mb);
}

std::string stats_event(const Globals &g, const std::string &id) { return Container::load(g, id, false).stats_event(); }

std::unique_ptr<cgroups::OomWatch> watch_oom(const Globals &g, const std::string &id) {
    return std::make_unique<cgroups::OomWatch>(Container::load(g, id, false).record().cgroup);
}

std::vector<int> pids(const Globals &g, const std::string &id) {
    auto v = Container::load(g, id, false).pids();
    return std::vector<int>(v.begin(), v.end());
}

ContainerState state(const Globals &g, const std::string &id) {
    Container c = Container::load(g, id, false);
    return c.to_public(c.status());
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
            Container c(load_state_at(root, id, g.root + "/" + id, /*defer_cgroup=*/true), root, id);
            ContainerState cs = c.to_public(c.status());
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
