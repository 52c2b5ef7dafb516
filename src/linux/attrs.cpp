// Process attributes the init applies right before the payload: the
// scheduler (sched_setattr), the I/O priority (ioprio_set) and the execution
// domain (personality), the NUMA memory policy (set_mempolicy). Each maps one runtime-spec field to one syscall, the
// way runc applies them.
#include <sched.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "linux/kernel.hpp"
#include "linux/process.hpp"
#include "spec/tables.hpp"

namespace kiln::process {
namespace {

// struct sched_attr of sched_setattr(2), the first (VER1 + util clamps) layout.
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

int policy_of(const std::string &name) {
    if (auto *p = spec::tables::find(spec::tables::kSchedPolicies, name)) return static_cast<int>(p->value);
    throw Error("process.scheduler.policy: unknown policy \"" + name + "\"");
}

uint64_t sched_flag_of(const std::string &name) {
    if (auto *f = spec::tables::find(spec::tables::kSchedFlags, name)) return f->value;
    throw Error("process.scheduler.flags: unknown flag \"" + name + "\"");
}

}  // namespace

void set_scheduler(const spec::Scheduler &s) {
    SchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = static_cast<uint32_t>(policy_of(s.policy));
    for (auto &f : s.flags) attr.sched_flags |= sched_flag_of(f);
    attr.sched_nice = s.nice;
    attr.sched_priority = static_cast<uint32_t>(s.priority);
    attr.sched_runtime = s.runtime;
    attr.sched_deadline = s.deadline;
    attr.sched_period = s.period;
    if (kernel::get().sched_setattr(&attr) < 0) throw_errno("process.scheduler: sched_setattr");
}

void set_io_priority(const spec::IOPriority &p) {
    auto *c = spec::tables::find(spec::tables::kIoPrioClasses, p.klass);
    int klass = c ? static_cast<int>(c->value) : 0;
    if (klass == 0) throw Error("process.ioPriority.class: unknown class \"" + p.klass + "\"");
    constexpr int kWhoProcess = 1, kClassShift = 13;
    if (kernel::get().ioprio_set(kWhoProcess, 0, (klass << kClassShift) | p.priority) < 0)
        throw_errno("process.ioPriority: ioprio_set");
}

// set_mempolicy(2) with the nodes as a bit mask; maxnode counts one bit
// more than the mask holds (the kernel reads maxnode - 1 bits).
void set_memory_policy(const spec::MemoryPolicy &m) {
    std::vector<uint64_t> mask = spec::parse_list(m.nodes, "linux.memoryPolicy.nodes");
    if (mask.empty()) mask.push_back(0);
    unsigned long maxnode = mask.size() * 64 + 1;
    if (kernel::get().set_mempolicy(static_cast<int>(spec::memory_policy_mode(m)), reinterpret_cast<const unsigned long *>(mask.data()), maxnode) < 0)
        throw_errno("linux.memoryPolicy: set_mempolicy " + m.mode + (m.nodes.empty() ? "" : " nodes " + m.nodes));
}

void set_affinity(pid_t pid, const std::vector<uint64_t> &cpus, const std::string &what) {
    if (::sched_setaffinity(pid, cpus.size() * sizeof(uint64_t), reinterpret_cast<const cpu_set_t *>(cpus.data())) < 0)
        throw_errno(what);
}

// Every cpu the kernel could have (runc's 64k bits): sched_setaffinity keeps
// those of the task's cpuset, and cpus added to it later stay usable.
void reset_affinity(pid_t pid) {
    static const std::vector<uint64_t> all(64 * 1024 / 64, ~uint64_t{0});
    if (::sched_setaffinity(pid, all.size() * sizeof(uint64_t), reinterpret_cast<const cpu_set_t *>(all.data())) < 0)
        log::warn("resetting the CPU affinity of pid " + std::to_string(pid) + " failed -- the container process may inherit kiln's CPU affinity");
}

// runc sets only the domain; the spec defines no flag values yet.
void set_personality(const spec::Personality &p) {
    unsigned long domain = p.domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
    if (kernel::get().personality(domain) < 0) throw_errno("linux.personality: personality");
}

}  // namespace kiln::process
