// Control groups behind one interface. This first cut drives cgroupfs
// directly: pure v1, hybrid (v1 controllers + cgroup2 at .../unified) and
// pure v2. The layout is read once per process from /proc/self/mountinfo.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "kiln/json.hpp"
#include "kiln/spec.hpp"

namespace kiln::cgroups {

struct Hierarchy {
    std::string mount;        // /sys/fs/cgroup/memory
    std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd", "" for cgroup2
    bool v2 = false;
    std::string own;  // this process's cgroup in the hierarchy ("/")
};

const std::vector<Hierarchy> &hierarchies();

// Where a container's cgroup lives, relative to each hierarchy's root:
// absolute cgroupsPath as given; relative to kiln's own cgroup otherwise;
// empty -> <own>/<id> (runc's default).
std::string relative_path(const Hierarchy &h, const std::string &cgroups_path, const std::string &id);

// The container's cgroup: one directory per hierarchy.
struct Cgroup {
    std::vector<std::string> dirs;  // absolute

    // Creates the directories (cpuset values copied down in v1) and applies
    // resources. On error removes what it created and throws.
    static Cgroup create(const std::string &cgroups_path, const std::string &id, const spec::Resources *res);
    void add_pid(pid_t pid) const;
    // Writes resource values; `update` leaves the device rules alone.
    void apply(const spec::Resources &res, bool devices = true) const;
    // Pids in the cgroup (first hierarchy that has cgroup.procs).
    std::vector<pid_t> pids() const;
    bool frozen() const;
    // How many times the kernel's OOM killer struck in the cgroup.
    unsigned long long oom_kills() const;
    // runc's stats `data` object (cpu, memory, pids, blkio, hugetlb).
    // With init_pid > 0, network_interfaces come from its network namespace.
    void stats(json::Writer &w, int init_pid = 0) const;
    // Freezes or thaws and waits until the kernel says it is done.
    void freeze(bool on) const;
    // Removes the directories, retrying while processes drain (EBUSY).
    void destroy() const;
};

}  // namespace kiln::cgroups
