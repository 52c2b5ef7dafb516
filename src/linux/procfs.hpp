// procfs files the runtime writes (sysctls) reached only through a procfs
// handle taken before the container's mounts, so that no mount, symlink or
// fake /proc of the container can redirect the write (CVE-2025-52881).
#pragma once

#include <string>
#include <string_view>

#include "util/fd.hpp"

namespace kiln::procfs {

// O_PATH fd of the procfs mounted at path, checked to be the root of a real
// procfs; throws otherwise.
UniqueFd open_root(const char *path = "/proc");
// Opens rel beneath proc_root (flags: O_WRONLY...): no magic link, no mount
// crossing, symlinks only within procfs (thread-self), and the file must be
// procfs; throws otherwise.
UniqueFd open_file(int proc_root, const std::string &rel, int flags);
// Writes value to rel (e.g. "sys/net/ipv4/ip_forward") beneath proc_root:
// no symlink, no magic link, no mount crossing, and the file must be procfs.
void write(int proc_root, const std::string &rel, std::string_view value);

}  // namespace kiln::procfs

namespace kiln::procfs {

// procfs showing the pid namespace pidns_fd (not ours): whether this
// kernel can (procfs "pidns" option), and a detached mount of it with MS_*
// flags and filesystem options, for move_mount.
bool can_mount_for_pidns(int pidns_fd);
UniqueFd new_for_pidns(int pidns_fd, unsigned long ms_flags, const std::string &data, const std::string &what);

}  // namespace kiln::procfs
