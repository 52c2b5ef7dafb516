// Finding the cgroup hierarchies this process sees (read once).
#include "cgroups/cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::cgroups {
namespace {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos - start));
        if (pos == std::string_view::npos) return out;
        start = pos + 1;
    }
}

// Controllers of a v1 mount from its super options ("rw,cpu,cpuacct").
std::string v1_controllers(const std::string &super_opts) {
    std::string out;
    for (auto &opt : split(super_opts, ',')) {
        if (opt == "rw" || opt == "ro" || opt.empty() || opt.rfind("release_agent=", 0) == 0 || opt == "noprefix" ||
            opt == "xattr" || opt == "clone_children" || opt == "cpuset_v2_mode")
            continue;
        if (!out.empty()) out += ',';
        out += opt;
    }
    return out;
}

std::string own_cgroup(const std::string &proc_cgroup, const Hierarchy &h) {
    for (auto &line : split(proc_cgroup, '\n')) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        std::string ctrls = line.substr(first + 1, second - first - 1);
        if (h.v2 ? (line.compare(0, first, "0") == 0 && ctrls.empty()) : ctrls == h.controllers)
            return line.substr(second + 1);
    }
    return "/";
}

// True when mount point `inner` lies at or below `outer`.
bool at_or_below(const std::string &inner, const std::string &outer) {
    if (outer == "/") return true;
    return inner.compare(0, outer.size(), outer) == 0 && (inner.size() == outer.size() || inner[outer.size()] == '/');
}

}  // namespace

// The hierarchies as this process sees them at their mount points. A
// cgroup mount covered by another mount at or above its mount point (a
// tmpfs over /sys/fs/cgroup/unified, as docker-in-docker and some
// benchmarks make) is not visible there and is skipped: `visible` names the
// mount the path shows (statx's mount id); without an answer the last mount
// in mountinfo order at or above the path is taken as the visible one (a
// mount propagated beneath another breaks that order, so the kernel's
// answer comes first). A hierarchy mounted twice (CRIU's cgroup "yard" of a
// running dump, a tool's private mount) is taken once, from under
// /sys/fs/cgroup when it is mounted there.
std::vector<Hierarchy> parse_hierarchies(const std::string &mountinfo, const std::string &proc_cgroup,
                                         const VisibleMount &visible) {
    struct Entry {
        std::string id, mount, fstype, super;
        bool root;
    };
    std::vector<Entry> mounts;
    for (auto &line : split(mountinfo, '\n')) {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto tail = split(std::string_view(line).substr(dash + 3), ' ');
        auto head = split(std::string_view(line).substr(0, dash), ' ');
        if (tail.size() < 3 || head.size() < 5) continue;
        mounts.push_back({head[0], head[4], tail[0], tail[2], head[3] == "/"});
    }
    std::vector<Hierarchy> out;
    for (size_t i = 0; i < mounts.size(); i++) {
        const Entry &m = mounts[i];
        if ((m.fstype != "cgroup" && m.fstype != "cgroup2") || !m.root) continue;  // a bind of a sub-cgroup: not ours
        // Only a later mount at or above the path, or another at the same
        // mount point (one moved beneath), can cover it: without one (the
        // usual layouts) no statx is needed.
        bool suspect = false;
        for (size_t j = 0; j < mounts.size() && !suspect; j++)
            suspect = j != i && at_or_below(m.mount, mounts[j].mount) && (j > i || mounts[j].mount == m.mount);
        long long shown = suspect && visible ? visible(m.mount) : -1;
        bool covered = shown == kNoPath || (shown >= 0 && std::to_string(shown) != m.id);
        for (size_t j = i + 1; suspect && shown < 0 && j < mounts.size() && !covered; j++)
            covered = at_or_below(m.mount, mounts[j].mount);
        if (covered) continue;
        Hierarchy h;
        h.mount = m.mount;
        h.v2 = m.fstype == "cgroup2";
        if (!h.v2) h.controllers = v1_controllers(m.super);
        h.own = own_cgroup(proc_cgroup, h);
        bool standard = at_or_below(h.mount, "/sys/fs/cgroup");
        auto same = std::find_if(out.begin(), out.end(), [&](const Hierarchy &o) {
            return o.v2 == h.v2 && o.controllers == h.controllers;
        });
        if (same == out.end())
            out.push_back(std::move(h));
        else if (standard && !at_or_below(same->mount, "/sys/fs/cgroup"))
            *same = std::move(h);
    }
    return out;
}

