// cgroup v2 writers: the unified hierarchy's files from linux.resources with
// runc's conversions (shares -> weight, memory+swap -> swap, blkio -> io).
#include <string>

#include "cgroups/fs.hpp"
#include "kiln/error.hpp"
#include "util/fd.hpp"

namespace kiln::cgroups {
namespace {

// runc's numToStr: 0 is unset, -1 is "max".
std::string v2_num(int64_t v) { return v == 0 ? "" : v < 0 ? "max" : std::to_string(v); }

void memory(const std::string &dir, const spec::Memory &m, bool update) {
    int64_t limit = m.limit.value_or(0), swap_total = m.swap.value_or(0);
    if (update && m.checkBeforeUpdate.value_or(false) && limit > 0) {
        std::string v;
        if (read(dir + "/memory.current", v) &&
            static_cast<unsigned long long>(limit) < std::strtoull(v.c_str(), nullptr, 10))
            throw Error("rejecting memory limit " + std::to_string(limit) + " below usage " +
                        std::to_string(std::strtoull(v.c_str(), nullptr, 10)));
    }
    int64_t swap = swap_to_v2(swap_total, limit);
    std::string s = v2_num(swap);
    // memory and memory+swap equal: no swap at all.
    if (s.empty() && swap == 0 && swap_total > 0) s = "0";
    if (!s.empty()) {
        if (!exists(dir, "memory.swap.max"))
            throw Error("linux.resources.memory.swap: the kernel has no swap accounting (memory.swap.max)");
        write(dir, "memory.swap.max", s);
    }
    if (auto v = v2_num(limit); !v.empty()) write(dir, "memory.max", v);
    if (auto v = v2_num(m.reservation.value_or(0)); !v.empty()) write(dir, "memory.low", v);
    // swappiness, kernel and disableOOMKiller have no v2 files: ignored like runc.
}

void cpu(const std::string &dir, const spec::Cpu &c) {
    if (c.idle) write(dir, "cpu.idle", std::to_string(*c.idle));
    if (uint64_t w = shares_to_weight(c.shares.value_or(0))) write(dir, "cpu.weight", std::to_string(w));
    int64_t quota = c.quota.value_or(0);
    uint64_t period = c.period.value_or(0);
    if (quota != 0 || period != 0) {
        std::string v = quota > 0 ? std::to_string(quota) : "max";
        v += " " + std::to_string(period ? period : 100000);
        write(dir, "cpu.max", v);
    }
    if (c.burst) write(dir, "cpu.max.burst", std::to_string(*c.burst));
    if (!c.cpus.empty()) write(dir, "cpuset.cpus", c.cpus);
    if (!c.mems.empty()) write(dir, "cpuset.mems", c.mems);
}

void io(const std::string &dir, const spec::BlockIO &b) {
    auto dev = [](int64_t ma, int64_t mi) { return std::to_string(ma) + ":" + std::to_string(mi); };
    // BFQ takes blkio's 10..1000 scale as is; otherwise io.weight's 1..10000.
    bool bfq = exists(dir, "io.bfq.weight");
    if (b.weight && *b.weight) {
        if (bfq) write(dir, "io.bfq.weight", std::to_string(*b.weight));
        else write(dir, "io.weight", std::to_string(blkio_to_io_weight(*b.weight)));
    }
    if (bfq)
        for (auto &d : b.weightDevice)
            if (d.weight) write(dir, "io.bfq.weight", dev(d.major, d.minor) + " " + std::to_string(*d.weight));
    auto throttle = [&](const char *key, const std::vector<spec::ThrottleDevice> &v) {
        for (auto &d : v) write(dir, "io.max", dev(d.major, d.minor) + " " + key + "=" + std::to_string(d.rate));
    };
    throttle("rbps", b.throttleReadBpsDevice);
    throttle("wbps", b.throttleWriteBpsDevice);
    throttle("riops", b.throttleReadIOPSDevice);
    throttle("wiops", b.throttleWriteIOPSDevice);
}

}  // namespace

uint64_t shares_to_weight(uint64_t shares) { return shares == 0 ? 0 : 1 + ((shares - 2) * 9999) / 262142; }

uint64_t blkio_to_io_weight(uint16_t weight) { return weight == 0 ? 0 : 1 + (uint64_t(weight) - 10) * 9999 / 990; }

int64_t swap_to_v2(int64_t swap, int64_t memory) {
    if (memory == -1 && swap == 0) return -1;
    if (swap == -1 || swap == 0) return swap;
    if (memory == 0 || memory == -1)
        throw Error("linux.resources.memory.swap: unable to set swap limit without memory limit");
    if (memory < 0) throw Error("linux.resources.memory.limit: invalid memory value: " + std::to_string(memory));
    if (swap < memory) throw Error("linux.resources.memory.swap: memory+swap limit should be >= memory limit");
    return swap - memory;
}

void write_v2(const std::string &dir, const spec::Resources &r, bool update) {
    if (r.pids && r.pids->limit) write(dir, "pids.max", *r.pids->limit > 0 ? std::to_string(*r.pids->limit) : "max");
    if (r.memory) memory(dir, *r.memory, update);
    if (r.blockIO) io(dir, *r.blockIO);
    if (r.cpu) cpu(dir, *r.cpu);
    for (auto &hp : r.hugepageLimits) {
        write(dir, "hugetlb." + hp.pageSize + ".max", std::to_string(hp.limit));
        if (exists(dir, "hugetlb." + hp.pageSize + ".rsvd.max"))
            write(dir, "hugetlb." + hp.pageSize + ".rsvd.max", std::to_string(hp.limit));
    }
    for (auto &[device, limit] : r.rdma) write(dir, "rdma.max", rdma_line(device, limit));
    for (auto &[k, v] : r.unified) {
        if (k.find('/') != std::string::npos || k.empty() || k == "." || k == "..")
            throw Error("linux.resources.unified: key \"" + k + "\" must be a file name (no slashes)");
        if (!exists(dir, k)) {
            auto dot = k.find('.');
            throw Error("linux.resources.unified: \"" + k + "\": no such cgroup file (is the " +
                        k.substr(0, dot) + " controller available?)");
        }
        write(dir, k, v);
    }
}

void enable_controllers(const std::string &mount, const std::string &rel) {
    std::string dir = mount;
    std::vector<std::string> parts;
    for (size_t start = 0; start <= rel.size();) {
        size_t end = rel.find('/', start);
        if (end == std::string::npos) end = rel.size();
        if (end > start) parts.push_back(rel.substr(start, end - start));
        start = end + 1;
    }
    for (size_t i = 0; i < parts.size(); i++) {
        std::string avail;
        if (read(dir + "/cgroup.controllers", avail)) {
            std::string all;
            size_t pos = 0;
            while (pos < avail.size()) {
                size_t end = avail.find_first_of(" \n", pos);
                if (end == std::string::npos) end = avail.size();
                if (end > pos) all += (all.empty() ? "+" : " +") + avail.substr(pos, end - pos);
                pos = end + 1;
            }
            // One by one when the whole set is refused (a controller busy or threaded).
            if (!all.empty()) {
                try {
                    write(dir, "cgroup.subtree_control", all);
                } catch (const Error &) {
                    size_t p = 0;
                    while (p < all.size()) {
                        size_t e = all.find(' ', p);
                        if (e == std::string::npos) e = all.size();
                        try {
                            write(dir, "cgroup.subtree_control", all.substr(p, e - p));
                        } catch (const Error &) {
                        }
                        p = e + 1;
                    }
                }
            }
        }
        dir += "/" + parts[i];
    }
}

}  // namespace kiln::cgroups
