// Lookups of container files by the init and the exec child, confined to the
// container's root: openat2 with RESOLVE_IN_ROOT (".." and absolute symlinks
// stop at the root) and RESOLVE_NO_MAGICLINKS (no /proc/self/fd/N or
// /proc/<pid>/root way out, whatever fds the process holds).
#pragma once

#include <string>

#include "util/fd.hpp"

struct open_how;

namespace kiln::inroot {

// openat2(2), tried again while it fails with EAGAIN: with RESOLVE_IN_ROOT or
// RESOLVE_BENEATH the kernel gives up when a rename or mount anywhere on the
// host raced the walk (any busy host, another container starting).
int openat2(int dirfd, const char *path, struct open_how *how);

// openat2(root_fd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
// -1 with errno on failure.
int open(int root_fd, const std::string &path, int flags);

// Reads a regular file of at most cap bytes: false (errno set) when it is
// missing, not a regular file (a FIFO must not hang us: opened O_NONBLOCK),
// or larger than cap (EFBIG).
bool read_regular(int root_fd, const std::string &path, size_t cap, std::string &out);

// The directory path below root_fd, made (0755) where missing, each step
// resolved in the root; throws with the runc-worded cwd error.
UniqueFd make_dirs(int root_fd, const std::string &path);

}  // namespace kiln::inroot
