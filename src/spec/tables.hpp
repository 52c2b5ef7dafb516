// {name, value} tables of the runtime-spec names that map to a kernel or
// libseccomp value. One table per kind, read by validation (what kiln
// accepts), `kiln features` (what it advertises) and src/linux (what it
// applies), so the three cannot drift apart (tests/unit/test_tables.cpp).
#pragma once

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <string_view>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace kiln::spec::tables {

struct Entry {
    std::string_view name;
    uint64_t value;
};

// The entry named name, or nullptr.
template <class T, size_t N>
const T *find(const std::array<T, N> &table, std::string_view name) {
    for (auto &e : table)
        if (e.name == name) return &e;
    return nullptr;
}

// linux.namespaces[].type -> the clone(2) flag, in the order `kiln features` lists them.
inline constexpr std::array<Entry, 8> kNamespaces = {{
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"mount", CLONE_NEWNS},   {"network", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},       {"time", CLONE_NEWTIME}, {"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS},
}};

// process.rlimits[].type -> the setrlimit(2) resource.
inline constexpr std::array<Entry, 16> kRlimits = {{
    {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
}};

// process.scheduler.policy -> SCHED_* (sched_setattr(2)).
inline constexpr std::array<Entry, 7> kSchedPolicies = {{
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
}};

// process.scheduler.flags -> SCHED_FLAG_* bits.
inline constexpr std::array<Entry, 7> kSchedFlags = {{
    {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},     {"SCHED_FLAG_DL_OVERRUN", 0x04},
    {"SCHED_FLAG_KEEP_POLICY", 0x08},   {"SCHED_FLAG_KEEP_PARAMS", 0x10}, {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
}};

// process.ioPriority.class -> IOPRIO_CLASS_* (ioprio_set(2)).
inline constexpr std::array<Entry, 3> kIoPrioClasses = {{
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3},
}};

// linux.seccomp actions -> libseccomp's action; ERRNO and TRACE carry
// errnoRet in their low 16 bits (SCMP_ACT_ERRNO(x), SCMP_ACT_TRACE(x)).
inline constexpr std::array<Entry, 9> kSeccompActions = {{
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
}};

// Whether the action takes errnoRet (default EPERM).
constexpr bool action_takes_ret(uint64_t action) {
    return action == SCMP_ACT_ERRNO(0) || action == SCMP_ACT_TRACE(0);
}

// linux.seccomp.syscalls[].args[].op -> scmp_compare.
inline constexpr std::array<Entry, 7> kSeccompOperators = {{
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    {"SCMP_CMP_NE", SCMP_CMP_NE},
}};

// linux.seccomp.architectures -> libseccomp's arch token: the architectures
// libseccomp 2.5 can build filters for.
inline constexpr std::array<Entry, 19> kSeccompArchs = {{
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},     {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},           {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32}, {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},   {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},       {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},             {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},     {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},           {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},             {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
}};

// linux.seccomp.flags: the seccomp(2) flag, and the libseccomp attribute
// that sets it (with the API level it needs, see seccomp_api_get(3)); no
// attribute: kiln loads such a filter with seccomp(2) itself, where the
// kernel takes the flag (src/linux/seccomp.cpp).
struct SeccompFlag {
    std::string_view name;
    uint64_t value;  // SECCOMP_FILTER_FLAG_*
    int attr;               // scmp_filter_attr, 0: none
    const char *attr_name;  // for errors
    unsigned api;           // libseccomp API level that applies it
};
inline constexpr std::array<SeccompFlag, 4> kSeccompFlags = {{
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, SCMP_FLTATR_CTL_TSYNC, "SCMP_FLTATR_CTL_TSYNC", 2},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, SCMP_FLTATR_CTL_LOG, "SCMP_FLTATR_CTL_LOG", 3},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, SCMP_FLTATR_CTL_SSB, "SCMP_FLTATR_CTL_SSB", 4},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 0, "", 0},
}};

// mounts[].options -> mount(2) flags: what each option sets, or (clear)
// clears, in MountOptions (src/linux/rootfs.cpp).
struct MountFlag {
    std::string_view name;
    bool clear;  // "rw", "suid": clears the flag
    unsigned long flag;
};
inline constexpr std::array<MountFlag, 33> kMountFlags = {{
    {"defaults", false, 0},          {"ro", false, MS_RDONLY},         {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},       {"nosuid", false, MS_NOSUID},     {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},      {"exec", true, MS_NOEXEC},        {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},  {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},  {"mand", false, MS_MANDLOCK},     {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},     {"noatime", false, MS_NOATIME},   {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"bind", false, MS_BIND},    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"lazytime", false, MS_LAZYTIME}, {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION}, {"noiversion", true, MS_I_VERSION}, {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},       {"nosymfollow", false, MS_NOSYMFOLLOW}, {"symfollow", true, MS_NOSYMFOLLOW},
}};

// mounts[].options and linux.rootfsPropagation -> MS_* propagation.
inline constexpr std::array<MountFlag, 8> kPropagations = {{
    {"private", false, MS_PRIVATE},      {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},        {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},          {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
}};

// mounts[].options "r*" -> mount_setattr(2) MOUNT_ATTR_* (recursive).
struct MountAttr {
    std::string_view name;
    bool clear;
    unsigned long long attr;
};
inline constexpr std::array<MountAttr, 18> kRecursiveMountAttrs = {{
    {"rro", false, MOUNT_ATTR_RDONLY},     {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID}, {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},   {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC}, {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW}, {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
}};

// mounts[].options that are not mount(2) flags: runc's extensions.
inline constexpr std::array<std::string_view, 3> kMountExtensions = {"tmpcopyup", "idmap", "ridmap"};

}  // namespace kiln::spec::tables
