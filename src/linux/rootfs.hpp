// Building the container's filesystem view: the config's mounts, default
// devices, pivot_root, masked and read-only paths. Every call that changes
// the system goes through the kernel seam (kernel.hpp), so the plan (which
// mounts, in which order, with which flags) is computed without doing it by
// running prepare/pivot/finish against the recording fake
// (tests/unit/test_kernel_rootfs.cpp).
#pragma once

#include <string>
#include <vector>

#include <linux/mount.h>

#include "kiln/spec.hpp"
#include "util/fd.hpp"

namespace kiln::rootfs {

struct MountOptions {
    unsigned long flags = 0;        // MS_* for mount(2)
    unsigned long clear = 0;        // MS_* flags explicitly cleared (rw, suid...)
    unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
    unsigned long long attr_set = 0, attr_clr = 0;  // recursive MOUNT_ATTR_* (rro, rnosuid...)
    std::string data;               // filesystem-specific options
    std::vector<std::string> data_list;  // the same, one option each
};

// Splits runtime-spec mount options into mount(2) flags and data.
MountOptions parse_options(const std::vector<std::string> &options);

// Every option parse_options() understands, sorted (what `features` lists).
std::vector<std::string_view> option_names();

// MS_* per-mount flags as a mount_setattr(2) request: set what `set` names,
// clear what `clear` names, leave the rest (a bind remount's meaning).
struct mount_attr mount_attrs(unsigned long set, unsigned long clear);

// Opens path inside root (symlinks cannot leave it), creating missing
// directories (and a final file when make_file) on the way. O_PATH fd.
// resolve: more RESOLVE_* flags (RESOLVE_NO_SYMLINKS).
UniqueFd open_in_root(int root_fd, const std::string &path, bool create, bool make_file, unsigned long long resolve = 0);

// Bind-mounts what src_fd refers to (any fd; O_PATH is fine) onto dst, or,
// when dst is empty, onto the O_PATH fd dst_fd: the source is never looked
// up by path again (open_tree + move_mount).
void bind_fd(int src_fd, int dst_fd, const std::string &dst, const std::string &what);

// Everything before pivot_root.
// idmapped[i] >= 0: the fd mount_sources made for mounts[i].
// proc_pidns >= 0: procfs mounts show that pid namespace (the container's,
// which the init itself is not in: see enter_shared_pid_ns in init.cpp).
void prepare(const spec::Spec &spec, const std::string &rootfs, const std::vector<std::string> &cgroup_dirs,
             bool in_user_ns, const std::vector<int> &idmapped = {}, int proc_pidns = -1);

// id-mapped mounts (idmap.cpp). In the runtime, before clone(): for every
// bind mount with uid/gidMappings a detached copy of its source
// (open_tree) with the mappings and flags applied (mount_setattr); an empty
// fd for the other mounts. Needs the host's CAP_SYS_ADMIN, hence here.
// With a user namespace, every other bind mount gets a clone of its source
// made here with the host's access; the init attaches it (mount_one).
std::vector<UniqueFd> mount_sources(const spec::Spec &spec);
bool is_idmapped(const spec::Mount &m);
// In the init: moves such a tree onto the mount's destination.
void attach_idmapped(int root_fd, const spec::Mount &m, int tree_fd);
void pivot(const std::string &rootfs, bool no_pivot);
// After pivot_root: masked/readonly paths, read-only root, propagation.
void finish(const spec::Spec &spec);
// Last, after /dev/console is made: a /dev mounted with "ro" becomes read-only.
void finish_dev(const spec::Spec &spec);

}  // namespace kiln::rootfs
