// A recording fake of the kernel seam (src/linux/kernel.hpp), for unit
// tests without root: every call that would change the system is recorded
// as one readable line and not done; lookups and the calls that only make
// files (mkdir, symlink, O_CREAT) are done for real below a scratch root
// directory, so that the code under test walks a real tree with real fds.
//
// Records name fds by what they refer to: a path below the root as the
// container sees it ("/proc"), a mount the fake made by its origin
// ("tree:/src", "fs:tmpfs", "mnt:tmpfs"). A mount(2) target of
// "/proc/self/fd/N" is named after fd N the same way.
#pragma once

#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "linux/kernel.hpp"
#include "scratch_dir.hpp"

namespace kiln::test {

inline std::string ms_flags(unsigned long f) {
    static const std::pair<unsigned long, const char *> names[] = {
        {MS_RDONLY, "MS_RDONLY"},       {MS_NOSUID, "MS_NOSUID"},         {MS_NODEV, "MS_NODEV"},
        {MS_NOEXEC, "MS_NOEXEC"},       {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_REMOUNT, "MS_REMOUNT"},
        {MS_MANDLOCK, "MS_MANDLOCK"},   {MS_DIRSYNC, "MS_DIRSYNC"},       {MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
        {MS_NOATIME, "MS_NOATIME"},     {MS_NODIRATIME, "MS_NODIRATIME"}, {MS_BIND, "MS_BIND"},
        {MS_MOVE, "MS_MOVE"},           {MS_REC, "MS_REC"},               {MS_SILENT, "MS_SILENT"},
        {MS_UNBINDABLE, "MS_UNBINDABLE"}, {MS_PRIVATE, "MS_PRIVATE"},     {MS_SLAVE, "MS_SLAVE"},
        {MS_SHARED, "MS_SHARED"},       {MS_RELATIME, "MS_RELATIME"},     {MS_I_VERSION, "MS_I_VERSION"},
        {MS_STRICTATIME, "MS_STRICTATIME"}, {MS_LAZYTIME, "MS_LAZYTIME"}};
    std::string out;
    for (auto [bit, name] : names)
        if (f & bit) out += (out.empty() ? "" : "|") + std::string(name), f &= ~bit;
    if (f) out += (out.empty() ? "" : "|") + std::to_string(f);
    return out.empty() ? "0" : out;
}

inline std::string attr_flags(unsigned long long f) {
    static const std::pair<unsigned long long, const char *> names[] = {
        {MOUNT_ATTR_RDONLY, "RDONLY"},     {MOUNT_ATTR_NOSUID, "NOSUID"},   {MOUNT_ATTR_NODEV, "NODEV"},
        {MOUNT_ATTR_NOEXEC, "NOEXEC"},     {MOUNT_ATTR_NOATIME, "NOATIME"}, {MOUNT_ATTR_STRICTATIME, "STRICTATIME"},
        {MOUNT_ATTR_NODIRATIME, "NODIRATIME"}, {MOUNT_ATTR_IDMAP, "IDMAP"}, {MOUNT_ATTR_NOSYMFOLLOW, "NOSYMFOLLOW"}};
    std::string out;
    if ((f & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME) out = "ATIME", f &= ~static_cast<unsigned long long>(MOUNT_ATTR__ATIME);
    for (auto [bit, name] : names)
        if (f & bit) out += (out.empty() ? "" : "|") + std::string(name), f &= ~bit;
    if (f) out += (out.empty() ? "" : "|") + std::to_string(f);
    return out.empty() ? "0" : out;
}

class RecordingKernel : public kernel::RealKernel {
public:
    // root: the scratch directory standing for the container's root. After
    // a recorded pivot_root (or with pivoted), absolute paths are taken
    // below it, as the init sees them after pivot_root.
    explicit RecordingKernel(std::string root, bool after_pivot = false)
        : pivoted(after_pivot), root_(std::move(root)), previous_(kernel::set(this)) {}
    ~RecordingKernel() override { kernel::set(previous_); }
    RecordingKernel(const RecordingKernel &) = delete;
    RecordingKernel &operator=(const RecordingKernel &) = delete;

    std::vector<std::string> calls;
    bool pivoted;  // absolute paths are below the root
    // Host paths opened as they are even after pivot_root (the fake makes
    // no device nodes; the null device is the host's).
    std::set<std::string> host_paths{"/dev/null"};
    // The first recorded call whose line contains what fails with err.
    void fail_when(std::string what, int err) { failures_.emplace_back(std::move(what), err); }

    // The calls whose line starts with prefix (e.g. "mount", "move_mount").
    std::vector<std::string> only(const std::string &prefix) const {
        std::vector<std::string> out;
        for (auto &c : calls)
            if (c.rfind(prefix, 0) == 0) out.push_back(c);
        return out;
    }

    std::string name(int fd) const {
        if (fd == AT_FDCWD) return "AT_FDCWD";
        auto it = labels_.find(fd);
        if (it != labels_.end()) return it->second;
        char buf[PATH_MAX];
        ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
        if (n < 0) return "fd" + std::to_string(fd);
        return container_path(std::string(buf, static_cast<size_t>(n)));
    }

    int mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data) override {
        return record("mount " + opt(src) + " " + target(dst) + " " + opt(type) + " " + ms_flags(flags) +
                      (data ? " " + std::string(static_cast<const char *>(data)) : ""));
    }
    int umount2(const char *t, int flags) override {
        return record("umount2 " + target(t) + (flags & MNT_DETACH ? " MNT_DETACH" : ""));
    }
    int open_tree(int dirfd, const char *path, unsigned flags) override {
        std::string what = *path ? path_at(dirfd, path) : name(dirfd);
        std::string line = "open_tree " + what + ((flags & AT_RECURSIVE) ? " AT_RECURSIVE" : "");
        if (record(line) < 0) return -1;
        // A real fd for the clone, so that fstat on it works.
        int fd = *path ? RealKernel::openat(dirfd, rebase(path).c_str(), O_PATH | O_CLOEXEC, 0)
                       : ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) fd = new_mount_dir();
        return label(fd, "tree:" + what);
    }
    int move_mount(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned) override {
        std::string src = *from ? path_at(from_dirfd, from) : name(from_dirfd);
        std::string dst = *to ? target(to) : name(to_dirfd);
        return record("move_mount " + src + " -> " + dst);
    }
    int mount_setattr(int dirfd, const char *path, unsigned flags, const struct mount_attr *a, size_t) override {
        std::string line = "mount_setattr " + (*path ? path_at(dirfd, path) : name(dirfd));
        if (a->attr_set) line += " set=" + attr_flags(a->attr_set);
        if (a->attr_clr) line += " clr=" + attr_flags(a->attr_clr);
        if (a->propagation) line += " propagation=" + ms_flags(a->propagation);
        if (flags & AT_RECURSIVE) line += " AT_RECURSIVE";
        return record(line);
    }
    int fsopen(const char *fs, unsigned) override {
        if (record(std::string("fsopen ") + fs) < 0) return -1;
        return label(new_mount_dir(), std::string("fs:") + fs);
    }
    int fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) override {
        std::string line = "fsconfig " + name(fd);
        if (cmd == FSCONFIG_CMD_CREATE) line += " create";
        else if (cmd == FSCONFIG_SET_FLAG) line += " " + std::string(key);
        else if (cmd == FSCONFIG_SET_STRING) line += " " + std::string(key) + "=" + static_cast<const char *>(value);
        else line += " " + std::string(key ? key : "") + "=" + name(aux);
        return record(line);
    }
    int fsmount(int fs_fd, unsigned, unsigned attr_flags) override {
        std::string fs = name(fs_fd);
        if (record("fsmount " + fs + " " + attr_flags_of(attr_flags)) < 0) return -1;
        return label(new_mount_dir(), "mnt:" + fs.substr(fs.find(':') + 1));
    }
    int pivot_root(const char *new_root, const char *put_old) override {
        int rc = record(std::string("pivot_root ") + new_root + " " + put_old);
        if (rc == 0) pivoted = true;
        return rc;
    }
    int chroot(const char *path) override { return record(std::string("chroot ") + path); }
    int chdir(const char *path) override { return record(std::string("chdir ") + path); }
    int fchdir(int fd) override { return record("fchdir " + name(fd)); }

