// Name lists shared by validation (what we accept) and the features document
// (what we advertise), so the two cannot drift apart. Internal to src/spec/.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace kiln::spec::names {

// Namespace types, with their clone(2) flags: tables.hpp.

// Every capability up to CAP_CHECKPOINT_RESTORE (40), in kernel number order.
inline constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",     "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",             "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE",  "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",          "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",        "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",        "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",         "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",      "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",        "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",       "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// rlimits, scheduler, I/O priority and seccomp names, with their values:
// tables.hpp (src/linux reads them too).

// linux.memoryPolicy.mode and .flags (set_mempolicy(2)), with the kernel's
// values: the init maps names through these, `features` lists them.
struct Named {
    std::string_view name;
    unsigned value;
};
inline constexpr std::array<Named, 7> kMemoryPolicyModes = {{
    {"MPOL_BIND", 2},  {"MPOL_DEFAULT", 0},         {"MPOL_INTERLEAVE", 3},          {"MPOL_LOCAL", 4},
    {"MPOL_PREFERRED", 1}, {"MPOL_PREFERRED_MANY", 5}, {"MPOL_WEIGHTED_INTERLEAVE", 6},
}};
inline constexpr std::array<Named, 3> kMemoryPolicyFlags = {{
    {"MPOL_F_NUMA_BALANCING", 1u << 13},
    {"MPOL_F_RELATIVE_NODES", 1u << 14},
    {"MPOL_F_STATIC_NODES", 1u << 15},
}};

// Annotations that change what a container may do to its host: engines
// that pass annotations through from users (CRI-O) filter these. kiln's
// handler switch, then runc's list ("org.systemd.property." is a prefix).
inline constexpr std::array<std::string_view, 4> kUnsafeAnnotations = {
    "run.oci.handler", "bundle", "org.systemd.property.", "org.criu.config",
};

template <size_t N>
const Named *find(const std::array<Named, N> &list, std::string_view name) {
    for (auto &n : list)
        if (n.name == name) return &n;
    return nullptr;
}

template <size_t N>
bool known(const std::array<std::string_view, N> &list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace kiln::spec::names
