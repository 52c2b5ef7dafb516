#include "linux/sealed.hpp"

#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kiln/error.hpp"
#include "linux/kernel.hpp"
#include "util/sha256.hpp"
#include "util/unsafe.hpp"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

namespace kiln::sealed {

bool is_readonly(int fd) {
    struct statvfs vfs;
    if (::fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) return true;
    int seals = ::fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & F_SEAL_WRITE);
}

UniqueFd memfd_copy(int fd, const char *name, Sha256 *hash, size_t max) {
    UniqueFd mem(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
    if (!mem && errno == EINVAL) mem.reset(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!mem) throw_errno(std::string("memfd_create for a sealed copy of ") + name);
    struct stat st;
    if (::fstat(fd, &st) < 0) throw_errno(std::string("stat ") + name);
    if (static_cast<unsigned long long>(st.st_size) > max) throw_errno(std::string("copy ") + name, EFBIG);
    size_t total = 0;
    if (!hash) {
        // The kernel copies page cache to page cache.
        off_t off = 0;
        while (total < static_cast<size_t>(st.st_size)) {
            ssize_t n = ::sendfile(mem.get(), fd, &off, static_cast<size_t>(st.st_size) - total);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno(std::string("copy ") + name);
            if (n == 0) break;
            total += static_cast<size_t>(n);
        }
    }
    // Hashing (or a file that grew): read what is there, to the end.
    char buf[65536];
    for (;;) {
        ssize_t n = hash ? ::read(fd, buf, sizeof buf) : ::pread(fd, buf, sizeof buf, static_cast<off_t>(total));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(std::string("read ") + name);
        if (n == 0) break;
        total += static_cast<size_t>(n);
        if (total > max) throw_errno(std::string("copy ") + name, EFBIG);
        if (hash) hash->update(buf, static_cast<size_t>(n));
        if (!write_all(mem.get(), std::string_view(buf, static_cast<size_t>(n))))
            throw_errno(std::string("copy ") + name);
    }
    if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        throw_errno(std::string("seal the copy of ") + name);
    return mem;
}

UniqueFd readonly_view(int fd, const char *name) {
    UniqueFd tree(static_cast<int>(
        kernel::get().open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
    if (tree) {
        struct mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        if (kernel::get().mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) == 0) return tree;
    }
    // No mount privilege (rootless), or a kernel without the new mount API.
    UniqueFd readable(::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC));
    if (!readable) throw_errno(std::string("open ") + name);
    return memfd_copy(readable.get(), name);
}

namespace {
bool readonly_self = false;
char **kept_argv = nullptr;
}

bool running_readonly() { return readonly_self; }

void reexec_self(char **argv) {
    UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    if (!exe) throw_errno("open /proc/self/exe");
    readonly_self = is_readonly(exe.get());
    if (readonly_self || unsafe::off("sealed-exe")) {
        // execveat(AT_EMPTY_PATH) named us after the fd: take our name back.
        const char *base = std::strrchr(argv[0], '/');
        ::prctl(PR_SET_NAME, base ? base + 1 : argv[0], 0, 0, 0);
        return;
    }
    UniqueFd view = readonly_view(exe.get(), "kiln");
    ::syscall(SYS_execveat, view.get(), "", argv, environ, AT_EMPTY_PATH);
    throw_errno("re-exec kiln from a read-only view of itself");
}

void keep_argv(char **argv) {
    kept_argv = argv;
    UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    readonly_self = exe && is_readonly(exe.get());
}

void reexec_kept() {
    if (kept_argv) reexec_self(kept_argv);
}

}  // namespace kiln::sealed
