#include "cgroups/cgroup.hpp"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

std::vector<Hierarchy> detect() {
    std::vector<Hierarchy> out;
    std::string mountinfo, proc_cgroup;
    try_read_file("/proc/self/mountinfo", mountinfo);
    try_read_file("/proc/self/cgroup", proc_cgroup);
    for (auto &line : split(mountinfo, '\n')) {
        // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto tail = split(std::string_view(line).substr(dash + 3), ' ');
        if (tail.size() < 3 || (tail[0] != "cgroup" && tail[0] != "cgroup2")) continue;
        auto head = split(std::string_view(line).substr(0, dash), ' ');
        if (head.size() < 5 || head[3] != "/") continue;  // a bind of a sub-cgroup: not ours to manage
        Hierarchy h;
        h.mount = head[4];
        h.v2 = tail[0] == "cgroup2";
        if (!h.v2) h.controllers = v1_controllers(tail[2]);
        h.own = own_cgroup(proc_cgroup, h);
        out.push_back(std::move(h));
    }
    return out;
}

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

bool has_controller(const Hierarchy &h, std::string_view c) {
    for (auto &x : split(h.controllers, ','))
        if (x == c) return true;
    return false;
}

// mkdir each missing level below the hierarchy root; in v1 cpuset a new
// level starts with empty cpus/mems and must inherit its parent's.
void make_dirs(const Hierarchy &h, const std::string &rel, std::vector<std::string> &created) {
    bool cpuset = !h.v2 && has_controller(h, "cpuset");
    std::string dir = h.mount;
    for (auto &part : split(rel, '/')) {
        if (part.empty()) continue;
        std::string parent = dir;
        dir += "/" + part;
        if (::mkdir(dir.c_str(), 0755) < 0) {
            if (errno == EEXIST) continue;
            throw_errno("mkdir " + dir);
        }
        created.push_back(dir);
        if (!cpuset) continue;
        for (const char *f : {"/cpuset.cpus", "/cpuset.mems"}) {
            std::string v;
            if (try_read_file(dir + f, v) && v != "\n" && !v.empty()) continue;
            write_file(dir + f, read_file(parent + f));
        }
    }
}

struct Writer {
    const std::string &dir;
    void operator()(const char *file, const std::string &value) const { write_file(dir + "/" + file, value); }
};

std::string device_rule(const spec::DeviceRule &r) {
    auto num = [](const std::optional<int64_t> &v) { return v && *v >= 0 ? std::to_string(*v) : std::string("*"); };
    std::string type = r.type.empty() ? "a" : r.type;
    if (type == "a") return "a";
    return type + " " + num(r.major) + ":" + num(r.minor) + " " + (r.access.empty() ? "rwm" : r.access);
}

// Devices every container gets (runc's default allow list).
const char *const kDefaultAllow[] = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
                                     "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm"};

