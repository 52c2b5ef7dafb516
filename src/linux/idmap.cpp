// Id-mapped bind mounts (runtime-spec 1.1 mounts[].uidMappings/gidMappings,
// options idmap/ridmap). The runtime, still in the host's user and mount
// namespaces, clones the source (open_tree), makes a throwaway user
// namespace holding the mount's maps and applies it (mount_setattr
// MOUNT_ATTR_IDMAP); the init moves the finished tree into the rootfs.
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kiln/error.hpp"
#include "linux/kernel.hpp"
#include "linux/rootfs.hpp"
#include "linux/userns.hpp"
#include "util/child.hpp"

namespace kiln::rootfs {
namespace {

bool has_option(const spec::Mount &m, const char *name) {
    return std::find(m.options.begin(), m.options.end(), name) != m.options.end();
}

// A user namespace with these maps, held by an fd: a child is cloned into
// a new one, its maps written, the namespace opened, and the child let go.
UniqueFd userns_with(const spec::Mount &m) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    pid_t pid = child::clone(CLONE_NEWUSER, "clone a user namespace for an id-mapped mount");
    if (pid == 0) {
        child::run(-1, [&] {
            char c;
            wr.reset();
            (void)!::read(rd.get(), &c, 1);
        });
    }
    rd.reset();
    UniqueFd ns;
    std::string base = "/proc/" + std::to_string(pid);
    try {
        write_file(base + "/uid_map", userns::map_text(m.uidMappings));
        write_file(base + "/gid_map", userns::map_text(m.gidMappings));
        ns.reset(::open((base + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) throw_errno("open " + base + "/ns/user");
    } catch (...) {
        wr.reset();
        ::waitpid(pid, nullptr, 0);
        throw;
    }
    wr.reset();
    ::waitpid(pid, nullptr, 0);
    return ns;
}

// idmap/ridmap without mappings of their own take the container's user
// namespace (runc 1.2): the one joined by path, or a copy of its maps.
UniqueFd mount_userns(const spec::Spec &spec, const spec::Mount &m) {
    if (!m.uidMappings.empty() || !m.gidMappings.empty() || !spec.linux) return userns_with(m);
    for (auto &n : spec.linux->namespaces) {
        if (n.type != "user" || n.path.empty()) continue;
        UniqueFd ns(::open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) throw_errno("open user namespace " + n.path + " for id-mapped mount " + m.destination);
        return ns;
    }
    spec::Mount with = m;
    with.uidMappings = spec.linux->uidMappings;
    with.gidMappings = spec.linux->gidMappings;
    return userns_with(with);
}

UniqueFd idmapped_tree(const spec::Spec &spec, const spec::Mount &m, size_t index) {
    std::string where = "mounts[" + std::to_string(index) + "] (" + m.destination + ")";
    bool recursive = has_option(m, "ridmap");
    unsigned clone_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (has_option(m, "rbind") ? AT_RECURSIVE : 0);
    UniqueFd tree(static_cast<int>(kernel::get().open_tree(AT_FDCWD, m.source.c_str(), clone_flags)));
    if (!tree) throw_errno("open_tree " + m.source + " for " + where);
    UniqueFd ns = mount_userns(spec, m);
    MountOptions o = parse_options(m.options);
    struct mount_attr attr = mount_attrs(o.flags, 0);
    attr.attr_set |= MOUNT_ATTR_IDMAP | o.attr_set;
    attr.attr_clr |= o.attr_clr;
    attr.userns_fd = static_cast<uint64_t>(ns.get());
    unsigned at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (kernel::get().mount_setattr(tree.get(), "", at, &attr, sizeof attr) < 0)
        throw_errno("id-mapped mount " + where + ": mount_setattr");
    return tree;
}

}  // namespace

bool is_idmapped(const spec::Mount &m) {
    return !m.uidMappings.empty() || has_option(m, "idmap") || has_option(m, "ridmap");
}

// The init mounts after entering the container's user namespace, whose
// root may not be able to reach a bind source (a 0700 directory of the
// host's root). As runc opens such sources beforehand, the source is cloned
// here (open_tree) with the host's access; the init attaches the clone.
// An unprivileged runtime may not clone mounts (CAP_SYS_ADMIN) and has no
// access beyond the init's own: the init binds by path.
UniqueFd bind_source(const spec::Spec &spec, const spec::Mount &m, size_t index) {
    if (::geteuid() != 0) return UniqueFd();
    bool userns = spec.linux && std::any_of(spec.linux->namespaces.begin(), spec.linux->namespaces.end(),
                                            [](auto &n) { return n.type == "user"; });
    bool bind = m.type == "bind" || has_option(m, "bind") || has_option(m, "rbind");
    if (!userns || !bind || m.source.empty()) return UniqueFd();
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (has_option(m, "rbind") ? AT_RECURSIVE : 0);
    UniqueFd tree(static_cast<int>(kernel::get().open_tree(AT_FDCWD, m.source.c_str(), flags)));
    if (!tree) throw_errno("mounts[" + std::to_string(index) + "] (" + m.destination + "): open_tree " + m.source);
    return tree;
}

std::vector<UniqueFd> mount_sources(const spec::Spec &spec) {
    std::vector<UniqueFd> out;
    for (size_t i = 0; i < spec.mounts.size(); i++) {
        const auto &m = spec.mounts[i];
        UniqueFd fd = is_idmapped(m) ? idmapped_tree(spec, m, i) : bind_source(spec, m, i);
        if (!fd) continue;
        if (out.size() < i + 1) out.resize(i + 1);
        out[i] = std::move(fd);
    }
    return out;
}

void attach_idmapped(int root_fd, const spec::Mount &m, int tree_fd) {
    struct stat st;
    if (::fstat(tree_fd, &st) < 0) throw_errno("stat id-mapped source " + m.source);
    auto dst = open_in_root(root_fd, m.destination, true, !S_ISDIR(st.st_mode));
    if (kernel::get().move_mount(tree_fd, "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        throw_errno("move_mount id-mapped " + m.destination);
}

}  // namespace kiln::rootfs
