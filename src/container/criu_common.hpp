// What checkpoint (dump) and restore share: how runc 1.1.5 describes a
// container to CRIU (libcontainer/container_linux.go Checkpoint/Restore).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "container/criu.hpp"
#include "kiln/spec.hpp"

namespace kiln::criu {

// criu's --ext-mount-map KEY:VAL.
struct ExtMount {
    std::string key, val;
};

// The mounts CRIU must treat as external: binds (KEY = destination resolved
// in the rootfs like runc's securejoin), and on cgroup v1/hybrid hosts the
// per-hierarchy binds under the cgroup mount (kiln binds the container's
// cgroup directories there). dump: VAL = KEY; restore: VAL = the source
// (relative sources against bundle) or the new cgroup directory.
std::vector<ExtMount> external_mounts(const spec::Spec &spec, const std::string &rootfs, const std::string &bundle,
                                      const std::vector<std::string> &cgroup_dirs, bool restore);

// The device nodes of the container (kiln's defaults and linux.devices):
// external when they are bind mounts (user namespaces), ignored otherwise.
std::vector<std::string> device_paths(const spec::Spec &spec);

// org.criu.config: its value ("" = no file at all); when absent kiln's own
// default /etc/criu/kiln.conf (runc's is /etc/criu/runc.conf).
std::string config_file(const std::map<std::string, std::string> &annotations);

// Options libcriu cannot set (restore-sibling, lazy-pages, the page server
// address of a lazy dump): a config file in dir (the container's state dir)
// with those lines first and then the lines of `user` (the config above, so
// that it still wins). Returns its path.
std::string merged_config(const std::string &dir, const std::vector<std::string> &lines, const std::string &user);

// --empty-ns: CLONE_NEWNET always (kiln, like runc, does not manage the
// network), plus "network" (the only one allowed).
int empty_ns_mask(const std::vector<std::string> &names);
// --manage-cgroups-mode; -1 when not given. Error("Invalid manage cgroups mode").
int cgroups_mode(const std::string &mode);

// CRIU's name of a namespace type (network -> net, mount -> mnt, ...).
std::string ns_name(const std::string &spec_type);
// A namespace of the config given by path, or "".
std::string ns_path(const spec::Spec &spec, const std::string &type);

// "criu failed: type DUMP errno 22\nlog file: /work/dump.log" (runc's text);
// err: CRIU's errno, as libcriu left it in errno.
[[noreturn]] void failed(const char *type, int err, const std::string &log_dir, const char *log_name);

// Opens (after mkdir 0700 when missing) a directory for CRIU; O_RDONLY|O_DIRECTORY.
int open_dir(const std::string &path, bool create);

}  // namespace kiln::criu
