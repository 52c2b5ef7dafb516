// The `data` object of runc's stats event, read from the container's cgroups
// (runc's types/events.go field names: containerd and docker decode them).
#include <dirent.h>

#include <cstdio>
#include <sstream>
#include <tuple>

#include "cgroups/fs.hpp"
#include "kiln/json.hpp"
#include "util/fd.hpp"

namespace kiln::cgroups {
namespace {

unsigned long long read_u64(const std::string &path) {
    std::string v;
    if (!read(path, v) || v.rfind("max", 0) == 0) return 0;
    return std::strtoull(v.c_str(), nullptr, 10);
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
std::vector<std::pair<std::string, unsigned long long>> read_pairs(const std::string &path) {
    std::vector<std::pair<std::string, unsigned long long>> out;
    std::string text;
    if (!read(path, text)) return out;
    std::istringstream in(text);
    std::string k;
    unsigned long long v;
    while (in >> k >> v) out.emplace_back(k, v);
    return out;
}

unsigned long long pair_value(const std::vector<std::pair<std::string, unsigned long long>> &pairs, const char *key) {
    for (auto &[k, v] : pairs)
        if (k == key) return v;
    return 0;
}

// Pressure stall information (cgroup v2 cpu/memory/io.pressure, Linux
// 4.20): runc 1.2's "psi" object, {"some": {...}, "full": {...}}; left out
// where the file is absent (no cgroup v2 directory, psi=0).
void psi(json::Writer &w, const std::string *v2_dir, const char *file) {
    std::string text;
    if (!v2_dir || !read(*v2_dir + "/" + file, text)) return;
    w.key("psi").begin_object();
    std::istringstream in(text);
    std::string line;
    bool seen[2] = {false, false};
    while (std::getline(in, line)) {
        char kind[8];
        double a10, a60, a300;
        unsigned long long total;
        if (std::sscanf(line.c_str(), "%7s avg10=%lf avg60=%lf avg300=%lf total=%llu", kind, &a10, &a60, &a300, &total) != 5)
            continue;
        int i = std::string_view(kind) == "some" ? 0 : std::string_view(kind) == "full" ? 1 : -1;
        if (i < 0 || seen[i]) continue;
        seen[i] = true;
        w.key(kind).begin_object().key("avg10").real(a10).key("avg60").real(a60).key("avg300").real(a300);
        w.key("total").uinteger(total).end_object();
    }
    // Go writes both members of runc's PSIStats even when the kernel has no
    // "full" line (cpu.pressure before Linux 5.13).
    for (int i = 0; i < 2; i++) {
        if (seen[i]) continue;
        w.key(i ? "full" : "some").begin_object().key("avg10").real(0).key("avg60").real(0);
        w.key("avg300").real(0).key("total").uinteger(0).end_object();
    }
    w.end_object();
}

void usage_object(json::Writer &w, const char *key, const std::string &prefix) {
    w.key(key).begin_object();
    w.key("usage").uinteger(read_u64(prefix + "usage_in_bytes"));
    w.key("max").uinteger(read_u64(prefix + "max_usage_in_bytes"));
    w.key("failcnt").uinteger(read_u64(prefix + "failcnt"));
    w.key("limit").uinteger(read_u64(prefix + "limit_in_bytes"));
    w.end_object();
}

void v1_cpu(json::Writer &w, const std::string *cpuacct, const std::string *cpu, const std::string *v2_dir) {
    w.key("cpu").begin_object().key("usage").begin_object();
    if (cpuacct) {
        w.key("total").uinteger(read_u64(*cpuacct + "/cpuacct.usage"));
        w.key("percpu").begin_array();
        std::string text;
        read(*cpuacct + "/cpuacct.usage_percpu", text);
        std::istringstream in(text);
        unsigned long long v;
        while (in >> v) w.uinteger(v);
        w.end_array();
        // cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds.
        auto st = read_pairs(*cpuacct + "/cpuacct.stat");
        w.key("kernel").uinteger(pair_value(st, "system") * 10000000ULL);
        w.key("user").uinteger(pair_value(st, "user") * 10000000ULL);
    } else {
        w.key("kernel").uinteger(0).key("user").uinteger(0);
    }
    w.end_object();
    auto st = cpu ? read_pairs(*cpu + "/cpu.stat") : decltype(read_pairs("")){};
    w.key("throttling").begin_object();
    w.key("periods").uinteger(pair_value(st, "nr_periods"));
    w.key("throttledPeriods").uinteger(pair_value(st, "nr_throttled"));
    w.key("throttledTime").uinteger(pair_value(st, "throttled_time"));
    w.end_object();
    psi(w, v2_dir, "cpu.pressure");
    w.end_object();
}

void raw_map(json::Writer &w, const std::string &path) {
    w.key("raw").begin_object();
    for (auto &[k, v] : read_pairs(path)) w.key(k).uinteger(v);
    w.end_object();
}

void v1_blkio(json::Writer &w, const std::string &dir, const std::string *v2_dir) {
    auto entries = [&](const char *key, const char *file) {
        w.key(key).begin_array();
        std::string text;
        read(dir + "/" + file, text);
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            unsigned major, minor;
            char op[32];
            unsigned long long value;
            if (std::sscanf(line.c_str(), "%u:%u %31s %llu", &major, &minor, op, &value) != 4) continue;
            w.begin_object().key("major").uinteger(major).key("minor").uinteger(minor);
            w.key("op").string(op).key("value").uinteger(value).end_object();
        }
        w.end_array();
    };
    w.key("blkio").begin_object();
    entries("ioServiceBytesRecursive", "blkio.throttle.io_service_bytes_recursive");
    entries("ioServicedRecursive", "blkio.throttle.io_serviced_recursive");
    psi(w, v2_dir, "io.pressure");
    w.end_object();
}

void v2_stats(json::Writer &w, const std::string &dir) {
    auto cpu = read_pairs(dir + "/cpu.stat");
    w.key("cpu").begin_object().key("usage").begin_object();
    w.key("total").uinteger(pair_value(cpu, "usage_usec") * 1000);
    w.key("kernel").uinteger(pair_value(cpu, "system_usec") * 1000);
    w.key("user").uinteger(pair_value(cpu, "user_usec") * 1000);
    w.end_object().key("throttling").begin_object();
    w.key("periods").uinteger(pair_value(cpu, "nr_periods"));
    w.key("throttledPeriods").uinteger(pair_value(cpu, "nr_throttled"));
    w.key("throttledTime").uinteger(pair_value(cpu, "throttled_usec") * 1000);
    w.end_object();
    psi(w, &dir, "cpu.pressure");
    w.end_object();
    auto mem = read_pairs(dir + "/memory.stat");
    w.key("memory").begin_object();
    w.key("cache").uinteger(pair_value(mem, "file"));
    w.key("usage").begin_object().key("usage").uinteger(read_u64(dir + "/memory.current"));
    w.key("max").uinteger(read_u64(dir + "/memory.peak")).key("failcnt").uinteger(0);
    w.key("limit").uinteger(read_u64(dir + "/memory.max")).end_object();
    // memory.swap.peak: Linux 6.5 (memory.peak: 5.19); 0 where absent.
    w.key("swap").begin_object().key("usage").uinteger(read_u64(dir + "/memory.swap.current"));
    w.key("max").uinteger(read_u64(dir + "/memory.swap.peak"));
    w.key("failcnt").uinteger(0).key("limit").uinteger(read_u64(dir + "/memory.swap.max")).end_object();
    raw_map(w, dir + "/memory.stat");
    psi(w, &dir, "memory.pressure");
    w.end_object();
    w.key("pids").begin_object().key("current").uinteger(read_u64(dir + "/pids.current"));
    w.key("limit").uinteger(read_u64(dir + "/pids.max")).end_object();
    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." as runc's blkio entries.
    w.key("blkio").begin_object();
    std::string text;
    read(dir + "/io.stat", text);
    for (auto [key, read_key, write_key] : {std::tuple{"ioServiceBytesRecursive", "rbytes", "wbytes"},
                                          std::tuple{"ioServicedRecursive", "rios", "wios"}}) {
        w.key(key).begin_array();
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            unsigned major, minor;
            if (std::sscanf(line.c_str(), "%u:%u", &major, &minor) != 2) continue;
            std::istringstream f(line.substr(line.find(' ') + 1));
            std::string kv;
            while (f >> kv) {
                auto eq = kv.find('=');
                if (eq == std::string::npos) continue;
                std::string k = kv.substr(0, eq);
                const char *op = k == read_key ? "Read" : k == write_key ? "Write" : nullptr;
                if (!op) continue;
                w.begin_object().key("major").uinteger(major).key("minor").uinteger(minor);
                w.key("op").string(op).key("value").uinteger(std::strtoull(kv.c_str() + eq + 1, nullptr, 10)).end_object();
            }
        }
        w.end_array();
    }
    psi(w, &dir, "io.pressure");
    w.end_object();
}

// runc's network_interfaces (capitalised keys) from the init's view of
// /proc/net/dev, loopback left out.
void network_interfaces(json::Writer &w, int pid) {
    std::string text;
    if (!try_read_file("/proc/" + std::to_string(pid) + "/net/dev", text)) return;
    std::istringstream in(text);
    std::string line;
    w.key("network_interfaces").begin_array();
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        if (name == "lo") continue;
        std::istringstream f(line.substr(colon + 1));
        unsigned long long v[16] = {};
        for (auto &x : v) f >> x;
        // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
        w.begin_object().key("Name").string(name);
        w.key("RxBytes").uinteger(v[0]).key("RxPackets").uinteger(v[1]).key("RxErrors").uinteger(v[2]);
        w.key("RxDropped").uinteger(v[3]).key("TxBytes").uinteger(v[8]).key("TxPackets").uinteger(v[9]);
        w.key("TxErrors").uinteger(v[10]).key("TxDropped").uinteger(v[11]).end_object();
    }
    w.end_array();
}

