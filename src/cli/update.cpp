// kiln update [options] <container-id>  (parsed; not implemented yet)

#include "cli.hpp"

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

}  // namespace

int cmd_update(Context &c) {
    Options app;
    UpdateOptions o;
    add_update_flags(app, o);
    app.parse(c, {"<container-id>", 1, 1});
    not_implemented(c);
}

}  // namespace kiln::cli
