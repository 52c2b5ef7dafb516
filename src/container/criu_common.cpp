#include "container/criu_common.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cgroups/cgroup.hpp"
#include "kiln/error.hpp"
#include "linux/rootfs.hpp"
#include "util/fd.hpp"

namespace kiln::criu {
namespace {

bool is_bind(const spec::Mount &m) { return m.type == "bind" || (rootfs::parse_options(m.options).flags & MS_BIND); }

bool has_namespace(const spec::Spec &spec, const char *type) {
    if (!spec.linux) return false;
    for (auto &n : spec.linux->namespaces)
        if (n.type == type) return true;
    return false;
}

std::string link_target(int fd) {
    char buf[4096];
    std::string p = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// runc resolves a destination with securejoin in the rootfs, so a symlink
// in the image is followed (inside it): the key is where the mount really is.
std::string resolve(int root_fd, const std::string &root_real, const std::string &dest) {
    std::string fallback = dest;
    while (fallback.size() > 1 && fallback.back() == '/') fallback.pop_back();
    if (fallback.empty() || fallback[0] != '/') fallback = "/" + fallback;
    try {
        UniqueFd fd = rootfs::open_in_root(root_fd, dest, false, false);
        std::string p = link_target(fd.get());
        if (p == root_real) return "/";
        if (p.size() > root_real.size() && p.compare(0, root_real.size(), root_real) == 0 && p[root_real.size()] == '/')
            return p.substr(root_real.size());
    } catch (const Error &) {
        // not there (yet): the destination as written
    }
    return fallback;
}

std::string base_name(const std::string &p) { return p.substr(p.find_last_of('/') + 1); }

}  // namespace

std::vector<ExtMount> external_mounts(const spec::Spec &spec, const std::string &rootfs, const std::string &bundle,
                                      const std::vector<std::string> &cgroup_dirs, bool restore) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open " + rootfs);
    std::string root_real = link_target(root.get());
    auto &hs = cgroups::hierarchies();
    bool pure_v2 = cgroups::layout_of(hs) == cgroups::Layout::v2;
    std::vector<ExtMount> out;
    for (auto &m : spec.mounts) {
        std::string key = resolve(root.get(), root_real, m.destination);
        if (is_bind(m)) {
            std::string src = m.source.empty() || m.source[0] == '/' ? m.source : bundle + "/" + m.source;
            out.push_back({key, restore ? src : key});
        } else if (m.type == "cgroup" || m.type == "cgroup2") {
            // v1/hybrid: a tmpfs with one bind per hierarchy (rootfs.cpp);
            // pure v2: a real cgroup2 mount in a cgroup namespace, else a bind.
            if (pure_v2) {
                if (!has_namespace(spec, "cgroup") && !cgroup_dirs.empty())
                    out.push_back({key, restore ? cgroup_dirs[0] : key});
                continue;
            }
            for (size_t i = 0; i < hs.size() && i < cgroup_dirs.size(); i++) {
                std::string k = (key == "/" ? "" : key) + "/" + base_name(hs[i].mount);
                out.push_back({k, restore ? cgroup_dirs[i] : k});
            }
        }
    }
    return out;
}

std::vector<std::string> device_paths(const spec::Spec &spec) {
    std::vector<std::string> out;
    for (const char *d : {"null", "zero", "full", "random", "urandom", "tty"}) out.push_back(std::string("/dev/") + d);
    if (spec.linux)
        for (auto &d : spec.linux->devices) out.push_back(d.path);
    return out;
}

std::string config_file(const std::map<std::string, std::string> &annotations) {
    auto it = annotations.find("org.criu.config");
    if (it != annotations.end()) return it->second;
    return "/etc/criu/kiln.conf";
}

std::string merged_config(const std::string &dir, const std::vector<std::string> &lines, const std::string &user) {
    std::string text;
    for (auto &l : lines) text += l + "\n";
    std::string theirs;
    if (!user.empty() && try_read_file(user, theirs)) text += theirs + "\n";
    std::string path = dir + "/kiln-criu.conf";
    write_file_atomic(path, text, 0600);
    return path;
}

int empty_ns_mask(const std::vector<std::string> &names) {
    int mask = CLONE_NEWNET;
    for (auto &n : names) {
        if (n != "network") throw Error("namespace \"" + n + "\" is not supported");
        mask |= CLONE_NEWNET;
    }
    return mask;
}

int cgroups_mode(const std::string &mode) {
    if (mode.empty()) return -1;
    if (mode == "soft") return kCgSoft;
    if (mode == "full") return kCgFull;
    if (mode == "strict") return kCgStrict;
    if (mode == "ignore") return kCgIgnore;
    throw Error("Invalid manage cgroups mode");
}

std::string ns_name(const std::string &t) {
    if (t == "network") return "net";
    if (t == "mount") return "mnt";
    return t;  // pid ipc uts user cgroup time
}

std::string ns_path(const spec::Spec &spec, const std::string &type) {
    if (!spec.linux) return "";
    for (auto &n : spec.linux->namespaces)
        if (n.type == type) return n.path;
    return "";
}

void failed(const char *type, int err, const std::string &log_dir, const char *log_name) {
    throw Error(std::string("criu failed: type ") + type + " errno " + std::to_string(err) + "\nlog file: " +
                (log_dir.empty() ? std::string(log_name) : log_dir + "/" + log_name));
}

int open_dir(const std::string &path, bool create) {
    if (create && ::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("mkdir " + path);
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_errno("open " + path);
    return fd;
}

}  // namespace kiln::criu
