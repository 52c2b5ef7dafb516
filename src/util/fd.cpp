#include "util/fd.hpp"

#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "kiln/error.hpp"

namespace kiln {

std::string read_fd(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

bool try_read_small_file(int dirfd, const char *name, std::string &out, int flags) {
    UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC | flags));
    if (!fd) return false;
    char buf[8192];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) < 0 && errno == EINTR) {
    }
    out.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
    if (n == static_cast<ssize_t>(sizeof buf)) out += read_fd(fd.get());
    return true;
}

bool try_read_file(const std::string &path, std::string &out) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    out = read_fd(fd.get());
    return true;
}

std::string read_file(const std::string &path) {
    std::string out;
    if (!try_read_file(path, out)) throw_errno("open " + path);
    return out;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

void write_file(const std::string &path, std::string_view data) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    if (!write_all(fd.get(), data)) throw_errno("write " + path);
}

void write_file_atomic(int dirfd, const std::string &name, std::string_view data, mode_t mode) {
    UniqueFd fd;
    std::string tmp;
    for (int tries = 0; !fd && tries < 8; tries++) {
        unsigned long long r = 0;
        if (::getrandom(&r, sizeof r, 0) != sizeof r) throw_errno("getrandom");
        char suffix[24];
        std::snprintf(suffix, sizeof suffix, ".%016llx", r);
        tmp = "." + name + suffix;
        fd.reset(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
        if (!fd && errno != EEXIST) throw_errno("open " + tmp);
    }
    if (!fd) throw_errno("open " + tmp);
    if (!write_all(fd.get(), data)) {
        int err = errno;
        ::unlinkat(dirfd, tmp.c_str(), 0);
        throw_errno("write " + tmp, err);
    }
    fd.reset();
    if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) < 0) {
        int err = errno;
        ::unlinkat(dirfd, tmp.c_str(), 0);
        throw_errno("rename " + name, err);
    }
}

void mkdir_all(const std::string &path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return;
    if (errno != ENOENT) throw_errno("mkdir " + path);
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos || slash == 0) throw_errno("mkdir " + path);
    mkdir_all(path.substr(0, slash), mode);
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) throw_errno("mkdir " + path);
}

}  // namespace kiln

namespace kiln {

void write_file_atomic(const std::string &path, std::string_view data, mode_t mode) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) throw_errno("open " + dir);
    write_file_atomic(d.get(), slash == std::string::npos ? path : path.substr(slash + 1), data, mode);
}

}  // namespace kiln
