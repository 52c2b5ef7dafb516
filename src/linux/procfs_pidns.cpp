// procfs for a pid namespace other than the mounting process's (procfs's
// "pidns" option, Linux 6.17+): the init of a container that joins a shared
// pid namespace sets the container up from outside it (see
// enter_shared_pid_ns in init.cpp), yet its /proc must show that namespace.
#include "linux/procfs.hpp"

#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "kiln/error.hpp"
#include "linux/kernel.hpp"

#ifndef FSCONFIG_SET_FD
#define FSCONFIG_SET_FD 5
#endif

namespace kiln::procfs {
namespace {

int fs_config(int fd, unsigned cmd, const char *key, const void *value, int aux) {
    return static_cast<int>(kernel::get().fsconfig(fd, cmd, key, value, aux));
}

// An unconfigured procfs context that will show pidns_fd's namespace.
UniqueFd proc_context(int pidns_fd) {
    UniqueFd ctx(static_cast<int>(kernel::get().fsopen("proc", FSOPEN_CLOEXEC)));
    if (!ctx) return ctx;
    if (fs_config(ctx.get(), FSCONFIG_SET_FD, "pidns", nullptr, pidns_fd) < 0) return UniqueFd();
    return ctx;
}

unsigned attrs_of(unsigned long ms_flags) {
    unsigned a = 0;
    if (ms_flags & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
    if (ms_flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
    if (ms_flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
    if (ms_flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
    if (ms_flags & MS_NOATIME) a |= MOUNT_ATTR_NOATIME;
    else if (ms_flags & MS_STRICTATIME) a |= MOUNT_ATTR_STRICTATIME;
    if (ms_flags & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
    return a;
}

}  // namespace

bool can_mount_for_pidns(int pidns_fd) { return static_cast<bool>(proc_context(pidns_fd)); }

UniqueFd new_for_pidns(int pidns_fd, unsigned long ms_flags, const std::string &data, const std::string &what) {
    UniqueFd ctx = proc_context(pidns_fd);
    if (!ctx) throw_errno("mount " + what + " (procfs for the shared pid namespace)");
    // Filesystem options ("hidepid=2,subset=pid"): key=value or flag.
    size_t pos = 0;
    while (pos < data.size()) {
        size_t comma = data.find(',', pos);
        std::string opt = data.substr(pos, comma - pos);
        pos = comma == std::string::npos ? data.size() : comma + 1;
        if (opt.empty()) continue;
        size_t eq = opt.find('=');
        int rc = eq == std::string::npos
                     ? fs_config(ctx.get(), FSCONFIG_SET_FLAG, opt.c_str(), nullptr, 0)
                     : fs_config(ctx.get(), FSCONFIG_SET_STRING, opt.substr(0, eq).c_str(), opt.c_str() + eq + 1, 0);
        if (rc < 0) throw_errno("mount " + what + ": option " + opt);
    }
    if (fs_config(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) throw_errno("mount " + what);
    UniqueFd mnt(static_cast<int>(kernel::get().fsmount(ctx.get(), FSMOUNT_CLOEXEC, attrs_of(ms_flags))));
    if (!mnt) throw_errno("mount " + what);
    return mnt;
}

}  // namespace kiln::procfs
