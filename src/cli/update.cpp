// kiln update [options] <container-id>

#include <cerrno>
#include <cstdlib>

#include "cli.hpp"
#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "util/fd.hpp"

namespace kiln::cli {

namespace {

struct UpdateOptions {
    std::string resources, cpu_period, cpu_quota, cpu_burst, cpu_share, cpu_rt_period, cpu_rt_runtime, cpu_idle;
    std::string cpuset_cpus, cpuset_mems, memory, memory_reservation, memory_swap, kernel_memory, kernel_memory_tcp;
    std::string l3_cache_schema, mem_bw_schema;
    unsigned blkio_weight = 0;
    long long pids_limit = 0;
};

void add_update_flags(Options &app, UpdateOptions &o) {
    app.value("--resources,-r", o.resources,
                   "path to the file containing the resources to update or '-' to read from the standard input");
    app.value("--blkio-weight", o.blkio_weight, "Specifies per cgroup weight, range is from 10 to 1000");
    app.value("--cpu-period", o.cpu_period, "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default");
    app.value("--cpu-quota", o.cpu_quota, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period");
    app.value("--cpu-burst", o.cpu_burst, "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period");
    app.value("--cpu-share", o.cpu_share, "CPU shares (relative weight vs. other containers)");
    app.value("--cpu-rt-period", o.cpu_rt_period, "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default");
    app.value("--cpu-rt-runtime", o.cpu_rt_runtime, "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period");
    app.value("--cpu-idle", o.cpu_idle, "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE");
    app.value("--cpuset-cpus", o.cpuset_cpus, "CPU(s) to use");
    app.value("--cpuset-mems", o.cpuset_mems, "Memory node(s) to use");
    app.value("--memory", o.memory, "Memory limit (in bytes)");
    app.value("--memory-reservation", o.memory_reservation, "Memory reservation or soft_limit (in bytes)");
    app.value("--memory-swap", o.memory_swap, "Total memory usage (memory + swap); set '-1' to enable unlimited swap");
    app.value("--kernel-memory", o.kernel_memory, "(obsoleted; do not use)");
    app.value("--kernel-memory-tcp", o.kernel_memory_tcp, "(obsoleted; do not use)");
    app.value("--pids-limit", o.pids_limit, "Maximum number of pids allowed in the container");
    app.value("--l3-cache-schema", o.l3_cache_schema, "The string of Intel RDT/CAT L3 cache schema");
    app.value("--mem-bw-schema", o.mem_bw_schema, "The string of Intel RDT/MBA memory bandwidth schema");
}

// Go's strconv for the numeric flags, with runc's error wording.
template <typename T>
std::optional<T> number(const std::string &s, const char *flag) {
    if (s.empty()) return std::nullopt;
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (*end || errno || (std::is_unsigned_v<T> && v < 0))
        throw kiln::Error("invalid value for " + std::string(flag) + ": " + s);
    return static_cast<T>(v);
}

// docker's RAMInBytes: "512m", "1g", "1024", "-1" (unlimited); binary units.
std::optional<int64_t> size(const std::string &s, const char *flag) {
    if (s.empty()) return std::nullopt;
    if (s == "-1") return -1;
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    std::string unit(end);
    for (auto &ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    const std::string units = "kmgtp";
    double mult = 1;
    if (!unit.empty()) {
        auto pos = units.find(unit);
        if (unit.size() != 1 || pos == std::string::npos) throw kiln::Error("invalid value for " + std::string(flag) + ": " + s);
        for (size_t i = 0; i <= pos; i++) mult *= 1024;
    }
    if (errno || end == s.c_str() || v < 0) throw kiln::Error("invalid value for " + std::string(flag) + ": " + s);
    return static_cast<int64_t>(v * mult);
}

kiln::spec::Resources from_flags(const UpdateOptions &o) {
    kiln::spec::Resources r;
    kiln::spec::Cpu cpu;
    cpu.period = number<uint64_t>(o.cpu_period, "--cpu-period");
    cpu.quota = number<int64_t>(o.cpu_quota, "--cpu-quota");
    cpu.burst = number<uint64_t>(o.cpu_burst, "--cpu-burst");
    cpu.shares = number<uint64_t>(o.cpu_share, "--cpu-share");
    cpu.realtimePeriod = number<uint64_t>(o.cpu_rt_period, "--cpu-rt-period");
    cpu.realtimeRuntime = number<int64_t>(o.cpu_rt_runtime, "--cpu-rt-runtime");
    cpu.idle = number<int64_t>(o.cpu_idle, "--cpu-idle");
    cpu.cpus = o.cpuset_cpus;
    cpu.mems = o.cpuset_mems;
    r.cpu = cpu;
    kiln::spec::Memory mem;
    mem.limit = size(o.memory, "--memory");
    mem.reservation = size(o.memory_reservation, "--memory-reservation");
    mem.swap = size(o.memory_swap, "--memory-swap");
    r.memory = mem;
    if (o.pids_limit) r.pids = kiln::spec::Pids{o.pids_limit};
    if (o.blkio_weight) {
        kiln::spec::BlockIO b;
        b.weight = static_cast<uint16_t>(o.blkio_weight);
        r.blockIO = b;
    }
    if (!o.kernel_memory.empty() || !o.kernel_memory_tcp.empty())
        kiln::log::warn("Kernel memory settings are ignored and will be removed");
    return r;
}

}  // namespace

int cmd_update(Context &c) {
    Options app;
    UpdateOptions o;
    add_update_flags(app, o);
    auto pos = app.parse(c, {"<container-id>", 1, 1});
    kiln::spec::Resources r;
    if (!o.resources.empty()) {
        // -r: a runtime-spec LinuxResources object; the other flags are ignored (runc).
        std::string text = o.resources == "-" ? kiln::read_fd(0) : kiln::read_file(o.resources);
        r = kiln::spec::parse_resources(text, o.resources == "-" ? "stdin" : o.resources);
    } else {
        r = from_flags(o);
    }
    // runc writes the cgroup limits first, then the resctrl schemata.
    kiln::update(c.g, pos[0], r);
    if (!o.l3_cache_schema.empty() || !o.mem_bw_schema.empty())
        kiln::update_rdt(c.g, pos[0], o.l3_cache_schema, o.mem_bw_schema);
    return 0;
}

}  // namespace kiln::cli