// Huge page sizes as cgroup files name them: hugepages-2048kB -> "2MB".
std::vector<std::string> hugepage_sizes() {
    std::vector<std::string> out;
    DIR *d = ::opendir("/sys/kernel/mm/hugepages");
    if (!d) return out;
    while (auto *e = ::readdir(d)) {
        unsigned long kb;
        if (std::sscanf(e->d_name, "hugepages-%lukB", &kb) != 1) continue;
        out.push_back(kb >= 1048576 ? std::to_string(kb / 1048576) + "GB"
                      : kb >= 1024  ? std::to_string(kb / 1024) + "MB"
                                    : std::to_string(kb) + "KB");
    }
    ::closedir(d);
    return out;
}

void hugetlb(json::Writer &w, const std::string *dir, bool v2) {
    w.key("hugetlb").begin_object();
    for (auto &size : dir ? hugepage_sizes() : std::vector<std::string>{}) {
        std::string f = *dir + "/hugetlb." + size + ".";
        std::string probe;
        if (!read(f + (v2 ? "current" : "usage_in_bytes"), probe)) continue;
        w.key(size).begin_object();
        if (v2) {
            auto events = read_pairs(f + "events");
            w.key("usage").uinteger(read_u64(f + "current")).key("failcnt").uinteger(pair_value(events, "max"));
        } else {
            w.key("usage").uinteger(read_u64(f + "usage_in_bytes"));
            w.key("max").uinteger(read_u64(f + "max_usage_in_bytes"));
            w.key("failcnt").uinteger(read_u64(f + "failcnt"));
        }
        w.end_object();
    }
    w.end_object();
}

}  // namespace