    int open(const char *path, int flags, mode_t mode) override {
        if ((flags & O_CREAT) && record("create " + container_path(path)) < 0) return -1;
        return unlabel(RealKernel::open(rebase(path).c_str(), flags, mode));
    }
    int openat(int dirfd, const char *path, int flags, mode_t mode) override {
        if ((flags & O_CREAT) && record("create " + path_at(dirfd, path)) < 0) return -1;
        return unlabel(RealKernel::openat(dirfd, rebase(path).c_str(), flags, mode));
    }
    int openat2(int dirfd, const char *path, struct open_how *how, size_t size) override {
        return unlabel(RealKernel::openat2(dirfd, path, how, size));
    }
    int mkdirat(int dirfd, const char *path, mode_t mode) override {
        std::string line = "mkdir " + path_at(dirfd, path);
        int rc = RealKernel::mkdirat(dirfd, path, mode);
        if (rc == 0) calls.push_back(line);  // an existing one is no change
        return rc;
    }
    int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) override {
        char type = S_ISBLK(mode) ? 'b' : S_ISFIFO(mode) ? 'p' : 'c';
        char perm[8];
        std::snprintf(perm, sizeof perm, "%04o", mode & 07777);
        return record("mknod " + path_at(dirfd, path) + " " + type + " " + std::to_string(major(dev)) + ":" +
                      std::to_string(minor(dev)) + " " + perm);
    }
    int unlinkat(int dirfd, const char *path, int flags) override {
        return record("unlink " + path_at(dirfd, path)) < 0 ? -1 : RealKernel::unlinkat(dirfd, path, flags);
    }
    int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int) override {
        return record("chown " + path_at(dirfd, path) + " " + std::to_string(uid) + ":" + std::to_string(gid));
    }
    int symlinkat(const char *t, int dirfd, const char *path) override {
        if (record("symlink " + path_at(dirfd, path) + " -> " + t) < 0) return -1;
        return RealKernel::symlinkat(t, dirfd, path);
    }
    int setns(int fd, int nstype) override { return record("setns " + name(fd) + " " + std::to_string(nstype)); }
    int unshare(int flags) override { return record("unshare " + std::to_string(flags)); }
    int kill(pid_t pid, int sig) override { return record("kill " + std::to_string(pid) + " " + std::to_string(sig)); }
    // A pidfd is a real fd (of a scratch directory) named "pidfd:<pid>".
    int pidfd_open(pid_t pid, unsigned) override {
        if (record("pidfd_open " + std::to_string(pid)) < 0) return -1;
        return label(new_mount_dir(), "pidfd:" + std::to_string(pid));
    }
    int pidfd_send_signal(int pidfd, int sig, siginfo_t *, unsigned) override {
        return record("pidfd_send_signal " + name(pidfd) + " " + std::to_string(sig));
    }
    // Keyrings: a join gets key_serial; a describe answers key_description.
    long key_serial = 42;
    std::string key_description = "keyring;0;0;3f010000;_ses";
    long keyctl(int op, unsigned long a, unsigned long b, unsigned long c) override {
        if (op == KEYCTL_JOIN_SESSION_KEYRING)
            return record(std::string("keyctl join ") + reinterpret_cast<const char *>(a)) < 0 ? -1 : key_serial;
        if (op == KEYCTL_DESCRIBE) {
            if (record("keyctl describe " + std::to_string(a)) < 0) return -1;
            std::snprintf(reinterpret_cast<char *>(b), c, "%s", key_description.c_str());
            return static_cast<long>(key_description.size() + 1);
        }
        char perm[32];
        std::snprintf(perm, sizeof perm, "%#lx", b);
        if (op == KEYCTL_SETPERM) return record("keyctl setperm " + std::to_string(a) + " " + perm);
        return record("keyctl " + std::to_string(op) + " " + std::to_string(a));
    }

    int sched_setattr(const void *attr) override {
        // struct sched_attr: u32 size, u32 policy, u64 flags, s32 nice, u32 priority.
        uint32_t policy, priority;
        uint64_t flags;
        int32_t nice;
        auto *p = static_cast<const char *>(attr);
        std::memcpy(&policy, p + 4, 4);
        std::memcpy(&flags, p + 8, 8);
        std::memcpy(&nice, p + 16, 4);
        std::memcpy(&priority, p + 20, 4);
        return record("sched_setattr policy=" + std::to_string(policy) + " flags=" + std::to_string(flags) +
                      " nice=" + std::to_string(nice) + " priority=" + std::to_string(priority));
    }
    int ioprio_set(int which, int who, int ioprio) override {
        return record("ioprio_set " + std::to_string(which) + " " + std::to_string(who) + " class=" +
                      std::to_string(ioprio >> 13) + " level=" + std::to_string(ioprio & 0x1fff));
    }
    int set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode) override {
        return record("set_mempolicy mode=" + std::to_string(mode) + " mask=" + std::to_string(nodemask[0]) +
                      " maxnode=" + std::to_string(maxnode));
    }
    int personality(unsigned long persona) override { return record("personality " + std::to_string(persona)); }

    // Records line; -1 with errno when a scripted failure matches it.
    int record(const std::string &line) {
        for (auto it = failures_.begin(); it != failures_.end(); ++it)
            if (line.find(it->first) != std::string::npos) {
                int err = it->second;
                failures_.erase(it);
                calls.push_back(line + " = " + std::strerror(err));
                errno = err;
                return -1;
            }
        calls.push_back(line);
        return 0;
    }

