#include "linux/userns.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kiln/error.hpp"
#include "util/exe.hpp"
#include "util/fd.hpp"

namespace kiln::userns {
namespace {

bool maps_id(const std::vector<spec::IdMapping> &maps, unsigned long long id) {
    for (auto &m : maps)
        if (id >= m.containerID && id < static_cast<unsigned long long>(m.containerID) + m.size) return true;
    return false;
}

// The uid=N / gid=N of a mount's options must be mapped (runc's rule).
void check_mount_ids(const spec::Spec &spec, const spec::Mount &m) {
    for (auto &opt : m.options) {
        bool uid = opt.rfind("uid=", 0) == 0, gid = opt.rfind("gid=", 0) == 0;
        if (!uid && !gid) continue;
        char *end = nullptr;
        unsigned long long id = std::strtoull(opt.c_str() + 4, &end, 10);
        if (end == opt.c_str() + 4 || *end) continue;  // not a number: not ours to judge
        if (!maps_id(uid ? spec.linux->uidMappings : spec.linux->gidMappings, id))
            throw Error(std::string("cannot specify ") + (uid ? "uid" : "gid") +
                        "= mount options for unmapped " + (uid ? "uid" : "gid") + " in rootless containers");
    }
}

// runc resolves the helpers with the runtime's PATH.
std::string find_tool(const char *name) {
    const char *path = std::getenv("PATH");
    return find_executable(name, path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
}

// newuidmap PID ID HOSTID SIZE ...: the setuid helper checks the ranges
// against /etc/subuid (or /etc/subgid) and writes the map for us.
void run_tool(const char *name, pid_t pid, const std::vector<spec::IdMapping> &maps, const std::string &file,
              int direct_err) {
    std::string tool = find_tool(name);
    if (tool.empty())
        throw Error("write " + file + ": " + std::strerror(direct_err) + " (mapping more than your own id needs " +
                    name + ", from the uidmap package, and a range in /etc/sub" + (name[3] == 'u' ? "uid" : "gid") +
                    ")");
    std::vector<std::string> args{tool, std::to_string(pid)};
    for (auto &m : maps)
        for (auto v : {m.containerID, m.hostID, m.size}) args.push_back(std::to_string(v));
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char *envp[] = {nullptr};
    // run blocks every signal before clone(); the helper gets none blocked.
    // posix_spawn, not child::fork + child::run: nothing of ours runs in the
    // child (it only execs the setuid helper), and its vfork-like start
    // (CLONE_VM|CLONE_VFORK) copies no page tables and reports a failed exec
    // as err here.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t child;
    int err = ::posix_spawn(&child, tool.c_str(), nullptr, &attr, argv.data(), envp);
    posix_spawnattr_destroy(&attr);
    if (err) throw_errno("run " + tool, err);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw Error(std::string(name) + " failed for pid " + std::to_string(pid) + " (see its message above; the ranges must be in /etc/sub" +
                    (name[3] == 'u' ? "uid" : "gid") + ")");
}

// The map written directly, or by the helper when the kernel refuses us.
void write_map(pid_t pid, const char *file, const char *tool, const std::vector<spec::IdMapping> &maps) {
    if (maps.empty()) return;
    std::string path = "/proc/" + std::to_string(pid) + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    if (write_all(fd.get(), map_text(maps))) return;
    int err = errno;
    if (err != EPERM || ::geteuid() == 0) throw_errno("write " + path, err);
    run_tool(tool, pid, maps, path, err);
}

bool only_own_gid(const std::vector<spec::IdMapping> &gids) {
    return gids.size() == 1 && gids[0].size == 1 && gids[0].hostID == ::getegid();
}

}  // namespace

bool running_in_user_ns() {
    static const bool in = [] {
        std::string text;
        if (!try_read_file("/proc/self/uid_map", text)) return false;
        unsigned long long a = 0, b = 0, c = 0;
        // The initial namespace maps everything: "0 0 4294967295".
        return std::sscanf(text.c_str(), "%llu %llu %llu", &a, &b, &c) != 3 || a != 0 || b != 0 || c != 4294967295ULL ||
               text.find('\n') + 1 < text.size();
    }();
    return in;
}

void validate_rootless(const spec::Spec &spec) {
    bool user = false, new_user = false;
    if (spec.linux)
        for (auto &n : spec.linux->namespaces)
            if (n.type == "user") user = true, new_user = n.path.empty();
    if (!user) throw Error("rootless container requires user namespaces");
    if (!new_user) return;  // the joined namespace has its maps already
    if (spec.linux->uidMappings.empty()) throw Error("rootless containers requires at least one UID mapping");
    if (spec.linux->gidMappings.empty()) throw Error("rootless containers requires at least one GID mapping");
    for (auto &m : spec.mounts) check_mount_ids(spec, m);
}

std::string map_text(const std::vector<spec::IdMapping> &maps) {
    std::string out;
    for (auto &m : maps)
        out += std::to_string(m.containerID) + " " + std::to_string(m.hostID) + " " + std::to_string(m.size) + "\n";
    return out;
}

void write_maps(pid_t pid, const std::vector<spec::IdMapping> &uids, const std::vector<spec::IdMapping> &gids) {
    // An unprivileged gid_map of our own gid is only accepted once
    // setgroups(2) is off for good in the namespace (user_namespaces(7)).
    if (::geteuid() != 0 && only_own_gid(gids)) {
        std::string path = "/proc/" + std::to_string(pid) + "/setgroups";
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd && !write_all(fd.get(), "deny")) throw_errno("write " + path);
        if (!fd && errno != ENOENT) throw_errno("open " + path);
    }
    write_map(pid, "uid_map", "newuidmap", uids);
    write_map(pid, "gid_map", "newgidmap", gids);
}

}  // namespace kiln::userns