void write_stats(json::Writer &w, const std::vector<Hierarchy> &hs, const std::vector<std::string> &dirs, int init_pid) {
    w.begin_object();
    if (init_pid > 0) network_interfaces(w, init_pid);
    if (hs.size() == 1 && hs[0].v2 && !dirs.empty()) {
        v2_stats(w, dirs[0]);
        hugetlb(w, &dirs[0], true);
        w.end_object();
        return;
    }
    const std::string *by[5] = {};  // cpuacct cpu memory pids blkio
    const char *names[5] = {"cpuacct", "cpu", "memory", "pids", "blkio"};
    for (size_t i = 0; i < hs.size() && i < dirs.size(); i++)
        for (auto &c : {0, 1, 2, 3, 4})
            if (!hs[i].v2 && ("," + hs[i].controllers + ",").find(std::string(",") + names[c] + ",") != std::string::npos)
                by[c] = &dirs[i];
    // Hybrid: pressure comes from the container's cgroup v2 directory.
    const std::string *unified = nullptr;
    for (size_t i = 0; i < hs.size() && i < dirs.size(); i++)
        if (hs[i].v2) unified = &dirs[i];
    v1_cpu(w, by[0], by[1], unified);
    if (by[2]) {
        std::string m = *by[2] + "/memory.";
        w.key("memory").begin_object();
        auto raw = read_pairs(m + "stat");
        w.key("cache").uinteger(pair_value(raw, "cache"));
        usage_object(w, "usage", m);
        usage_object(w, "swap", m + "memsw.");
        usage_object(w, "kernel", m + "kmem.");
        usage_object(w, "kernelTCP", m + "kmem.tcp.");
        raw_map(w, m + "stat");
        psi(w, unified, "memory.pressure");
        w.end_object();
    }
    if (by[3]) {
        w.key("pids").begin_object().key("current").uinteger(read_u64(*by[3] + "/pids.current"));
        w.key("limit").uinteger(read_u64(*by[3] + "/pids.max")).end_object();
    }
    if (by[4]) v1_blkio(w, *by[4], unified);
    const std::string *hdir = nullptr;
    for (size_t i = 0; i < hs.size() && i < dirs.size(); i++)
        if (!hs[i].v2 && has_controller(hs[i], "hugetlb")) hdir = &dirs[i];
    hugetlb(w, hdir, false);
    w.end_object();
}

}  // namespace kiln::cgroups
