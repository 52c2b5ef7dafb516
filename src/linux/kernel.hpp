// The kernel seam: the system calls with which src/linux changes the system
// (mounts, the mount API, files made in the container's root, pivot_root,
// namespaces, keyrings) go through one interface, so that unit tests can
// run the rootfs code without root against a recording fake
// (tests/unit/recording_kernel.hpp) and assert what it would have done.
//
// Each call has the system call's own contract: the result, or -1 with
// errno set. Lookups that change nothing (fstat, statfs, readlink) stay
// direct calls; the fake hands out real fds, so they work on its fds too.
//
// One process-wide instance, kernel::get(): the code that needs it runs in
// the init after clone() and deep below rootfs::prepare(), where passing a
// handle down every function would touch every signature for no gain; the
// pointer is set once by a test and never changes while the runtime runs.
// The cost is one indirect call per system call.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

struct mount_attr;
struct open_how;

namespace kiln::kernel {

class Kernel {
public:
    virtual ~Kernel() = default;
    // The mount family.
    virtual int mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data) = 0;
    virtual int umount2(const char *target, int flags) = 0;
    virtual int open_tree(int dirfd, const char *path, unsigned flags) = 0;
    virtual int move_mount(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned flags) = 0;
    virtual int mount_setattr(int dirfd, const char *path, unsigned flags, const struct mount_attr *attr, size_t size) = 0;
    virtual int fsopen(const char *fs, unsigned flags) = 0;
    virtual int fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) = 0;
    virtual int fsmount(int fs_fd, unsigned flags, unsigned attr_flags) = 0;
    virtual int pivot_root(const char *new_root, const char *put_old) = 0;
    virtual int chroot(const char *path) = 0;
    virtual int chdir(const char *path) = 0;
    virtual int fchdir(int fd) = 0;
    // Files: lookups that may make files (O_CREAT) and the calls that make them.
    virtual int open(const char *path, int flags, mode_t mode = 0) = 0;
    virtual int openat(int dirfd, const char *path, int flags, mode_t mode = 0) = 0;
    virtual int openat2(int dirfd, const char *path, struct open_how *how, size_t size) = 0;
    virtual int mkdirat(int dirfd, const char *path, mode_t mode) = 0;
    virtual int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) = 0;
    virtual int unlinkat(int dirfd, const char *path, int flags) = 0;
    virtual int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags) = 0;
    virtual int symlinkat(const char *target, int dirfd, const char *path) = 0;
    // Namespaces, signals and keyrings.
    virtual int setns(int fd, int nstype) = 0;
    virtual int unshare(int flags) = 0;
    virtual int kill(pid_t pid, int sig) = 0;
    virtual int pidfd_open(pid_t pid, unsigned flags) = 0;
    virtual int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags) = 0;
    virtual long keyctl(int op, unsigned long a, unsigned long b, unsigned long c) = 0;
    // Attributes of the calling process (attrs.cpp).
    virtual int sched_setattr(const void *attr) = 0;
    virtual int ioprio_set(int which, int who, int ioprio) = 0;
    virtual int set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode) = 0;
    virtual int personality(unsigned long persona) = 0;
};

// The system calls themselves.
class RealKernel : public Kernel {
public:
    int mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data) override {
        return ::mount(src, dst, type, flags, data);
    }
    int umount2(const char *target, int flags) override { return ::umount2(target, flags); }
    int open_tree(int dirfd, const char *path, unsigned flags) override {
        return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
    }
    int move_mount(int from_dirfd, const char *from, int to_dirfd, const char *to, unsigned flags) override {
        return static_cast<int>(::syscall(SYS_move_mount, from_dirfd, from, to_dirfd, to, flags));
    }
    int mount_setattr(int dirfd, const char *path, unsigned flags, const struct mount_attr *attr, size_t size) override {
        return static_cast<int>(::syscall(SYS_mount_setattr, dirfd, path, flags, attr, size));
    }
    int fsopen(const char *fs, unsigned flags) override { return static_cast<int>(::syscall(SYS_fsopen, fs, flags)); }
    int fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) override {
        return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
    }
    int fsmount(int fs_fd, unsigned flags, unsigned attr_flags) override {
        return static_cast<int>(::syscall(SYS_fsmount, fs_fd, flags, attr_flags));
    }
    int pivot_root(const char *new_root, const char *put_old) override {
        return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
    }
    int chroot(const char *path) override { return ::chroot(path); }
    int chdir(const char *path) override { return ::chdir(path); }
    int fchdir(int fd) override { return ::fchdir(fd); }
    int open(const char *path, int flags, mode_t mode) override { return ::open(path, flags, mode); }
    int openat(int dirfd, const char *path, int flags, mode_t mode) override { return ::openat(dirfd, path, flags, mode); }
    int openat2(int dirfd, const char *path, struct open_how *how, size_t size) override {
        return static_cast<int>(::syscall(SYS_openat2, dirfd, path, how, size));
    }
    int mkdirat(int dirfd, const char *path, mode_t mode) override { return ::mkdirat(dirfd, path, mode); }
    int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) override { return ::mknodat(dirfd, path, mode, dev); }
    int unlinkat(int dirfd, const char *path, int flags) override { return ::unlinkat(dirfd, path, flags); }
    int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags) override {
        return ::fchownat(dirfd, path, uid, gid, flags);
    }
    int symlinkat(const char *target, int dirfd, const char *path) override { return ::symlinkat(target, dirfd, path); }
    int setns(int fd, int nstype) override { return ::setns(fd, nstype); }
    int unshare(int flags) override { return ::unshare(flags); }
    int kill(pid_t pid, int sig) override { return ::kill(pid, sig); }
    int pidfd_open(pid_t pid, unsigned flags) override { return static_cast<int>(::syscall(SYS_pidfd_open, pid, flags)); }
    int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags) override {
        return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags));
    }
    long keyctl(int op, unsigned long a, unsigned long b, unsigned long c) override {
        return ::syscall(SYS_keyctl, op, a, b, c, 0);
    }
    int sched_setattr(const void *attr) override { return static_cast<int>(::syscall(SYS_sched_setattr, 0, attr, 0)); }
    int ioprio_set(int which, int who, int ioprio) override {
        return static_cast<int>(::syscall(SYS_ioprio_set, which, who, ioprio));
    }
    int set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode) override {
        return static_cast<int>(::syscall(SYS_set_mempolicy, mode, nodemask, maxnode));
    }
    int personality(unsigned long persona) override { return ::personality(persona); }
};

namespace detail {
extern Kernel *current;
}

// The kernel every seam call goes to: the real one unless a test set another.
inline Kernel &get() { return *detail::current; }
// Tests only: k, or the real kernel again for nullptr. Returns the previous one.
Kernel *set(Kernel *k);

}  // namespace kiln::kernel
