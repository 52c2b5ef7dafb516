// cgroup v1 writers: one hierarchy's files from linux.resources, in runc's
// order and with its rules (memory before/after memsw, 0 = unset, ...).
#include <cerrno>
#include <string>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/fs.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::cgroups {
namespace {

std::string num(int64_t v) { return std::to_string(v); }

// "" when the rule changes nothing (an access without r, w or m).
std::string device_rule(const spec::DeviceRule &r) {
    auto n = [](const std::optional<int64_t> &v) { return v && *v >= 0 ? std::to_string(*v) : std::string("*"); };
    std::string type = r.type.empty() ? "a" : r.type;
    if (type == "a") return "a";
    std::string access = device_access(r.access);
    return access.empty() ? "" : type + " " + n(r.major) + ":" + n(r.minor) + " " + access;
}

// runc refuses to set a limit below what the cgroup already uses when
// checkBeforeUpdate is true.
void check_usage(const std::string &dir, const char *file, int64_t limit) {
    std::string v;
    if (limit <= 0 || !read(dir + "/" + file, v)) return;
    unsigned long long usage = std::strtoull(v.c_str(), nullptr, 10);
    if (static_cast<unsigned long long>(limit) < usage)
        throw Error("rejecting memory limit " + num(limit) + " below usage " + std::to_string(usage));
}

void memory(const std::string &dir, const spec::Memory &m, bool update) {
    int64_t limit = m.limit.value_or(0), swap = m.swap.value_or(0);
    if (update && m.checkBeforeUpdate.value_or(false)) check_usage(dir, "memory.usage_in_bytes", limit);
    bool memsw = exists(dir, "memory.memsw.limit_in_bytes");
    // Unlimited memory with swap unset means unlimited swap too (where accounted).
    if (limit == -1 && swap == 0 && memsw) swap = -1;
    if (swap != 0 && !memsw) throw Error("linux.resources.memory.swap: the kernel has no swap accounting (memory.memsw.limit_in_bytes)");
    // memsw must stay >= the limit: raising both means memsw first.
    bool swap_first = false;
    if (limit != 0 && swap != 0) {
        std::string cur;
        read(dir + "/memory.limit_in_bytes", cur);
        swap_first = swap == -1 || std::strtoull(cur.c_str(), nullptr, 10) < static_cast<unsigned long long>(swap);
    }
    if (swap_first) write(dir, "memory.memsw.limit_in_bytes", num(swap));
    if (limit != 0) write(dir, "memory.limit_in_bytes", num(limit));
    if (swap != 0 && !swap_first) write(dir, "memory.memsw.limit_in_bytes", num(swap));
    if (m.reservation && *m.reservation) write(dir, "memory.soft_limit_in_bytes", num(*m.reservation));
    // Kernel memory limits are gone from recent kernels; runc ignores them.
    if (m.kernel && *m.kernel && exists(dir, "memory.kmem.limit_in_bytes")) {
        try {
            write(dir, "memory.kmem.limit_in_bytes", num(*m.kernel));
        } catch (const Error &) {
        }
    }
    if (m.kernelTCP && *m.kernelTCP) write(dir, "memory.kmem.tcp.limit_in_bytes", num(*m.kernelTCP));
    if (m.swappiness) {
        if (*m.swappiness > 100)
            throw Error("invalid value:" + std::to_string(*m.swappiness) + ". valid memory swappiness range is 0-100");
        write(dir, "memory.swappiness", std::to_string(*m.swappiness));
    }
    if (m.disableOOMKiller && *m.disableOOMKiller) write(dir, "memory.oom_control", "1");
}

void cpu(const std::string &dir, const spec::Cpu &c) {
    if (c.shares && *c.shares) write(dir, "cpu.shares", std::to_string(*c.shares));
    // Period, then quota, as runc. A shorter period can be refused (EINVAL)
    // because old quota / new period exceeds the parent's limit: then the
    // quota goes first and the period after it.
    bool quota = c.quota && *c.quota, period_later = false;
    if (c.period && *c.period) {
        try {
            write(dir, "cpu.cfs_period_us", std::to_string(*c.period));
        } catch (const Error &e) {
            if (e.code() != EINVAL || !quota) throw;
            period_later = true;
        }
    }
    if (quota) write(dir, "cpu.cfs_quota_us", num(*c.quota));
    if (period_later) write(dir, "cpu.cfs_period_us", std::to_string(*c.period));
    if (c.burst) write(dir, "cpu.cfs_burst_us", std::to_string(*c.burst));
    if (c.realtimePeriod && *c.realtimePeriod) write(dir, "cpu.rt_period_us", std::to_string(*c.realtimePeriod));
    if (c.realtimeRuntime && *c.realtimeRuntime) write(dir, "cpu.rt_runtime_us", num(*c.realtimeRuntime));
    if (c.idle) write(dir, "cpu.idle", num(*c.idle));
}

std::string dev(int64_t major, int64_t minor) { return num(major) + ":" + num(minor) + " "; }

void blkio(const std::string &dir, const spec::BlockIO &b) {
    // 0 means "not set" (runc); BFQ kernels name the file blkio.bfq.weight.
    bool bfq = !exists(dir, "blkio.weight") && exists(dir, "blkio.bfq.weight");
    if (b.weight && *b.weight) write(dir, bfq ? "blkio.bfq.weight" : "blkio.weight", std::to_string(*b.weight));
    if (b.leafWeight && *b.leafWeight) write(dir, "blkio.leaf_weight", std::to_string(*b.leafWeight));
    for (auto &d : b.weightDevice) {
        if (d.weight) write(dir, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device", dev(d.major, d.minor) + std::to_string(*d.weight));
        if (d.leafWeight) write(dir, "blkio.leaf_weight_device", dev(d.major, d.minor) + std::to_string(*d.leafWeight));
    }
    auto throttle = [&](const char *f, const std::vector<spec::ThrottleDevice> &v) {
        for (auto &d : v) write(dir, f, dev(d.major, d.minor) + std::to_string(d.rate));
    };
    throttle("blkio.throttle.read_bps_device", b.throttleReadBpsDevice);
    throttle("blkio.throttle.write_bps_device", b.throttleWriteBpsDevice);
    throttle("blkio.throttle.read_iops_device", b.throttleReadIOPSDevice);
    throttle("blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice);
}

// Devices every container gets after its own rules (runc's AllowedDevices).
const char *const kDefaultAllow[] = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
                                     "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm"};

// "a" denied first, then the spec's rules, then the defaults. Each run of
// rules to one file goes through one open (12 opens for the default spec
// become 2), and a rule equal to the one just before it in that file is
// left out (the default spec's own "deny a").
void write_device_rules(const std::string &dir, const std::vector<spec::DeviceRule> &rules) {
    std::vector<std::pair<std::string, std::string>> seq{{"devices.deny", "a"}};
    for (auto &rule : rules)
        if (std::string d = device_rule(rule); !d.empty()) seq.emplace_back(rule.allow ? "devices.allow" : "devices.deny", d);
    for (auto *rule : kDefaultAllow) seq.emplace_back("devices.allow", rule);
    for (size_t i = 0; i < seq.size();) {
        std::vector<std::string> run;
        size_t j = i;
        for (; j < seq.size() && seq[j].first == seq[i].first; j++)
            if (run.empty() || run.back() != seq[j].second) run.push_back(seq[j].second);
        files().write_each(dir, seq[i].first, run);
        i = j;
    }
}

}  // namespace

std::string rdma_line(const std::string &device, const spec::Rdma &r) {
    std::string line = device;
    line += " hca_handle=" + (r.hcaHandles ? std::to_string(*r.hcaHandles) : std::string("max"));
    line += " hca_object=" + (r.hcaObjects ? std::to_string(*r.hcaObjects) : std::string("max"));
    return line;
}

void write_v1(const Hierarchy &h, const std::string &dir, const spec::Resources &r, bool update) {
    if (has_controller(h, "memory") && r.memory) memory(dir, *r.memory, update);
    if (has_controller(h, "cpu") && r.cpu) cpu(dir, *r.cpu);
    if (has_controller(h, "cpuset") && r.cpu) {
        if (!r.cpu->cpus.empty()) write(dir, "cpuset.cpus", r.cpu->cpus);
        if (!r.cpu->mems.empty()) write(dir, "cpuset.mems", r.cpu->mems);
    }
    if (has_controller(h, "pids") && r.pids && r.pids->limit)
        write(dir, "pids.max", *r.pids->limit > 0 ? num(*r.pids->limit) : "max");
    if (has_controller(h, "blkio") && r.blockIO) blkio(dir, *r.blockIO);
    if (has_controller(h, "hugetlb"))
        for (auto &hp : r.hugepageLimits) {
            write(dir, "hugetlb." + hp.pageSize + ".limit_in_bytes", std::to_string(hp.limit));
            // Reservations too where the kernel accounts them (5.7+).
            if (exists(dir, "hugetlb." + hp.pageSize + ".rsvd.limit_in_bytes"))
                write(dir, "hugetlb." + hp.pageSize + ".rsvd.limit_in_bytes", std::to_string(hp.limit));
        }
    if (has_controller(h, "net_cls") && r.network && r.network->classID)
        write(dir, "net_cls.classid", std::to_string(*r.network->classID));
    if (has_controller(h, "net_prio") && r.network)
        for (auto &p : r.network->priorities) write(dir, "net_prio.ifpriomap", p.name + " " + std::to_string(p.priority));
    if (has_controller(h, "rdma"))
        for (auto &[device, limit] : r.rdma) write(dir, "rdma.max", rdma_line(device, limit));
    if (!update && has_controller(h, "devices")) {
        write_device_rules(dir, r.devices);
    }
}

}  // namespace kiln::cgroups
