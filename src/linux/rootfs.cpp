#include "linux/rootfs.hpp"

#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstring>
#include <string_view>

#include "cgroups/cgroup.hpp"
#include "kiln/error.hpp"
#include "util/unsafe.hpp"

namespace kiln::rootfs {
namespace {

struct FlagOption {
    const char *name;
    bool clear;  // "rw", "suid": clears the flag
    unsigned long flag;
};

const FlagOption kFlagOptions[] = {
    {"defaults", false, 0},          {"ro", false, MS_RDONLY},         {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},       {"nosuid", false, MS_NOSUID},     {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},      {"exec", true, MS_NOEXEC},        {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},  {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},  {"mand", false, MS_MANDLOCK},     {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},     {"noatime", false, MS_NOATIME},   {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"bind", false, MS_BIND},    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"lazytime", false, MS_LAZYTIME}, {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION}, {"noiversion", true, MS_I_VERSION}, {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},       {"nosymfollow", false, MS_NOSYMFOLLOW}, {"symfollow", true, MS_NOSYMFOLLOW},
};

const FlagOption kPropagation[] = {
    {"private", false, MS_PRIVATE},      {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},        {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},          {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

struct AttrOption {
    const char *name;
    bool clear;
    unsigned long long attr;
};

const AttrOption kRecursiveAttrs[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},     {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},   {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

// The atime modes are values inside MOUNT_ATTR__ATIME (MOUNT_ATTR_RELATIME is
// 0), not bits: mount_setattr(2) changes the mode only with all of
// MOUNT_ATTR__ATIME in attr_clr and refuses a part of it (EINVAL for "rnoatime"
// or "ratime" alone; found by tests/fuzz/fuzz_mount_options.cpp). So every
// atime option clears the field, the last one sets the mode, and a "no"/"r"
// variant goes back to the default (relatime).
void add_attr(MountOptions &o, const AttrOption &a) {
    if (a.attr & ~static_cast<unsigned long long>(MOUNT_ATTR__ATIME)) {
        (a.clear ? o.attr_clr : o.attr_set) |= a.attr;
        return;
    }
    o.attr_clr |= MOUNT_ATTR__ATIME;
    o.attr_set &= ~static_cast<unsigned long long>(MOUNT_ATTR__ATIME);
    if (!a.clear) o.attr_set |= a.attr;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// The target of a config mount: the fd opened in the root, through
// /proc/self/fd, so that no path is walked again between the in-root
// resolution and the mount; a swapped symlink cannot move it out of the
// rootfs (CVE-2021-30465).
std::string mount_target(int fd) {
    if (!unsafe::off("cve-2021-30465")) return fd_path(fd);
    // Unsafe knob only: the resolved path as a string, as runc < 1.0.0-rc95 used it.
    char buf[PATH_MAX];
    ssize_t n = ::readlink(fd_path(fd).c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink " + fd_path(fd));
    return std::string(buf, static_cast<size_t>(n));
}

void do_mount(const char *src, const std::string &dst, const char *type, unsigned long flags, const char *data,
              const std::string &what) {
    if (::mount(src, dst.c_str(), type, flags, data) < 0) throw_errno("mount " + what);
}

// Masks file p with the container's null device, opened without following a
// symlink and checked to be 1:3, and bound from that fd: a /dev/null made a
// symlink (to a procfs file, say) cannot put another file in place of the
// mask (CVE-2025-31133). null caches the device across masked paths.
void mask_file(const std::string &p, UniqueFd &null) {
    if (unsafe::off("cve-2025-31133")) return do_mount("/dev/null", p, nullptr, MS_BIND, nullptr, p);
    if (!null) {
        null.reset(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat st;
        if (!null || ::fstat(null.get(), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
            throw Error("maskedPaths: /dev/null in the container is not the null device (1:3), cannot mask " + p);
    }
    bind_fd(null.get(), -1, p, p);
}

// Per-mount flags of an existing mount, as MS_* for a bind remount.
unsigned long current_flags(const std::string &path) {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) < 0) return 0;
    unsigned long out = 0;
    const std::pair<unsigned long, unsigned long> map[] = {
        {ST_RDONLY, MS_RDONLY}, {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME}};
    for (auto [st_flag, ms_flag] : map)
        if (st.f_flag & st_flag) out |= ms_flag;
    return out;
}

void set_recursive_attrs(const std::string &dst, const MountOptions &o) {
    if (!o.attr_set && !o.attr_clr) return;
    struct mount_attr attr{};
    attr.attr_set = o.attr_set;
    attr.attr_clr = o.attr_clr;
    if (::syscall(SYS_mount_setattr, -1, dst.c_str(), AT_RECURSIVE, &attr, sizeof attr) < 0)
        throw_errno("mount_setattr " + dst);
}

bool is_dir_source(const spec::Mount &m, const std::string &src) {
    struct stat st;
    if (m.type != "bind" && std::find(m.options.begin(), m.options.end(), "bind") == m.options.end() &&
        std::find(m.options.begin(), m.options.end(), "rbind") == m.options.end())
        return true;
    return ::stat(src.c_str(), &st) < 0 || S_ISDIR(st.st_mode);
}

// cgroup v1 (and hybrid) inside the container: a tmpfs with the container's
// cgroup directory of every hierarchy bound under its mount name.
void mount_cgroups_v1(int root_fd, const spec::Mount &m, const MountOptions &o, int dst_fd,
                      const std::vector<std::string> &cgroup_dirs) {
    std::string dst = fd_path(dst_fd);
    do_mount("tmpfs", dst, "tmpfs", (o.flags & ~MS_RDONLY & ~MS_BIND & ~MS_REC) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
             "mode=755", m.destination);
    auto &hs = cgroups::hierarchies();
    for (size_t i = 0; i < hs.size() && i < cgroup_dirs.size(); i++) {
        std::string name = hs[i].mount.substr(hs[i].mount.find_last_of('/') + 1);
        auto sub = open_in_root(root_fd, m.destination + "/" + name, true, false);
        do_mount(cgroup_dirs[i].c_str(), fd_path(sub.get()), nullptr, MS_BIND | MS_REC, nullptr,
                 m.destination + "/" + name);
        sub = open_in_root(root_fd, m.destination + "/" + name, false, false);  // the new mount on top
        do_mount(nullptr, fd_path(sub.get()), nullptr,
                 MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | (o.flags & MS_RDONLY), nullptr,
                 m.destination + "/" + name);
    }
    if (o.flags & MS_RDONLY)
        do_mount(nullptr, fd_path(open_in_root(root_fd, m.destination, false, false).get()), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755",
                 m.destination);
}

void mount_cgroup(int root_fd, const spec::Mount &m, const MountOptions &o, int dst_fd,
                  const std::vector<std::string> &cgroup_dirs) {
    auto &hs = cgroups::hierarchies();
    bool pure_v2 = hs.size() == 1 && hs[0].v2;
    if (!pure_v2) return mount_cgroups_v1(root_fd, m, o, dst_fd, cgroup_dirs);
    std::string dst = fd_path(dst_fd);
    unsigned long flags = (o.flags & ~(MS_BIND | MS_REC)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (::mount("cgroup2", dst.c_str(), "cgroup2", flags, nullptr) == 0) return;
    // Without a cgroup namespace the kernel refuses; show our own cgroup instead.
    do_mount(cgroup_dirs.empty() ? "/sys/fs/cgroup" : cgroup_dirs[0].c_str(), dst, nullptr, MS_BIND | MS_REC,
             nullptr, m.destination);
    auto top = open_in_root(root_fd, m.destination, false, false);
    do_mount(nullptr, fd_path(top.get()), nullptr, MS_BIND | MS_REMOUNT | flags, nullptr, m.destination);
}

// CVE-2019-19921: procfs and sysfs go on a real directory of the rootfs, not
// through a symlink, which could put them where the masked and read-only
// paths (resolved later, by name) do not look.
void check_proc_sys_destination(int root_fd, const spec::Mount &m) {
    if ((m.type != "proc" && m.type != "sysfs") || unsafe::off("cve-2019-19921")) return;
    struct open_how how{};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
    const char *rel = m.destination.c_str();
    while (*rel == '/') rel++;
    UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root_fd, *rel ? rel : ".", &how, sizeof how)));
    struct stat st;
    if (!fd && errno == ENOENT) return;  // made as a plain directory
    if ((!fd && errno == ELOOP) || (fd && ::fstat(fd.get(), &st) == 0 && !S_ISDIR(st.st_mode)))
        throw Error("mount " + m.destination + ": filesystem \"" + m.type +
                    "\" must be mounted on ordinary directory (the rootfs has a symlink or a non-directory there)");
    if (!fd) throw_errno("open " + m.destination + " in container root");
}

// Where fd lies below the root, as an absolute path in the container.
std::string path_in_root(int root_fd, int fd) {
    char root[PATH_MAX], path[PATH_MAX];
    ssize_t rn = ::readlink(fd_path(root_fd).c_str(), root, sizeof root - 1);
    ssize_t pn = ::readlink(fd_path(fd).c_str(), path, sizeof path - 1);
    if (rn < 0 || pn < 0) throw_errno("readlink mount destination");
    std::string_view r(root, static_cast<size_t>(rn)), p(path, static_cast<size_t>(pn));
    if (r == "/") return std::string(p);
    if (p == r) return "/";
    if (p.substr(0, r.size()) == r && p.size() > r.size() && p[r.size()] == '/') return std::string(p.substr(r.size()));
    return std::string(p);
}

// CVE-2019-19921 (runc's checkProcMount): nothing is mounted over /proc but
// procfs, nor inside it but the files lxcfs emulates (tmpfs, which masks, and
// mqueue excepted, as in runc); judged on the resolved
// destination, so a symlink in the rootfs does not get round it.
void check_proc_mount(int root_fd, const spec::Mount &m, int dst_fd) {
    // runc checks bind mounts and the types without a case of their own.
    if (m.type == "proc" || m.type == "sysfs" || m.type == "cgroup" || m.type == "cgroup2" || m.type == "tmpfs" ||
        m.type == "mqueue" || unsafe::off("cve-2019-19921"))
        return;
    std::string where = path_in_root(root_fd, dst_fd);
    if (where == "/proc") {
        struct statfs sf;
        if (::statfs(m.source.c_str(), &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) return;
        throw Error("mount " + m.destination + ": \"" + where + "\" cannot be mounted because it is not of type proc");
    }
    if (where.rfind("/proc/", 0) != 0) return;
    static const char *const kAllowed[] = {"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
                                           "/proc/swaps",   "/proc/uptime",    "/proc/loadavg", "/proc/slabinfo",
                                           "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};
    for (const char *ok : kAllowed)
        if (where == ok) return;
    throw Error("mount " + m.destination + ": \"" + where + "\" cannot be mounted because it is inside /proc");
}

void mount_one(int root_fd, const spec::Mount &m, const std::vector<std::string> &cgroup_dirs) {
    MountOptions o = parse_options(m.options);
    bool bind = (o.flags & MS_BIND) || m.type == "bind";
    // Relative sources are relative to the bundle, the parent's cwd.
    const std::string &src = m.source;
    check_proc_sys_destination(root_fd, m);
    auto dst_fd = open_in_root(root_fd, m.destination, true, bind && !is_dir_source(m, src));
    check_proc_mount(root_fd, m, dst_fd.get());
    std::string dst = mount_target(dst_fd.get());

    if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroup(root_fd, m, o, dst_fd.get(), cgroup_dirs);

    if (bind) {
        do_mount(src.c_str(), dst, nullptr, MS_BIND | (o.flags & MS_REC), nullptr, m.destination);
        // Flags beyond bind need a remount of the new bind mount.
        unsigned long extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        if (extra || o.clear) {
            auto again = open_in_root(root_fd, m.destination, false, false);
            std::string p = fd_path(again.get());
            unsigned long keep = current_flags(p) & ~o.clear;
            do_mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | keep | extra, nullptr, m.destination);
        }
    } else {
        unsigned long flags = o.flags & ~MS_REMOUNT;
        const char *data = o.data.empty() ? nullptr : o.data.c_str();
        if (::mount(src.empty() ? m.type.c_str() : src.c_str(), dst.c_str(), m.type.c_str(), flags, data) < 0) {
            int err = errno;
            // sysfs needs a network namespace of our own; runc binds the host's instead.
            if (m.type != "sysfs" || (err != EPERM && err != EBUSY)) throw_errno("mount " + m.destination, err);
            do_mount("/sys", dst, nullptr, MS_BIND | MS_REC, nullptr, m.destination);
            do_mount(nullptr, dst, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     nullptr, m.destination);
        }
    }
    if (o.propagation) {
        auto again = open_in_root(root_fd, m.destination, false, false);
        do_mount(nullptr, fd_path(again.get()), nullptr, o.propagation, nullptr, m.destination);
    }
    if (o.attr_set || o.attr_clr) {
        auto again = open_in_root(root_fd, m.destination, false, false);
        set_recursive_attrs(fd_path(again.get()), o);
    }
}

struct DefaultDevice {
    const char *name;
    unsigned major, minor;
};
const DefaultDevice kDefaultDevices[] = {{"null", 1, 3},    {"zero", 1, 5},    {"full", 1, 7},
                                         {"random", 1, 8},  {"urandom", 1, 9}, {"tty", 5, 0}};

void make_device(int root_fd, const std::string &path, mode_t type, unsigned major, unsigned minor, mode_t perm,
                 uid_t uid, gid_t gid, bool in_user_ns) {
    auto slash = path.find_last_of('/');
    std::string dir = path.substr(0, slash), base = path.substr(slash + 1);
    auto dir_fd = open_in_root(root_fd, dir.empty() ? "/" : dir, true, false);
    UniqueFd real_dir(::openat(dir_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real_dir) throw_errno("open " + dir);
    ::unlinkat(real_dir.get(), base.c_str(), 0);
    if (!in_user_ns) {
        if (::mknodat(real_dir.get(), base.c_str(), type | perm, makedev(major, minor)) < 0)
            throw_errno("mknod " + path);
        if (::fchownat(real_dir.get(), base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            throw_errno("chown " + path);
        return;
    }
    // mknod is not allowed in a user namespace: bind the host's node.
    UniqueFd f(::openat(real_dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f) throw_errno("create " + path);
    do_mount(path.c_str(), fd_path(f.get()), nullptr, MS_BIND, nullptr, path);
}

void symlink_in(int root_fd, const char *target, const std::string &path) {
    auto slash = path.find_last_of('/');
    auto dir_fd = open_in_root(root_fd, path.substr(0, slash), true, false);
    UniqueFd real_dir(::openat(dir_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real_dir) throw_errno("open " + path.substr(0, slash));
    if (::symlinkat(target, real_dir.get(), path.c_str() + slash + 1) < 0 && errno != EEXIST)
        throw_errno("symlink " + path);
}

bool dev_is_host_bind(const spec::Spec &spec) {
    for (auto &m : spec.mounts)
        if (m.destination == "/dev" && (m.type == "bind" || parse_options(m.options).flags & MS_BIND)) return true;
    return false;
}

void create_devices(int root_fd, const spec::Spec &spec, bool in_user_ns) {
    const auto *lx = spec.linux ? &*spec.linux : nullptr;
    if (!dev_is_host_bind(spec)) {
        for (auto &d : kDefaultDevices)
            make_device(root_fd, std::string("/dev/") + d.name, S_IFCHR, d.major, d.minor, 0666, 0, 0, in_user_ns);
        symlink_in(root_fd, "/proc/self/fd", "/dev/fd");
        symlink_in(root_fd, "/proc/self/fd/0", "/dev/stdin");
        symlink_in(root_fd, "/proc/self/fd/1", "/dev/stdout");
        symlink_in(root_fd, "/proc/self/fd/2", "/dev/stderr");
        symlink_in(root_fd, "pts/ptmx", "/dev/ptmx");
        if (::access("/proc/kcore", F_OK) == 0) symlink_in(root_fd, "/proc/kcore", "/dev/core");
    }
    if (!lx) return;
    for (auto &d : lx->devices) {
        mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
        make_device(root_fd, d.path, type, static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor),
                    d.fileMode ? (*d.fileMode & 07777) : 0666, d.uid.value_or(0), d.gid.value_or(0), in_user_ns);
    }
}

unsigned long root_propagation(const spec::Spec &spec) {
    if (!spec.linux || spec.linux->rootfsPropagation.empty()) return 0;
    for (auto &p : kPropagation)
        if (spec.linux->rootfsPropagation == p.name) return p.flag;
    throw Error("config.json: linux.rootfsPropagation: unknown propagation \"" + spec.linux->rootfsPropagation +
                "\"");
}

}  // namespace

MountOptions parse_options(const std::vector<std::string> &options) {
    MountOptions o;
    for (auto &opt : options) {
        bool known = false;
        for (auto &f : kFlagOptions)
            if (opt == f.name) {
                if (f.clear) {
                    o.flags &= ~f.flag;
                    o.clear |= f.flag;
                } else {
                    o.flags |= f.flag;
                    o.clear &= ~f.flag;
                }
                known = true;
            }
        for (auto &p : kPropagation)
            if (opt == p.name) o.propagation = p.flag, known = true;
        for (auto &a : kRecursiveAttrs)
            if (opt == a.name) {
                add_attr(o, a);
                known = true;
            }
        if (known || opt == "tmpcopyup" || opt == "idmap" || opt == "ridmap") continue;
        if (!o.data.empty()) o.data += ',';
        o.data += opt;
    }
    return o;
}

void bind_fd(int src_fd, int dst_fd, const std::string &dst, const std::string &what) {
    UniqueFd tree(static_cast<int>(
        ::syscall(SYS_open_tree, src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
    if (!tree) throw_errno("bind mount " + what + " (open_tree)");
    unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (dst.empty() ? MOVE_MOUNT_T_EMPTY_PATH : MOVE_MOUNT_T_SYMLINKS);
    if (::syscall(SYS_move_mount, tree.get(), "", dst.empty() ? dst_fd : AT_FDCWD, dst.c_str(), flags) < 0)
        throw_errno("bind mount " + what);
}

UniqueFd open_in_root(int root_fd, const std::string &path, bool create, bool make_file) {
    struct open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const char *rel = path.c_str();
    while (*rel == '/') rel++;
    if (!*rel) rel = ".";
    int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, rel, &how, sizeof how));
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT || !create) throw_errno("open " + path + " in container root");
    std::string p(rel);
    auto slash = p.find_last_of('/');
    std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
    auto parent = open_in_root(root_fd, slash == std::string::npos ? "/" : p.substr(0, slash), true, false);
    UniqueFd dir(::openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open " + path + " in container root");
    if (make_file) {
        UniqueFd f(::openat(dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!f && errno != EEXIST) throw_errno("create " + path);
    } else if (::mkdirat(dir.get(), base.c_str(), 0755) < 0 && errno != EEXIST) {
        throw_errno("mkdir " + path);
    }
    return open_in_root(root_fd, path, false, false);
}

void prepare(const spec::Spec &spec, const std::string &rootfs, const std::vector<std::string> &cgroup_dirs,
             bool in_user_ns, const std::vector<int> &idmapped) {
    unsigned long prop = root_propagation(spec);
    // Host mounts may propagate in, ours never out.
    unsigned long first = (prop & (MS_PRIVATE)) ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
    do_mount(nullptr, "/", nullptr, first, nullptr, "/ (propagation)");
    // pivot_root needs the new root to be a mount point.
    do_mount(rootfs.c_str(), rootfs, nullptr, MS_BIND | MS_REC, nullptr, "rootfs " + rootfs);

    UniqueFd root_fd(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) throw_errno("open " + rootfs);
    for (size_t i = 0; i < spec.mounts.size(); i++) {
        if (i < idmapped.size() && idmapped[i] >= 0)
            attach_idmapped(root_fd.get(), spec.mounts[i], idmapped[i]);
        else
            mount_one(root_fd.get(), spec.mounts[i], cgroup_dirs);
    }
    create_devices(root_fd.get(), spec, in_user_ns);
}

void pivot(const std::string &rootfs, bool no_pivot) {
    if (::chdir(rootfs.c_str()) < 0) throw_errno("chdir " + rootfs);
    if (no_pivot) {
        do_mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr, "rootfs (move)");
        if (::chroot(".") < 0) throw_errno("chroot");
        if (::chdir("/") < 0) throw_errno("chdir /");
        return;
    }
    UniqueFd old_root(::open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (!old_root) throw_errno("open /");
    if (::syscall(SYS_pivot_root, ".", ".") < 0) throw_errno("pivot_root");
    // The old root is now stacked under ".": detach it without letting the
    // unmount propagate back to the host.
    if (::fchdir(old_root.get()) < 0) throw_errno("fchdir old root");
    do_mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr, "old root (propagation)");
    if (::umount2(".", MNT_DETACH) < 0) throw_errno("unmount old root");
    if (::chdir("/") < 0) throw_errno("chdir /");
}

void finish(const spec::Spec &spec) {
    if (spec.linux) {
        for (auto &p : spec.linux->readonlyPaths) {
            if (::access(p.c_str(), F_OK) < 0) continue;
            do_mount(p.c_str(), p, nullptr, MS_BIND | MS_REC, nullptr, p);
            do_mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | current_flags(p), nullptr, p);
        }
        UniqueFd null;
        for (auto &p : spec.linux->maskedPaths) {
            struct stat st;
            if (::stat(p.c_str(), &st) < 0) continue;
            if (S_ISDIR(st.st_mode))
                do_mount("tmpfs", p, "tmpfs", MS_RDONLY, nullptr, p);
            else
                mask_file(p, null);
        }
    }
    if (spec.root && spec.root->readonly)
        do_mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | current_flags("/"), nullptr, "/ (readonly)");
    if (unsigned long prop = root_propagation(spec)) do_mount(nullptr, "/", nullptr, prop, nullptr, "/ (propagation)");
}

}  // namespace kiln::rootfs
