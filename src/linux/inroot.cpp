#include "linux/inroot.hpp"

#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>

#include "kiln/error.hpp"
#include "linux/kernel.hpp"

namespace kiln::inroot {

int openat2(int dirfd, const char *path, struct open_how *how) {
    for (int tries = 0;; tries++) {
        int fd = kernel::get().openat2(dirfd, path, how, sizeof *how);
        if (fd >= 0 || errno != EAGAIN || tries == 100) return fd;
    }
}

int open(int root_fd, const std::string &path, int flags) {
    struct open_how how{};
    how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const char *rel = path.c_str();
    while (*rel == '/') rel++;
    return openat2(root_fd, *rel ? rel : ".", &how);
}

bool read_regular(int root_fd, const std::string &path, size_t cap, std::string &out) {
    UniqueFd fd(open(root_fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!fd) return false;
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return false;
    if (!S_ISREG(st.st_mode)) return errno = EINVAL, false;
    if (static_cast<unsigned long long>(st.st_size) > cap) return errno = EFBIG, false;
    out.clear();
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) return true;
        if (out.size() + static_cast<size_t>(n) > cap) return errno = EFBIG, false;
        out.append(buf, static_cast<size_t>(n));
    }
}

UniqueFd make_dirs(int root_fd, const std::string &path) {
    auto fail = [&](int err) {
        throw_errno("chdir to cwd (\"" + path + "\") set in config.json failed", err);
    };
    UniqueFd dir(open(root_fd, "/", O_PATH | O_DIRECTORY));
    if (!dir) fail(errno);
    size_t pos = 0;
    while (pos < path.size()) {
        size_t slash = path.find('/', pos);
        std::string name = path.substr(pos, slash - pos);
        pos = slash == std::string::npos ? path.size() : slash + 1;
        if (name.empty() || name == ".") continue;
        // Each step is resolved from the root, so ".." and symlinks made by
        // the image cannot leave it.
        std::string so_far = path.substr(0, pos);
        UniqueFd next(open(root_fd, so_far, O_PATH | O_DIRECTORY));
        if (!next && errno == ENOENT) {
            UniqueFd parent(::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            if (!parent) fail(errno);
            if (kernel::get().mkdirat(parent.get(), name.c_str(), 0755) < 0 && errno != EEXIST) fail(errno);
            next.reset(open(root_fd, so_far, O_PATH | O_DIRECTORY));
        }
        if (!next) fail(errno);
        dir = std::move(next);
    }
    return dir;
}

}  // namespace kiln::inroot
