// User namespaces on the runtime's side: whether kiln itself runs in one,
// what a rootless caller (euid != 0) may ask for, and how the maps of a new
// one are written.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "kiln/spec.hpp"

namespace kiln::userns {

// True when this process is in a user namespace other than the initial one
// (rootless podman runs the runtime as uid 0 of its own user namespace).
bool running_in_user_ns();

// runc's checks for a caller with euid != 0: a user namespace, maps for a
// new one, and no uid=/gid= mount option naming an id the maps leave out.
void validate_rootless(const spec::Spec &spec);

// Writes pid's uid_map and gid_map. A caller without privilege writes its
// own single id directly ("deny" to setgroups first, which the kernel
// demands for an unprivileged gid_map); anything wider goes through the
// setuid newuidmap/newgidmap (uidmap package, /etc/subuid, /etc/subgid), as
// runc does. The child must still be dumpable, or its /proc files are
// root's.
void write_maps(pid_t pid, const std::vector<spec::IdMapping> &uids, const std::vector<spec::IdMapping> &gids);

// The text of a uid_map/gid_map file for maps.
std::string map_text(const std::vector<spec::IdMapping> &maps);

}  // namespace kiln::userns