namespace {

std::string clean_join(const std::string &a, const std::string &b) {
    std::string out = a;
    for (auto &part : split(b, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            auto slash = out.find_last_of('/');
            out.erase(slash == std::string::npos || slash == 0 ? 1 : slash);
            continue;
        }
        if (out.empty() || out.back() != '/') out += '/';
        out += part;
    }
    return out.empty() ? "/" : out;
}

}  // namespace

long long visible_mount_id(const std::string &path) {
    struct statx st{};
    if (::statx(AT_FDCWD, path.c_str(), AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_MNT_ID, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? kNoPath : -1;
    if (!(st.stx_mask & STATX_MNT_ID)) return -1;  // before Linux 5.8
    return static_cast<long long>(st.stx_mnt_id);
}

const std::vector<Hierarchy> &hierarchies() {
    static const std::vector<Hierarchy> h = [] {
        std::string mountinfo, proc_cgroup;
        try_read_file("/proc/self/mountinfo", mountinfo);
        try_read_small_file(AT_FDCWD, "/proc/self/cgroup", proc_cgroup);  // one record: one read
        return parse_hierarchies(mountinfo, proc_cgroup, visible_mount_id);
    }();
    return h;
}

Options options_for(const spec::Spec &spec, const std::string &id, bool systemd, const std::string &rootless) {
    Options o;
    o.cgroups_path = spec.linux ? spec.linux->cgroupsPath : "";
    o.id = id;
    o.systemd = systemd;
    o.rootless = rootless == "true" || (rootless == "auto" && ::geteuid() != 0);
    o.annotations = spec.annotations;
    return o;
}

std::vector<std::pair<std::string, std::string>> parse_proc_cgroup(const std::string &text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto &line : split(text, '\n')) {
        auto first = line.find(':');
        auto second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        for (auto &c : split(std::string_view(line).substr(first + 1, second - first - 1), ','))
            out.emplace_back(c, line.substr(second + 1));
    }
    return out;
}

const char *driver_name(Driver d) {
    switch (d) {
    case Driver::v1: return "v1";
    case Driver::hybrid: return "hybrid";
    case Driver::v2: return "v2";
    case Driver::systemd: return "systemd";
    case Driver::none: break;
    }
    return "";
}

Driver driver_from(std::string_view name) {
    for (Driver d : {Driver::v1, Driver::hybrid, Driver::v2, Driver::systemd})
        if (name == driver_name(d)) return d;
    return Driver::none;
}

Layout layout_of(const std::vector<Hierarchy> &hs) {
    if (hs.empty()) return Layout::none;
    bool v1 = false, v2 = false;
    for (auto &h : hs) (h.v2 ? v2 : v1) = true;
    return v1 ? (v2 ? Layout::hybrid : Layout::v1) : Layout::v2;
}

bool has_controller(const Hierarchy &h, std::string_view c) {
    for (auto &x : split(h.controllers, ','))
        if (x == c) return true;
    return false;
}

std::string relative_path(const Hierarchy &h, const std::string &cgroups_path, const std::string &id, bool pure_v2) {
    if (!cgroups_path.empty() && cgroups_path[0] == '/') return clean_join("/", cgroups_path);
    // runc on a pure v2 host: our own cgroup holds processes (us), so no
    // controller can be enabled below it; its parent is used instead.
    std::string base = pure_v2 ? clean_join(h.own, "..") : h.own;
    return clean_join(base, cgroups_path.empty() ? id : cgroups_path);
}

}  // namespace kiln::cgroups