private:
    static std::string opt(const char *s) { return s ? s : "-"; }
    static std::string attr_flags_of(unsigned a) { return a ? attr_flags(a) : "0"; }

    std::string container_path(const std::string &p) const {
        if (!root_.empty() && p.rfind(root_, 0) == 0 && (p.size() == root_.size() || p[root_.size()] == '/'))
            return p.size() == root_.size() ? "/" : p.substr(root_.size());
        return p;
    }
    // A path the code passes, as the process would resolve it.
    std::string rebase(const char *p) const {
        if (!pivoted || p[0] != '/' || host_paths.count(p)) return p;
        return root_ + p;
    }
    std::string path_at(int dirfd, const char *path) const {
        if (path[0] == '/') return path;
        std::string dir = name(dirfd);
        if (dirfd == AT_FDCWD) return path;
        return dir == "/" ? "/" + std::string(path) : dir + "/" + path;
    }
    // A mount(2) target: /proc/self/fd/N names fd N.
    std::string target(const char *p) const {
        const std::string prefix = "/proc/self/fd/";
        if (std::strncmp(p, prefix.c_str(), prefix.size()) == 0) return name(std::atoi(p + prefix.size()));
        return p;
    }
    int label(int fd, std::string what) {
        if (fd >= 0) labels_[fd] = std::move(what);
        return fd;
    }
    int unlabel(int fd) {
        if (fd >= 0) labels_.erase(fd);
        return fd;
    }

    // A new empty directory standing for a mount the fake made: what the
    // code makes in it (cgroup v1 directories) lands there, not on the host.
    int new_mount_dir() {
        std::string dir = mounts_.path + "/" + std::to_string(++mount_dirs_);
        RealKernel::mkdirat(AT_FDCWD, dir.c_str(), 0755);
        return RealKernel::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    }

    std::string root_;
    ScratchDir mounts_;
    int mount_dirs_ = 0;
    kernel::Kernel *previous_;
    std::map<int, std::string> labels_;
    std::vector<std::pair<std::string, int>> failures_;
};

}  // namespace kiln::test
