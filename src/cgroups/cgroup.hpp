// Control groups behind one interface, cgroups::Manager, with drivers for
// cgroup v1 (cgroupfs, also the hybrid layout), v2 (unified) and systemd
// (a transient unit over sd-bus, libsystemd loaded only when asked for).
// The layout is read once per process from /proc/self/mountinfo.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/json.hpp"
#include "util/fd.hpp"
#include "kiln/spec.hpp"

namespace kiln::cgroups {

struct Hierarchy {
    std::string mount;        // /sys/fs/cgroup/memory
    std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd", "" for cgroup2
    bool v2 = false;
    std::string own;  // this process's cgroup in the hierarchy ("/")
};

// The mount id (mountinfo's first field) of the mount visible at a path;
// -1 when the kernel does not say, kNoPath when nothing is there (a tmpfs
// over /sys/fs/cgroup without the directory).
constexpr long long kNoPath = -2;
using VisibleMount = std::function<long long(const std::string &path)>;
long long visible_mount_id(const std::string &path);

// The mounted hierarchies from mountinfo and /proc/self/cgroup text; those
// covered by another mount at their mount point are left out.
std::vector<Hierarchy> parse_hierarchies(const std::string &mountinfo, const std::string &proc_cgroup,
                                         const VisibleMount &visible = nullptr);
// This host's, detected once.
const std::vector<Hierarchy> &hierarchies();

enum class Layout { none, v1, hybrid, v2 };
Layout layout_of(const std::vector<Hierarchy> &hs);

bool has_controller(const Hierarchy &h, std::string_view c);

// Where a container's cgroup lives, relative to each hierarchy's root:
// absolute cgroupsPath as given; relative to kiln's own cgroup otherwise
// (to its parent on a pure v2 host); empty -> <own>/<id> (runc's default).
std::string relative_path(const Hierarchy &h, const std::string &cgroups_path, const std::string &id,
                          bool pure_v2 = false);

// Which driver made a container's cgroup: cgroupfs on a v1, hybrid or v2
// layout, or systemd (a transient unit); none: no cgroup.
enum class Driver { none, v1, hybrid, v2, systemd };
const char *driver_name(Driver d);  // "", "v1", "hybrid", "v2", "systemd"
Driver driver_from(std::string_view name);  // unknown names: none

// What a container's state records of its cgroup, so that kill, delete,
// pause and stats act on what create made, never on a match against the
// mounts of today. hs[i] (mount, controllers, v2) holds dirs[i].
// A record from an older kiln has dirs and no hs (a positional list):
// open() then matches the dirs against today's hierarchies as before.
struct Record {
    Driver driver = Driver::none;
    std::string unit;  // the systemd unit, "" for the cgroupfs drivers
    std::vector<Hierarchy> hs;
    std::vector<std::string> dirs;  // absolute: hs[i].mount + the container's path
    bool empty() const { return dirs.empty() && unit.empty(); }
};

// What a new container asks of its cgroup.
struct Options {
    std::string cgroups_path;  // linux.cgroupsPath
    std::string id;
    bool systemd = false;  // --systemd-cgroup
    bool rootless = false;  // carry on without cgroups when they cannot be made and no limits are asked for
    std::map<std::string, std::string> annotations;  // org.systemd.property.* for the systemd driver
};

class Manager {
public:
    virtual ~Manager() = default;
    // Makes the cgroup and sets res (may be null). The systemd driver only
    // works out its path here: its unit starts with the first pid in join().
    virtual void create(const spec::Resources *res) = 0;
    // Moves pid into the cgroup.
    virtual void join(pid_t pid) = 0;
    // Writes new limits to the live cgroup; device rules are left alone.
    virtual void update(const spec::Resources &res) = 0;
    // Freezes or thaws and waits until the kernel says it is done.
    virtual void freeze(bool on) = 0;
    virtual bool frozen() const = 0;
    // Pids in the cgroup and every cgroup below it (sorted).
    virtual std::vector<pid_t> pids() const = 0;
    // Sends sig to every process in the cgroup and below it (SIGKILL: one
    // write to the v2 cgroup.kill where the kernel has it).
    virtual void kill_all(int sig) const = 0;
    // How many times the kernel's OOM killer struck in the cgroup.
    virtual unsigned long long oom_kills() const = 0;
    // runc's stats `data` object. With init_pid > 0, network_interfaces come
    // from its network namespace.
    virtual void stats(json::Writer &w, int init_pid) const = 0;
    // Removes the cgroup, retrying while killed processes drain (about 5 s);
    // throws "remove cgroup <dir>: <why>" for a dir that stays (the caller
    // keeps the container's record for a later delete).
    virtual void destroy() = 0;
    // One absolute directory per hierarchy (empty when running without cgroups).
    virtual const std::vector<std::string> &dirs() const = 0;
    // What the container's state keeps (after create()).
    virtual Record record() const = 0;
};

// A new container's Options from its config and the global flags
// (systemd: --systemd-cgroup; rootless: true|false|auto).
Options options_for(const spec::Spec &spec, const std::string &id, bool systemd, const std::string &rootless);

// /proc/PID/cgroup as (controller, path) pairs, one per controller of each
// line ("name=systemd" as is; the v2 line's controller is ""), runc's
// ParseCgroupFile.
std::vector<std::pair<std::string, std::string>> parse_proc_cgroup(const std::string &text);

// The manager for a new container.
std::unique_ptr<Manager> make(const Options &o);
// The manager of an existing container from what its state recorded.
std::unique_ptr<Manager> open(const Record &r);
// The OOM kill count of a container's cgroup, watched: wait() wakes on each
// OOM event (v2: inotify on memory.events, which the kernel notifies at each
// event; v1: an eventfd on memory.oom_control through cgroup.event_control),
// so the count is read while the cgroup still exists, even under systemd,
// which removes a scope's cgroup as soon as its last process has died (an
// OOM-killed init). Once the cgroup is gone the last count read stays.
class OomWatch {
public:
    explicit OomWatch(const Record &r);
    OomWatch(const OomWatch &) = delete;
    OomWatch &operator=(const OomWatch &) = delete;
    // Waits up to `seconds` or until the cgroup's memory events change; the count then.
    unsigned long long wait(double seconds);
    // Reads the count now (the last one read when the file is gone).
    unsigned long long count();

private:
    std::string file_;  // memory.events or memory.oom_control; "" without a memory controller
    UniqueFd fd_;       // inotify or eventfd; -1: polling only
    UniqueFd v1_control_;  // v1: memory.oom_control, held for the eventfd registration
    unsigned long long last_ = 0;
};

// r's hierarchies; for an older kiln's record, today's, matched by position.
std::vector<Hierarchy> hierarchies_of(const Record &r);
// open(r)->destroy(), without looking up the hierarchies when no unit is named.
void destroy(const Record &r);

}  // namespace kiln::cgroups