void apply_v1(const Hierarchy &h, const std::string &dir, const spec::Resources &r, bool devices = true) {
    Writer w{dir};
    if (has_controller(h, "memory") && r.memory) {
        auto &m = *r.memory;
        // memsw must stay >= the limit: raising both means swap first.
        if (m.limit && m.swap) {
            try {
                w("memory.limit_in_bytes", std::to_string(*m.limit));
            } catch (const Error &) {
                w("memory.memsw.limit_in_bytes", std::to_string(*m.swap));
                w("memory.limit_in_bytes", std::to_string(*m.limit));
            }
        } else if (m.limit) {
            w("memory.limit_in_bytes", std::to_string(*m.limit));
        }
        if (m.reservation) w("memory.soft_limit_in_bytes", std::to_string(*m.reservation));
        if (m.swap) w("memory.memsw.limit_in_bytes", std::to_string(*m.swap));
        if (m.swappiness && *m.swappiness <= 100) w("memory.swappiness", std::to_string(*m.swappiness));
        if (m.disableOOMKiller && *m.disableOOMKiller) w("memory.oom_control", "1");
        if (m.kernelTCP) w("memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernelTCP));
    }
    if (has_controller(h, "cpu") && r.cpu) {
        auto &c = *r.cpu;
        if (c.shares && *c.shares) w("cpu.shares", std::to_string(*c.shares));
        if (c.period && *c.period) w("cpu.cfs_period_us", std::to_string(*c.period));
        if (c.quota && *c.quota) w("cpu.cfs_quota_us", std::to_string(*c.quota));
        if (c.realtimePeriod && *c.realtimePeriod) w("cpu.rt_period_us", std::to_string(*c.realtimePeriod));
        if (c.realtimeRuntime && *c.realtimeRuntime) w("cpu.rt_runtime_us", std::to_string(*c.realtimeRuntime));
    }
    if (has_controller(h, "cpuset") && r.cpu) {
        if (!r.cpu->cpus.empty()) w("cpuset.cpus", r.cpu->cpus);
        if (!r.cpu->mems.empty()) w("cpuset.mems", r.cpu->mems);
    }
    if (has_controller(h, "pids") && r.pids && r.pids->limit)
        w("pids.max", *r.pids->limit > 0 ? std::to_string(*r.pids->limit) : "max");
    if (has_controller(h, "blkio") && r.blockIO) {
        auto &b = *r.blockIO;
        auto dev = [](int64_t ma, int64_t mi) { return std::to_string(ma) + ":" + std::to_string(mi) + " "; };
        // 0 means "not set" (runc); BFQ kernels name the file blkio.bfq.weight.
        if (b.weight && *b.weight) {
            bool bfq = ::access((dir + "/blkio.weight").c_str(), F_OK) < 0 &&
                       ::access((dir + "/blkio.bfq.weight").c_str(), F_OK) == 0;
            w(bfq ? "blkio.bfq.weight" : "blkio.weight", std::to_string(*b.weight));
        }
        if (b.leafWeight && *b.leafWeight) w("blkio.leaf_weight", std::to_string(*b.leafWeight));
        for (auto &d : b.weightDevice) {
            if (d.weight) w("blkio.weight_device", dev(d.major, d.minor) + std::to_string(*d.weight));
            if (d.leafWeight) w("blkio.leaf_weight_device", dev(d.major, d.minor) + std::to_string(*d.leafWeight));
        }
        auto throttle = [&](const char *f, const std::vector<spec::ThrottleDevice> &v) {
            for (auto &d : v) w(f, dev(d.major, d.minor) + std::to_string(d.rate));
        };
        throttle("blkio.throttle.read_bps_device", b.throttleReadBpsDevice);
        throttle("blkio.throttle.write_bps_device", b.throttleWriteBpsDevice);
        throttle("blkio.throttle.read_iops_device", b.throttleReadIOPSDevice);
        throttle("blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice);
    }
    if (has_controller(h, "hugetlb"))
        for (auto &hp : r.hugepageLimits) w(("hugetlb." + hp.pageSize + ".limit_in_bytes").c_str(), std::to_string(hp.limit));
    if (has_controller(h, "net_cls") && r.network && r.network->classID)
        w("net_cls.classid", std::to_string(*r.network->classID));
    if (has_controller(h, "net_prio") && r.network)
        for (auto &p : r.network->priorities) w("net_prio.ifpriomap", p.name + " " + std::to_string(p.priority));
    if (devices && has_controller(h, "devices")) {
        w("devices.deny", "a");
        for (auto &rule : r.devices) w(rule.allow ? "devices.allow" : "devices.deny", device_rule(rule));
        for (auto *rule : kDefaultAllow) w("devices.allow", rule);
    }
}

void apply_v2(const std::string &dir, const spec::Resources &r) {
    Writer w{dir};
    auto exists = [&](const char *f) { return ::access((dir + "/" + f).c_str(), F_OK) == 0; };
    if (r.memory && exists("memory.max")) {
        auto &m = *r.memory;
        auto val = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
        if (m.limit) w("memory.max", val(*m.limit));
        if (m.reservation) w("memory.low", val(*m.reservation));
        if (m.swap && m.limit && *m.swap > 0) w("memory.swap.max", std::to_string(*m.swap - *m.limit));
        else if (m.swap && *m.swap < 0) w("memory.swap.max", "max");
    }
    if (r.cpu && exists("cpu.max")) {
        auto &c = *r.cpu;
        // cgroup v2 weight from v1 shares, the conversion runc and crun share.
        if (c.shares && *c.shares) w("cpu.weight", std::to_string(1 + ((*c.shares - 2) * 9999) / 262142));
        if ((c.quota && *c.quota) || (c.period && *c.period))
            w("cpu.max", (c.quota && *c.quota > 0 ? std::to_string(*c.quota) : std::string("max")) + " " +
                             std::to_string(c.period && *c.period ? *c.period : 100000));
        if (c.idle) w("cpu.idle", std::to_string(*c.idle));
    }
    if (r.cpu && exists("cpuset.cpus")) {
        if (!r.cpu->cpus.empty()) w("cpuset.cpus", r.cpu->cpus);
        if (!r.cpu->mems.empty()) w("cpuset.mems", r.cpu->mems);
    }
    if (r.pids && r.pids->limit && exists("pids.max"))
        w("pids.max", *r.pids->limit > 0 ? std::to_string(*r.pids->limit) : "max");
    if (exists("hugetlb.2MB.max") || !r.hugepageLimits.empty())
        for (auto &hp : r.hugepageLimits) w(("hugetlb." + hp.pageSize + ".max").c_str(), std::to_string(hp.limit));
    for (auto &[k, v] : r.unified) {
        if (k.find('/') != std::string::npos || k == "." || k == "..")
            throw Error("linux.resources.unified: invalid key \"" + k + "\"");
        w(k.c_str(), v);
    }
}

}  // namespace

const std::vector<Hierarchy> &hierarchies() {
    static const std::vector<Hierarchy> h = detect();
    return h;
}

std::string relative_path(const Hierarchy &h, const std::string &cgroups_path, const std::string &id) {
    if (cgroups_path.empty()) return clean_join(h.own, id);
    if (cgroups_path[0] == '/') return clean_join("/", cgroups_path);
    return clean_join(h.own, cgroups_path);
}

Cgroup Cgroup::create(const std::string &cgroups_path, const std::string &id, const spec::Resources *res) {
    Cgroup cg;
    std::vector<std::string> created;
    auto &hs = hierarchies();
    // On a hybrid host the cgroup2 mount is only joined, as runc does: its
    // controllers are not delegated to children, so there is nothing to set.
    bool hybrid = hs.size() > 1;
    try {
        for (auto &h : hs) {
            std::string rel = relative_path(h, cgroups_path, id);
            make_dirs(h, rel, created);
            cg.dirs.push_back(h.mount + (rel == "/" ? "" : rel));
            if (!res) continue;
            if (!h.v2) apply_v1(h, cg.dirs.back(), *res);
            else if (!hybrid) apply_v2(cg.dirs.back(), *res);
        }
    } catch (...) {
        // Remove every level we made, deepest first.
        for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
        throw;
    }
    return cg;
}

void Cgroup::apply(const spec::Resources &res, bool devices) const {
    auto &hs = hierarchies();
    bool hybrid = hs.size() > 1;
    for (size_t i = 0; i < dirs.size() && i < hs.size(); i++) {
        if (!hs[i].v2) apply_v1(hs[i], dirs[i], res, devices);
        else if (!hybrid) apply_v2(dirs[i], res);
    }
}

void Cgroup::add_pid(pid_t pid) const {
    std::string p = std::to_string(pid);
    for (auto &d : dirs) write_file(d + "/cgroup.procs", p);
}

std::vector<pid_t> Cgroup::pids() const {
    std::vector<pid_t> out;
    for (auto &d : dirs) {
        std::string text;
        if (!try_read_file(d + "/cgroup.procs", text)) continue;
        for (auto &line : split(text, '\n'))
            if (!line.empty()) out.push_back(static_cast<pid_t>(std::stol(line)));
        break;
    }
    return out;
}

bool Cgroup::frozen() const {
    for (auto &d : dirs) {
        std::string v;
        if (try_read_file(d + "/freezer.state", v)) return v.rfind("FROZEN", 0) == 0 || v.rfind("FREEZING", 0) == 0;
        if (try_read_file(d + "/cgroup.freeze", v)) return v.rfind("1", 0) == 0;
    }
    return false;
}

void Cgroup::freeze(bool on) const {
    for (auto &d : dirs) {
        std::string v1 = d + "/freezer.state", v2 = d + "/cgroup.freeze", now;
        bool is_v1 = ::access(v1.c_str(), F_OK) == 0;
        if (!is_v1 && ::access(v2.c_str(), F_OK) < 0) continue;
        write_file(is_v1 ? v1 : v2, is_v1 ? (on ? "FROZEN" : "THAWED") : (on ? "1" : "0"));
        // v1 passes through FREEZING while tasks stop; v2 reports "frozen 1" in cgroup.events.
        for (int tries = 0; tries < 1000; tries++) {
            if (is_v1) {
                if (try_read_file(v1, now) && now.rfind(on ? "FROZEN" : "THAWED", 0) == 0) return;
            } else {
                if (try_read_file(d + "/cgroup.events", now) &&
                    now.find(on ? "frozen 1" : "frozen 0") != std::string::npos)
                    return;
            }
            struct timespec ts{0, 1'000'000};
            ::nanosleep(&ts, nullptr);
        }
        throw Error(std::string("timed out waiting for the cgroup to ") + (on ? "freeze" : "thaw"));
    }
    throw Error("the container has no freezer cgroup");
}

void Cgroup::destroy() const {
    for (auto &d : dirs) {
        // A process that was just killed leaves the cgroup a little later.
        for (int tries = 0; tries < 500; tries++) {
            if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
            if (errno != EBUSY) break;
            struct timespec ts{0, 2'000'000};
            ::nanosleep(&ts, nullptr);
        }
    }
}

}  // namespace kiln::cgroups
