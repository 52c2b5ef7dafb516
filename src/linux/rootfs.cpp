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
#include <filesystem>
#include <string_view>

#include "cgroups/cgroup.hpp"
#include "kiln/error.hpp"
#include "linux/inroot.hpp"
#include "linux/kernel.hpp"
#include "linux/procfs.hpp"
#include "spec/tables.hpp"
#include "util/unsafe.hpp"

namespace kiln::rootfs {
namespace {

kernel::Kernel &K() { return kernel::get(); }

// The option tables are spec/tables.hpp's (validation and features read them too).
constexpr auto &kFlagOptions = spec::tables::kMountFlags;
constexpr auto &kPropagation = spec::tables::kPropagations;
constexpr auto &kRecursiveAttrs = spec::tables::kRecursiveMountAttrs;
using AttrOption = spec::tables::MountAttr;

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
    if (K().mount(src, dst.c_str(), type, flags, data) < 0) throw_errno("mount " + what);
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

// ---- Mounts made detached and moved onto the destination fd --------------
// Every flag, propagation and attribute goes on the new mount itself (its
// fd), never on a path looked up again: a racing volume could move that
// path to another mount between the steps and leave an `ro` bind writable.

constexpr unsigned long kPerMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                         MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW;

// A bind mount's source tree, cloned and detached (open_tree).
UniqueFd clone_tree(int dirfd, const char *path, bool recursive, const std::string &what) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
    UniqueFd tree(static_cast<int>(K().open_tree(dirfd, path, flags)));
    if (!tree) throw_errno("mount " + what);
    return tree;
}

// Moves the detached tree onto the destination fd.
void attach(int tree, int dst_fd, const std::string &what) {
    int rc;
    if (unsafe::off("cve-2021-30465"))  // the resolved path as a string (runc < 1.0.0-rc95)
        rc = static_cast<int>(K().move_mount(tree, "", AT_FDCWD, mount_target(dst_fd).c_str(),
                                        MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS));
    else
        rc = static_cast<int>(K().move_mount(tree, "", dst_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    if (rc < 0) throw_errno("mount " + what);
}

// mount_setattr on the mount fd refers to; false when the kernel has none (< 5.12).
bool setattr(int fd, const struct mount_attr &a, bool recursive, const std::string &what) {
    if (!a.attr_set && !a.attr_clr && !a.propagation) return true;
    unsigned at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (K().mount_setattr(fd, "", at, &a, sizeof a) == 0) return true;
    if (errno == ENOSYS) return false;
    throw_errno("mount_setattr " + what);
}

// Attaches the tree with per-mount flags set (MS_* set and cleared, as a
// bind remount takes them): on the detached tree, or, on kernels without
// mount_setattr, by a bind remount of the attached mount through its own fd
// (its /proc/self/fd path: before pivot_root only, when /proc is the
// host's; after it, by_path names the mount, as kiln did before).
void attach_with_flags(int tree, int dst_fd, unsigned long set, unsigned long clear, const std::string &what,
                       const char *by_path = nullptr) {
    bool done = setattr(tree, mount_attrs(set & kPerMountFlags, clear & kPerMountFlags), false, what);
    attach(tree, dst_fd, what);
    if (done) return;
    std::string p = by_path ? by_path : fd_path(tree);
    do_mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | ((current_flags(p) & ~clear) | (set & kPerMountFlags)), nullptr,
             what);
}

// Propagation of the attached mount fd refers to (the fd, not its path).
void set_propagation(int mnt, unsigned long propagation, const std::string &what) {
    if (propagation) do_mount(nullptr, fd_path(mnt), nullptr, propagation, nullptr, what);
}

void set_recursive_attrs(int tree, const MountOptions &o, const std::string &what) {
    struct mount_attr attr{};
    attr.attr_set = o.attr_set;
    attr.attr_clr = o.attr_clr;
    if (!setattr(tree, attr, true, what)) throw Error("mount_setattr " + what + ": not supported by this kernel");
}

// A new filesystem, detached: fsopen, one fsconfig per option (as mount(2)
// splits its data), fsmount with the per-mount flags from the start.
UniqueFd new_fs(const std::string &type, const std::string &source, const std::vector<std::string> &data,
                unsigned long flags, const std::string &what) {
    UniqueFd fs(static_cast<int>(K().fsopen(type.c_str(), FSOPEN_CLOEXEC)));
    if (!fs) throw_errno("mount " + what);
    auto config = [&](unsigned cmd, const std::string &key, const char *value) {
        if (K().fsconfig(fs.get(), cmd, key.empty() ? nullptr : key.c_str(), value, 0) < 0)
            throw_errno("mount " + what);
    };
    config(FSCONFIG_SET_STRING, "source", source.c_str());
    const std::pair<unsigned long, const char *> sb_flags[] = {
        {MS_RDONLY, "ro"}, {MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"}, {MS_MANDLOCK, "mand"}, {MS_LAZYTIME, "lazytime"}};
    for (auto [ms, key] : sb_flags)
        if (flags & ms) config(FSCONFIG_SET_FLAG, key, nullptr);
    for (auto &opt : data) {
        auto eq = opt.find('=');
        if (eq == std::string::npos) config(FSCONFIG_SET_FLAG, opt, nullptr);
        else config(FSCONFIG_SET_STRING, opt.substr(0, eq), opt.c_str() + eq + 1);
    }
    config(FSCONFIG_CMD_CREATE, "", nullptr);
    UniqueFd mnt(static_cast<int>(K().fsmount(fs.get(), FSMOUNT_CLOEXEC, mount_attrs(flags, 0).attr_set)));
    if (!mnt) throw_errno("mount " + what);
    return mnt;
}

// Masks file p with the container's null device, opened without following a
// symlink and checked to be 1:3, and bound from that fd: a /dev/null made a
// symlink (to a procfs file, say) cannot put another file in place of the
// mask (CVE-2025-31133). null caches the device across masked paths.
void mask_file(const std::string &p, int fd, UniqueFd &null) {
    if (unsafe::off("cve-2025-31133")) return do_mount("/dev/null", p, nullptr, MS_BIND, nullptr, p);
    if (!null) {
        null.reset(K().open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
        struct stat st;
        if (!null || ::fstat(null.get(), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
            throw Error("maskedPaths: /dev/null in the container is not the null device (1:3), cannot mask " + p);
    }
    bind_fd(null.get(), fd, "", p);
}

bool is_dir_source(const spec::Mount &m, const std::string &src) {
    struct stat st;
    if (m.type != "bind" && std::find(m.options.begin(), m.options.end(), "bind") == m.options.end() &&
        std::find(m.options.begin(), m.options.end(), "rbind") == m.options.end())
        return true;
    return ::stat(src.c_str(), &st) < 0 || S_ISDIR(st.st_mode);
}

// cgroup v1 (and hybrid) inside the container: a tmpfs with the container's
// cgroup directory of every hierarchy bound under its mount name, each
// step on the fd of the mount made before it.
void mount_cgroups_v1(const spec::Mount &m, const MountOptions &o, int dst_fd,
                      const std::vector<std::string> &cgroup_dirs) {
    const unsigned long hard = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    UniqueFd tmpfs = new_fs("tmpfs", "tmpfs", {"mode=755"}, (o.flags & ~(MS_RDONLY | MS_BIND | MS_REC)) | hard, m.destination);
    attach(tmpfs.get(), dst_fd, m.destination);
    auto &hs = cgroups::hierarchies();
    for (size_t i = 0; i < hs.size() && i < cgroup_dirs.size(); i++) {
        std::string name = hs[i].mount.substr(hs[i].mount.find_last_of('/') + 1), what = m.destination + "/" + name;
        if (K().mkdirat(tmpfs.get(), name.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir " + what);
        UniqueFd sub(K().openat(tmpfs.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) throw_errno("open " + what);
        UniqueFd tree = clone_tree(AT_FDCWD, cgroup_dirs[i].c_str(), true, what);
        attach_with_flags(tree.get(), sub.get(), hard | (o.flags & MS_RDONLY), 0, what);
    }
    if (!(o.flags & MS_RDONLY)) return;
    struct mount_attr ro{};
    ro.attr_set = MOUNT_ATTR_RDONLY;
    if (!setattr(tmpfs.get(), ro, false, m.destination))
        do_mount(nullptr, fd_path(tmpfs.get()), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | hard, nullptr, m.destination);
}

void mount_cgroup(const spec::Mount &m, const MountOptions &o, int dst_fd, const std::vector<std::string> &cgroup_dirs) {
    auto &hs = cgroups::hierarchies();
    bool pure_v2 = hs.size() == 1 && hs[0].v2;
    if (!pure_v2) return mount_cgroups_v1(m, o, dst_fd, cgroup_dirs);
    unsigned long flags = (o.flags & ~(MS_BIND | MS_REC)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (K().mount("cgroup2", mount_target(dst_fd).c_str(), "cgroup2", flags, nullptr) == 0) return;
    // Without a cgroup namespace the kernel refuses; show our own cgroup instead.
    UniqueFd tree = clone_tree(AT_FDCWD, cgroup_dirs.empty() ? "/sys/fs/cgroup" : cgroup_dirs[0].c_str(), true, m.destination);
    attach_with_flags(tree.get(), dst_fd, flags, 0, m.destination);
}

// The destination of a config mount, opened once: the mount goes onto this
// fd. procfs and sysfs (CVE-2019-19921) go on a real directory, reached
// without a symlink (which could put them where the masked and read-only
// paths, resolved later by name, do not look), checked on that same fd.
UniqueFd open_destination(int root_fd, const spec::Mount &m, bool make_file) {
    if ((m.type != "proc" && m.type != "sysfs") || unsafe::off("cve-2019-19921"))
        return open_in_root(root_fd, m.destination, true, make_file);
    UniqueFd fd;
    struct stat st;
    try {
        fd = open_in_root(root_fd, m.destination, true, false, RESOLVE_NO_SYMLINKS);
    } catch (const Error &e) {
        if (e.code() != ELOOP) throw;
    }
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISDIR(st.st_mode))
        throw Error("mount " + m.destination + ": filesystem \"" + m.type +
                    "\" must be mounted on ordinary directory (the rootfs has a symlink or a non-directory there)");
    // Unsafe knob only: checked above, then looked up again following symlinks.
    if (unsafe::off("mount-race")) return open_in_root(root_fd, m.destination, false, false);
    return fd;
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

// A new filesystem. With nothing to do to it afterwards, mount(2) straight
// onto the destination fd (its /proc/self/fd path: exactly that fd, flags
// included, one call); else made detached (propagation or recursive
// attributes go on it, not on its path). Empty fd: mounted already.
// sysfs needs a network namespace of our own; runc binds the host's instead.
UniqueFd new_fs_or_host_sys(const spec::Mount &m, const MountOptions &o, int dst_fd) {
    const std::string &src = m.source.empty() ? m.type : m.source;
    unsigned long flags = o.flags & ~MS_REMOUNT;
    try {
        if (o.propagation || o.attr_set || o.attr_clr) return new_fs(m.type, src, o.data_list, flags, m.destination);
        do_mount(src.c_str(), mount_target(dst_fd), m.type.c_str(), flags, o.data.empty() ? nullptr : o.data.c_str(),
                 m.destination);
        return UniqueFd();
    } catch (const Error &e) {
        if (m.type != "sysfs" || (e.code() != EPERM && e.code() != EBUSY)) throw;
    }
    UniqueFd tree = clone_tree(AT_FDCWD, "/sys", true, m.destination);
    attach_with_flags(tree.get(), dst_fd, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, m.destination);
    return UniqueFd();  // propagation and attributes are not applied to the host's /sys
}

// src_tree >= 0: a bind's source cloned by the runtime (mount_sources), attached instead.
void mount_one(int root_fd, const spec::Mount &m, const std::vector<std::string> &cgroup_dirs, int proc_pidns,
               int src_tree = -1) {
    MountOptions o = parse_options(m.options);
    bool bind = (o.flags & MS_BIND) || m.type == "bind";
    // Relative sources are relative to the bundle, the parent's cwd.
    struct stat tree_st;
    bool file = src_tree >= 0 ? ::fstat(src_tree, &tree_st) == 0 && !S_ISDIR(tree_st.st_mode) : !is_dir_source(m, m.source);
    auto dst_fd = open_destination(root_fd, m, bind && file);
    check_proc_mount(root_fd, m, dst_fd.get());
    if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroup(m, o, dst_fd.get(), cgroup_dirs);

    UniqueFd mnt;
    if (bind) {
        if (src_tree < 0) {
            mnt = clone_tree(AT_FDCWD, m.source.c_str(), o.flags & MS_REC, m.destination);
        } else {
            mnt.reset(::fcntl(src_tree, F_DUPFD_CLOEXEC, 0));
            if (!mnt) throw_errno("mount " + m.destination);
        }
        set_recursive_attrs(mnt.get(), o, m.destination);
        unsigned long set = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        if (!unsafe::off("mount-race")) {
            attach_with_flags(mnt.get(), dst_fd.get(), set, o.clear, m.destination);
        } else {
            // Unsafe knob only: the flags go on whatever the path leads to now.
            attach(mnt.get(), dst_fd.get(), m.destination);
            auto again = open_in_root(root_fd, m.destination, false, false);
            setattr(again.get(), mount_attrs(set & kPerMountFlags, o.clear & kPerMountFlags), false, m.destination);
        }
    } else {
        // procfs for a shared pid namespace the init is not in: made detached.
        mnt = m.type == "proc" && proc_pidns >= 0
                  ? procfs::new_for_pidns(proc_pidns, o.flags & ~MS_REMOUNT, o.data, m.destination)
                  : new_fs_or_host_sys(m, o, dst_fd.get());
        if (!mnt) return;
        set_recursive_attrs(mnt.get(), o, m.destination);
        attach(mnt.get(), dst_fd.get(), m.destination);
    }
    set_propagation(mnt.get(), o.propagation, m.destination);
}

struct DefaultDevice {
    const char *name;
    unsigned major, minor;
};
const DefaultDevice kDefaultDevices[] = {{"null", 1, 3},    {"zero", 1, 5},    {"full", 1, 7},
                                         {"random", 1, 8},  {"urandom", 1, 9}, {"tty", 5, 0}};

// The directory dir of the container (made where missing), resolved in the
// root once, as a real directory fd the nodes and links are made in.
UniqueFd open_dir_in_root(int root_fd, const std::string &dir) {
    auto dir_fd = open_in_root(root_fd, dir.empty() ? "/" : dir, true, false);
    UniqueFd real_dir(K().openat(dir_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!real_dir) throw_errno("open " + dir);
    return real_dir;
}

// The node base in dir_fd (path: the same in the container, for messages).
// What is there already is replaced; a fresh /dev tmpfs has nothing, so the
// unlink is only tried when mknod finds something.
void make_device_at(int dir_fd, const std::string &path, mode_t type, unsigned major, unsigned minor, mode_t perm,
                    uid_t uid, gid_t gid, bool in_user_ns) {
    const char *base = path.c_str() + path.find_last_of('/') + 1;
    if (!in_user_ns) {
        int rc = K().mknodat(dir_fd, base, type | perm, makedev(major, minor));
        if (rc < 0 && errno == EEXIST) {
            K().unlinkat(dir_fd, base, 0);
            rc = K().mknodat(dir_fd, base, type | perm, makedev(major, minor));
        }
        if (rc < 0) throw_errno("mknod " + path);
        if (K().fchownat(dir_fd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("chown " + path);
        return;
    }
    // mknod is not allowed in a user namespace: bind the host's node. An
    // existing node is removed first: opening it O_WRONLY would open the device.
    K().unlinkat(dir_fd, base, 0);
    UniqueFd f(K().openat(dir_fd, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f) throw_errno("create " + path);
    do_mount(path.c_str(), fd_path(f.get()), nullptr, MS_BIND, nullptr, path);
}

void make_device(int root_fd, const std::string &path, mode_t type, unsigned major, unsigned minor, mode_t perm,
                 uid_t uid, gid_t gid, bool in_user_ns) {
    auto dir = open_dir_in_root(root_fd, path.substr(0, path.find_last_of('/')));
    make_device_at(dir.get(), path, type, major, minor, perm, uid, gid, in_user_ns);
}

void symlink_at(int dir_fd, const char *target, const std::string &path) {
    if (K().symlinkat(target, dir_fd, path.c_str() + path.find_last_of('/') + 1) < 0 && errno != EEXIST)
        throw_errno("symlink " + path);
}

// A read-only /dev of its own (not a bind): mounted rw so that /dev/pts,
// /dev/shm and the device nodes can be made in it, remounted read-only by
// finish(), as runc does (runc#3248).
bool readonly_dev(const spec::Mount &m) {
    if (m.destination != "/dev" || m.type == "bind") return false;
    unsigned long flags = parse_options(m.options).flags;
    return (flags & MS_RDONLY) && !(flags & MS_BIND);
}

// A mountinfo path with its octal escapes ("\\040" for a space) undone.
std::string unescape_mountinfo(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 3 < s.size() && s.substr(i + 1, 3).find_first_not_of("01234567") == std::string_view::npos) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

// --no-pivot: the host's full proc and sysfs mounts stay reachable beside
// the chroot, and the kernel lets a new bare proc be mounted where a full
// one is visible. Detach them, or cover them with a tmpfs where that is
// not allowed, as runc's msMoveRoot does.
void hide_host_proc_sys(const std::string &rootfs_path) {
    char real[PATH_MAX];
    std::string rootfs = ::realpath(rootfs_path.c_str(), real) ? real : rootfs_path;  // mountinfo has real paths
    std::vector<std::string> targets;
    std::string text = read_file("/proc/self/mountinfo");
    std::string_view info = text;
    while (!info.empty()) {
        std::string_view line = info.substr(0, info.find('\n'));
        info.remove_prefix(std::min(info.size(), line.size() + 1));
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        std::string_view fstype = line.substr(dash + 3, line.find(' ', dash + 3) - dash - 3);
        if (fstype != "proc" && fstype != "sysfs") continue;
        std::vector<std::string_view> head;
        for (size_t start = 0; start < dash && head.size() < 5;) {
            size_t sp = line.find(' ', start);
            head.push_back(line.substr(start, sp - start));
            start = sp + 1;
        }
        if (head.size() < 5 || head[3] != "/") continue;
        std::string p = unescape_mountinfo(head[4]);
        if (p == rootfs || p.rfind(rootfs + "/", 0) == 0) continue;
        targets.push_back(p);
    }
    for (auto &p : targets) {
        // The unmount must not propagate to the host.
        if (K().mount(nullptr, p.c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
            if (errno == ENOENT) continue;  // under one already detached
            throw_errno("make " + p + " a slave mount");
        }
        if (K().umount2(p.c_str(), MNT_DETACH) == 0) continue;
        if (errno != EINVAL && errno != EPERM) throw_errno("unmount " + p);
        do_mount("tmpfs", p, "tmpfs", 0, nullptr, p + " (cover)");
    }
}

bool dev_is_host_bind(const spec::Spec &spec) {
    for (auto &m : spec.mounts)
        if (m.destination == "/dev" && (m.type == "bind" || parse_options(m.options).flags & MS_BIND)) return true;
    return false;
}

void create_devices(int root_fd, const spec::Spec &spec, bool in_user_ns) {
    const auto *lx = spec.linux ? &*spec.linux : nullptr;
    // /dev resolved once for the default nodes and links (and spec devices
    // directly in it), not once per node.
    UniqueFd dev;
    if (!dev_is_host_bind(spec)) {
        dev = open_dir_in_root(root_fd, "/dev");
        for (auto &d : kDefaultDevices)
            make_device_at(dev.get(), std::string("/dev/") + d.name, S_IFCHR, d.major, d.minor, 0666, 0, 0, in_user_ns);
        symlink_at(dev.get(), "/proc/self/fd", "/dev/fd");
        symlink_at(dev.get(), "/proc/self/fd/0", "/dev/stdin");
        symlink_at(dev.get(), "/proc/self/fd/1", "/dev/stdout");
        symlink_at(dev.get(), "/proc/self/fd/2", "/dev/stderr");
        symlink_at(dev.get(), "pts/ptmx", "/dev/ptmx");
        if (::access("/proc/kcore", F_OK) == 0) symlink_at(dev.get(), "/proc/kcore", "/dev/core");
    }
    if (!lx) return;
    for (auto &d : lx->devices) {
        // /dev/ptmx is always the pts/ptmx symlink (runc skips it too): a
        // node, or the host's bound in a user namespace, opens no pty of
        // the container's devpts.
        if (std::filesystem::path(d.path).lexically_normal() == "/dev/ptmx") continue;
        mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
        unsigned major = static_cast<unsigned>(d.major), minor = static_cast<unsigned>(d.minor);
        mode_t perm = d.fileMode ? (*d.fileMode & 07777) : 0666;
        bool in_dev = dev && d.path.rfind("/dev/", 0) == 0 && d.path.find('/', 5) == std::string::npos;
        if (in_dev)
            make_device_at(dev.get(), d.path, type, major, minor, perm, d.uid.value_or(0), d.gid.value_or(0), in_user_ns);
        else
            make_device(root_fd, d.path, type, major, minor, perm, d.uid.value_or(0), d.gid.value_or(0), in_user_ns);
    }
}

constexpr auto &kExtensions = spec::tables::kMountExtensions;
bool is_extension(std::string_view opt) { return std::find(std::begin(kExtensions), std::end(kExtensions), opt) != std::end(kExtensions); }

unsigned long root_propagation(const spec::Spec &spec) {
    if (!spec.linux || spec.linux->rootfsPropagation.empty()) return 0;
    for (auto &p : kPropagation)
        if (spec.linux->rootfsPropagation == p.name) return p.flag;
    throw Error("config.json: linux.rootfsPropagation: unknown propagation \"" + spec.linux->rootfsPropagation +
                "\"");
}

}  // namespace

std::vector<std::string_view> option_names() {
    std::vector<std::string_view> out(std::begin(kExtensions), std::end(kExtensions));
    for (auto &f : kFlagOptions) out.push_back(f.name);
    for (auto &p : kPropagation) out.push_back(p.name);
    for (auto &a : kRecursiveAttrs) out.push_back(a.name);
    std::sort(out.begin(), out.end());
    return out;
}

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
        if (known || is_extension(opt)) continue;
        if (!o.data.empty()) o.data += ',';
        o.data += opt;
        // One option per fsconfig call, as mount(2) splits its data.
        for (size_t start = 0, comma; start <= opt.size(); start = comma + 1) {
            comma = std::min(opt.find(',', start), opt.size());
            if (comma > start) o.data_list.push_back(opt.substr(start, comma - start));
        }
    }
    return o;
}

struct mount_attr mount_attrs(unsigned long set, unsigned long clear) {
    const std::pair<unsigned long, unsigned long long> map[] = {
        {MS_RDONLY, MOUNT_ATTR_RDONLY},   {MS_NOSUID, MOUNT_ATTR_NOSUID},         {MS_NODEV, MOUNT_ATTR_NODEV},
        {MS_NOEXEC, MOUNT_ATTR_NOEXEC},   {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}};
    struct mount_attr a{};
    for (auto [ms, ma] : map) {
        if (set & ms) a.attr_set |= ma;
        else if (clear & ms) a.attr_clr |= ma;
    }
    // The atime modes are one field: clear it and name the new mode (mount_setattr(2)).
    if ((set | clear) & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
        a.attr_clr |= MOUNT_ATTR__ATIME;
        a.attr_set |= (set & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : (set & MS_NOATIME) ? MOUNT_ATTR_NOATIME : MOUNT_ATTR_RELATIME;
    }
    return a;
}

void bind_fd(int src_fd, int dst_fd, const std::string &dst, const std::string &what) {
    UniqueFd tree(static_cast<int>(
        K().open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
    if (!tree) throw_errno("bind mount " + what + " (open_tree)");
    unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (dst.empty() ? MOVE_MOUNT_T_EMPTY_PATH : MOVE_MOUNT_T_SYMLINKS);
    if (K().move_mount(tree.get(), "", dst.empty() ? dst_fd : AT_FDCWD, dst.c_str(), flags) < 0)
        throw_errno("bind mount " + what);
}

namespace {

// links: how many more dangling symlinks may be followed (the kernel's 40).
UniqueFd open_in_root_at(int root_fd, const std::string &path, bool create, bool make_file, unsigned long long resolve,
                         int links) {
    struct open_how how{};
    how.flags = O_PATH | O_CLOEXEC | (resolve & RESOLVE_NO_SYMLINKS ? O_NOFOLLOW : 0);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
    // No leading slashes (relative to the root fd), no trailing ones (the
    // last component is what gets made).
    auto first = path.find_first_not_of('/');
    std::string p = first == std::string::npos ? "." : path.substr(first, path.find_last_not_of('/') + 1 - first);
    int fd = inroot::openat2(root_fd, p.c_str(), &how);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != ENOENT || !create) throw_errno("open " + path + " in container root");
    auto slash = p.find_last_of('/');
    std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
    auto parent = open_in_root_at(root_fd, slash == std::string::npos ? "/" : p.substr(0, slash), true, false, resolve, links);
    UniqueFd dir(K().openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open " + path + " in container root");
    // A symlink to a path that does not exist yet (/etc/resolv.conf ->
    // /run/resolv.conf): its target is made, inside the root, as runc and
    // crun do (a relative target from the link's directory).
    char target[PATH_MAX];
    ssize_t n = (resolve & RESOLVE_NO_SYMLINKS) ? -1 : ::readlinkat(dir.get(), base.c_str(), target, sizeof target - 1);
    if (n > 0) {
        if (links == 0) throw Error("open " + path + " in container root: " + std::strerror(ELOOP), ELOOP);
        std::string t(target, static_cast<size_t>(n));
        std::string next = t[0] == '/' || slash == std::string::npos ? t : p.substr(0, slash) + "/" + t;
        open_in_root_at(root_fd, next, true, make_file, resolve, links - 1);
        return open_in_root_at(root_fd, path, false, false, resolve, links);
    }
    if (make_file) {
        UniqueFd f(K().openat(dir.get(), base.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!f && errno != EEXIST) throw_errno("create " + path);
    } else if (K().mkdirat(dir.get(), base.c_str(), 0755) < 0 && errno != EEXIST) {
        throw_errno("mkdir " + path);
    }
    return open_in_root_at(root_fd, path, false, false, resolve, links);
}

}  // namespace

UniqueFd open_in_root(int root_fd, const std::string &path, bool create, bool make_file, unsigned long long resolve) {
    return open_in_root_at(root_fd, path, create, make_file, resolve, 40);
}

void prepare(const spec::Spec &spec, const std::string &rootfs, const std::vector<std::string> &cgroup_dirs,
             bool in_user_ns, const std::vector<int> &idmapped, int proc_pidns) {
    unsigned long prop = root_propagation(spec);
    // Host mounts may propagate in, ours never out.
    unsigned long first = (prop & (MS_PRIVATE)) ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
    do_mount(nullptr, "/", nullptr, first, nullptr, "/ (propagation)");
    // pivot_root needs the new root to be a mount point.
    do_mount(rootfs.c_str(), rootfs, nullptr, MS_BIND | MS_REC, nullptr, "rootfs " + rootfs);

    UniqueFd root_fd(K().open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) throw_errno("open " + rootfs);
    for (size_t i = 0; i < spec.mounts.size(); i++) {
        if (i < idmapped.size() && idmapped[i] >= 0 && is_idmapped(spec.mounts[i])) {
            attach_idmapped(root_fd.get(), spec.mounts[i], idmapped[i]);
        } else if (i < idmapped.size() && idmapped[i] >= 0) {
            mount_one(root_fd.get(), spec.mounts[i], cgroup_dirs, proc_pidns, idmapped[i]);
        } else if (readonly_dev(spec.mounts[i])) {
            spec::Mount rw = spec.mounts[i];
            rw.options.push_back("rw");
            mount_one(root_fd.get(), rw, cgroup_dirs, proc_pidns);
        } else {
            mount_one(root_fd.get(), spec.mounts[i], cgroup_dirs, proc_pidns);
        }
    }
    create_devices(root_fd.get(), spec, in_user_ns);
}

void pivot(const std::string &rootfs, bool no_pivot) {
    if (K().chdir(rootfs.c_str()) < 0) throw_errno("chdir " + rootfs);
    if (no_pivot) {
        hide_host_proc_sys(rootfs);
        do_mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr, "rootfs (move)");
        if (K().chroot(".") < 0) throw_errno("chroot");
        if (K().chdir("/") < 0) throw_errno("chdir /");
        return;
    }
    UniqueFd old_root(K().open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
    if (!old_root) throw_errno("open /");
    if (K().pivot_root(".", ".") < 0) throw_errno("pivot_root");
    // The old root is now stacked under ".": detach it without letting the
    // unmount propagate back to the host.
    if (K().fchdir(old_root.get()) < 0) throw_errno("fchdir old root");
    do_mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr, "old root (propagation)");
    if (K().umount2(".", MNT_DETACH) < 0) throw_errno("unmount old root");
    if (K().chdir("/") < 0) throw_errno("chdir /");
}

void finish(const spec::Spec &spec) {
    if (spec.linux) {
        // Each path looked up once; the mount goes on that fd, by fd: after
        // pivot_root a /proc/self/fd path would go through the container's /proc.
        for (auto &p : spec.linux->readonlyPaths) {
            UniqueFd fd(K().open(p.c_str(), O_PATH | O_CLOEXEC));
            if (!fd) continue;
            UniqueFd tree = clone_tree(fd.get(), "", true, p);
            attach_with_flags(tree.get(), fd.get(), MS_RDONLY, 0, p, p.c_str());
        }
        // Masked directories share one empty read-only tmpfs: made for the
        // first, bound (from its attached mount) onto the others.
        UniqueFd null, empty;
        for (auto &p : spec.linux->maskedPaths) {
            UniqueFd fd(K().open(p.c_str(), O_PATH | O_CLOEXEC));
            struct stat st;
            if (!fd || ::fstat(fd.get(), &st) < 0) continue;
            if (!S_ISDIR(st.st_mode)) {
                mask_file(p, fd.get(), null);
            } else if (empty) {
                attach(clone_tree(empty.get(), "", false, p).get(), fd.get(), p);
            } else {
                empty = new_fs("tmpfs", "tmpfs", {}, MS_RDONLY, p);
                attach(empty.get(), fd.get(), p);
            }
        }
    }
    if (spec.root && spec.root->readonly)
        do_mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | current_flags("/"), nullptr, "/ (readonly)");
    if (unsigned long prop = root_propagation(spec)) do_mount(nullptr, "/", nullptr, prop, nullptr, "/ (propagation)");
}

void finish_dev(const spec::Spec &spec) {
    for (auto &m : spec.mounts)
        if (readonly_dev(m))
            do_mount(nullptr, "/dev", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | current_flags("/dev"), nullptr, "/dev (readonly)");
}

}  // namespace kiln::rootfs
