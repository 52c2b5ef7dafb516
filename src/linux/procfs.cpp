#include "linux/procfs.hpp"

#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <cerrno>

#include "kiln/error.hpp"
#include "linux/inroot.hpp"

namespace kiln::procfs {
namespace {

bool is_procfs(int fd) {
    struct statfs st;
    return ::fstatfs(fd, &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

}  // namespace

UniqueFd open_root(const char *path) {
    UniqueFd fd(::open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno(std::string("open ") + path);
    struct stat st;
    // The procfs root directory has inode 1; a subdirectory bound at /proc does not.
    if (!is_procfs(fd.get()) || ::fstat(fd.get(), &st) < 0 || st.st_ino != 1)
        throw Error(std::string(path) + " is not the root of a procfs mount");
    return fd;
}

namespace {

UniqueFd open_beneath(int proc_root, const std::string &rel, int flags, unsigned long long resolve) {
    struct open_how how{};
    how.flags = static_cast<unsigned long long>(flags | O_NOCTTY | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | resolve;
    std::string what = "/proc/" + rel;
    UniqueFd fd(inroot::openat2(proc_root, rel.c_str(), &how));
    if (!fd) {
        // EXDEV: something is mounted on the way; ELOOP: a symlink.
        if (errno == EXDEV || errno == ELOOP) throw_errno("open " + what + " (not a plain procfs file)");
        throw_errno("open " + what);
    }
    if (!is_procfs(fd.get())) throw Error("open " + what + ": not a procfs file");
    return fd;
}

}  // namespace

UniqueFd open_file(int proc_root, const std::string &rel, int flags) { return open_beneath(proc_root, rel, flags, 0); }

void write(int proc_root, const std::string &rel, std::string_view value) {
    UniqueFd fd = open_beneath(proc_root, rel, O_WRONLY | O_TRUNC, RESOLVE_NO_SYMLINKS);
    if (!write_all(fd.get(), value)) throw_errno("write /proc/" + rel);
}

}  // namespace kiln::procfs
