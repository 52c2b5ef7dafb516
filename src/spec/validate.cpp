// Semantic checks on a parsed spec, run before anything is created, so a bad
// config fails with a message naming the field instead of a failed syscall.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "kiln/spec.hpp"
#include "names.hpp"
#include "tables.hpp"
#include "util/unsafe.hpp"

namespace kiln::spec {
namespace {

[[noreturn]] void fail(const std::string &path, const std::string &problem) {
    throw Error("config.json: " + path + ": " + problem);
}

std::string at(std::string_view base, size_t i) { return std::string(base) + "[" + std::to_string(i) + "]"; }

std::string quoted(std::string_view s) {
    // Appended piecewise: GCC 12 at -O3 flags "lit" + string&& with a bogus -Wrestrict.
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

bool absolute(std::string_view p) { return !p.empty() && p.front() == '/'; }

// Verbatim runc texts: engines and scripts match on them.
void check_process(const std::optional<Process> &p) {
    if (!p) throw Error("process property must not be empty");
    if (p->cwd.empty()) throw Error("Cwd property must not be empty");
    if (!absolute(p->cwd)) throw Error("Cwd must be an absolute path");
    if (p->args.empty()) throw Error("args must not be empty");
}

void check_rlimits(const std::vector<Rlimit> &rlimits) {
    std::set<std::string_view> seen;
    for (size_t i = 0; i < rlimits.size(); ++i) {
        const std::string &type = rlimits[i].type;
        if (!tables::find(tables::kRlimits, type))
            fail(at("process.rlimits", i) + ".type", "unknown rlimit type " + quoted(type));
        if (!seen.insert(type).second) fail("process.rlimits", "duplicate rlimit type " + quoted(type));
    }
}

// process.execCPUAffinity: lists of cpus (applied by `exec`, see exec.cpp).
void check_cpu_affinity(const std::optional<ExecCPUAffinity> &a) {
    if (!a) return;
    parse_list(a->initial, "process.execCPUAffinity.initial");
    parse_list(a->final_, "process.execCPUAffinity.final");
}

void check_scheduling(const Process &p) {
    if (p.scheduler && !tables::find(tables::kSchedPolicies, p.scheduler->policy))
        fail("process.scheduler.policy", "unknown policy " + quoted(p.scheduler->policy));
    if (p.scheduler)
        for (size_t i = 0; i < p.scheduler->flags.size(); ++i)
            if (!tables::find(tables::kSchedFlags, p.scheduler->flags[i]))
                fail(at("process.scheduler.flags", i), "unknown flag " + quoted(p.scheduler->flags[i]));
    if (p.ioPriority && !tables::find(tables::kIoPrioClasses, p.ioPriority->klass))
        fail("process.ioPriority.class", "unknown class " + quoted(p.ioPriority->klass));
}

// runc's rules: id-mapped mounts are bind mounts with both maps given, or
// (idmap/ridmap without maps) those of the container's user namespace.
void check_idmapped_mount(const Mount &m, const std::string &where, bool userns) {
    bool idmap_opt = false, bind = m.type == "bind";
    for (auto &o : m.options) {
        if (o == "idmap" || o == "ridmap") idmap_opt = true;
        if (o == "bind" || o == "rbind") bind = true;
    }
    bool maps = !m.uidMappings.empty() || !m.gidMappings.empty();
    if (!maps && !idmap_opt) return;
    if (!bind) fail(where, "id-mapped mounts are only supported for bind mounts");
    if (!maps && userns) return;
    if (m.uidMappings.empty() || m.gidMappings.empty())
        fail(where, "id-mapped mounts must have both uidMappings and gidMappings");
}

void check_mounts(const std::vector<Mount> &mounts, bool userns) {
    // Relative destinations are accepted (runtime-spec 1.2: relative to /,
    // see absolute_destinations), but an empty one has no meaning.
    for (size_t i = 0; i < mounts.size(); ++i) {
        if (mounts[i].destination.empty()) fail(at("mounts", i) + ".destination", "must not be empty");
        check_idmapped_mount(mounts[i], at("mounts", i), userns);
    }
}

void check_hook_list(const std::vector<Hook> &hooks, const char *stage) {
    for (size_t i = 0; i < hooks.size(); ++i) {
        std::string where = at(std::string("hooks.") + stage, i);
        if (!absolute(hooks[i].path)) fail(where + ".path", "must be an absolute path");
        if (hooks[i].timeout && *hooks[i].timeout <= 0) fail(where + ".timeout", "must be greater than zero");
    }
}

void check_hooks(const std::optional<Hooks> &h) {
    if (!h) return;
    check_hook_list(h->prestart, "prestart");
    check_hook_list(h->createRuntime, "createRuntime");
    check_hook_list(h->createContainer, "createContainer");
    check_hook_list(h->startContainer, "startContainer");
    check_hook_list(h->poststart, "poststart");
    check_hook_list(h->poststop, "poststop");
}

const Namespace *find_namespace(const Linux &l, std::string_view type) {
    for (const auto &ns : l.namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

void check_namespaces(const Linux &l) {
    std::set<std::string_view> seen;
    for (size_t i = 0; i < l.namespaces.size(); ++i) {
        const Namespace &ns = l.namespaces[i];
        if (!tables::find(tables::kNamespaces, ns.type))
            fail(at("linux.namespaces", i) + ".type", "unknown namespace type " + quoted(ns.type));
        if (!seen.insert(ns.type).second) fail("linux.namespaces", "duplicate namespace " + quoted(ns.type));
        if (!ns.path.empty() && !absolute(ns.path))
            fail(at("linux.namespaces", i) + ".path", "must be an absolute path");
    }
}

void check_id_mappings(const Linux &l) {
    const Namespace *user = find_namespace(l, "user");
    if (!user) {
        if (!l.uidMappings.empty()) fail("linux.uidMappings", "mappings specified, but no user namespace");
        if (!l.gidMappings.empty()) fail("linux.gidMappings", "mappings specified, but no user namespace");
        return;
    }
    // A new user namespace without mappings leaves every id unmapped (nobody);
    // joining an existing one brings its own mappings.
    if (user->path.empty()) {
        if (l.uidMappings.empty()) fail("linux.uidMappings", "user namespace enabled, but no uid mappings");
        if (l.gidMappings.empty()) fail("linux.gidMappings", "user namespace enabled, but no gid mappings");
    }
}

void check_time_offsets(const Linux &l) {
    if (l.timeOffsets.empty()) return;
    const Namespace *time = find_namespace(l, "time");
    if (!time) fail("linux.timeOffsets", "time offsets need a time namespace");
    if (!time->path.empty()) fail("linux.timeOffsets", "cannot be set when joining an existing time namespace");
    for (const auto &[clock, offset] : l.timeOffsets) {
        if (clock != "monotonic" && clock != "boottime") fail("linux.timeOffsets", "unknown clock " + quoted(clock));
        if (offset.nanosecs >= 1000000000u)
            fail("linux.timeOffsets." + clock + ".nanosecs", "must be less than 1000000000");
    }
}

void check_devices(const Linux &l) {
    for (size_t i = 0; i < l.devices.size(); ++i) {
        const Device &d = l.devices[i];
        if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
            fail(at("linux.devices", i) + ".type", "unknown device type " + quoted(d.type));
        if (!absolute(d.path)) fail(at("linux.devices", i) + ".path", "must be an absolute path");
    }
}

void check_device_rules(const std::optional<Resources> &r) {
    if (!r) return;
    for (size_t i = 0; i < r->devices.size(); ++i) {
        const DeviceRule &d = r->devices[i];
        if (d.type != "" && d.type != "a" && d.type != "c" && d.type != "b")
            fail(at("linux.resources.devices", i) + ".type", "unknown device type " + quoted(d.type));
        // runc ignores letters other than r, w and m (its device emulator
        // keeps only those): accepted, with a warning.
        if (d.access.find_first_not_of("rwm") != std::string::npos)
            log::warn("config.json: " + at("linux.resources.devices", i) + ".access: ignoring the letters other than "
                      "r, w and m in " + quoted(d.access));
    }
}

void check_seccomp_syscalls(const std::vector<SeccompSyscall> &syscalls) {
    for (size_t i = 0; i < syscalls.size(); ++i) {
        const SeccompSyscall &s = syscalls[i];
        std::string where = at("linux.seccomp.syscalls", i);
        if (s.names.empty()) fail(where + ".names", "must not be empty");
        if (!tables::find(tables::kSeccompActions, s.action))
            fail(where + ".action", "unknown action " + quoted(s.action));
        for (size_t j = 0; j < s.args.size(); ++j)
            if (!tables::find(tables::kSeccompOperators, s.args[j].op))
                fail(at(where + ".args", j) + ".op", "unknown operator " + quoted(s.args[j].op));
    }
}

// runc's rules for SCMP_ACT_NOTIFY: an agent to hand the listener to, never
// the default action, never write(2) (the runtime's own messages would block).
void check_seccomp_notify(const Seccomp &s) {
    if (s.defaultAction == "SCMP_ACT_NOTIFY")
        fail("linux.seccomp.defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
    bool notify = false;
    for (size_t i = 0; i < s.syscalls.size(); ++i) {
        if (s.syscalls[i].action != "SCMP_ACT_NOTIFY") continue;
        notify = true;
        for (auto &name : s.syscalls[i].names)
            if (name == "write")
                fail(at("linux.seccomp.syscalls", i) + ".action", "SCMP_ACT_NOTIFY cannot be used for the write syscall");
    }
    // The kernel takes the flag only with a listener (SECCOMP_FILTER_FLAG_NEW_LISTENER).
    for (size_t i = 0; i < s.flags.size(); ++i)
        if (s.flags[i] == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" && !notify)
            fail(at("linux.seccomp.flags", i), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule");
    if (notify && s.listenerPath.empty())
        fail("linux.seccomp.listenerPath", "must be set when SCMP_ACT_NOTIFY is used");
    if (!s.listenerPath.empty() && !absolute(s.listenerPath))
        fail("linux.seccomp.listenerPath", "must be an absolute path");
}

void check_seccomp(const std::optional<Seccomp> &s) {
    if (!s) return;
    if (s->defaultAction.empty()) fail("linux.seccomp.defaultAction", "must not be empty");
    if (!tables::find(tables::kSeccompActions, s->defaultAction))
        fail("linux.seccomp.defaultAction", "unknown action " + quoted(s->defaultAction));
    for (size_t i = 0; i < s->architectures.size(); ++i)
        if (!tables::find(tables::kSeccompArchs, s->architectures[i]))
            fail(at("linux.seccomp.architectures", i), "unknown architecture " + quoted(s->architectures[i]));
    for (size_t i = 0; i < s->flags.size(); ++i)
        if (!tables::find(tables::kSeccompFlags, s->flags[i]))
            fail(at("linux.seccomp.flags", i), "unknown flag " + quoted(s->flags[i]));
    check_seccomp_syscalls(s->syscalls);
    check_seccomp_notify(*s);
}

// A network namespace joined by path that is the one kiln runs in ("host"
// means current, as runc has it): its sysctls are the host's.
bool is_current_netns(const std::string &path, const std::string &field) {
    struct stat ours, theirs;
    for (auto [p, st] : {std::pair<const char *, struct stat *>{"/proc/self/ns/net", &ours}, {path.c_str(), &theirs}})
        if (::stat(p, st) < 0) fail(field, std::string("invalid netns path: stat ") + p + ": " + std::strerror(errno));
    return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

// runc's rule: a sysctl is allowed only when the namespace it belongs to is
// the container's own (present in linux.namespaces, and for net.* not the
// host's network namespace joined by path).
void check_sysctl(const Linux &l) {
    static constexpr std::array<std::string_view, 11> ipc_keys = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",         "kernel.shmall",      "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.msg_next_id", "kernel.sem_next_id", "kernel.shm_next_id"};
    for (const auto &[raw, value] : l.sysctl) {
        if (raw.empty()) fail("linux.sysctl", "empty key");
        std::string key = raw;  // "net/ipv4/ip_forward" names the same sysctl
        std::replace(key.begin(), key.end(), '/', '.');
        std::string field = "linux.sysctl." + raw;
        if (names::known(ipc_keys, key) || key.rfind("fs.mqueue.", 0) == 0) {
            if (!find_namespace(l, "ipc")) fail(field, "not allowed in the host's ipc namespace");
        } else if (key.rfind("net.", 0) == 0) {
            const Namespace *net = find_namespace(l, "network");
            if (!net || (!net->path.empty() && !unsafe::off("net-sysctl") && is_current_netns(net->path, field)))
                fail(field, "not allowed in the host's network namespace");
        } else if (key == "kernel.domainname" && find_namespace(l, "uts")) {
        } else if (key == "kernel.hostname" && find_namespace(l, "uts")) {
            fail(field, "not allowed as it conflicts with the hostname field");
        } else {
            fail(field, "not in a separate kernel namespace");
        }
    }
}

void check_linux_misc(const Linux &l) {
    check_sysctl(l);
    if (!l.rootfsPropagation.empty() && !tables::find(tables::kPropagations, l.rootfsPropagation))
        fail("linux.rootfsPropagation", "unknown propagation " + quoted(l.rootfsPropagation));
    if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
        fail("linux.personality.domain", "unknown domain " + quoted(l.personality->domain));
}

// runc's rules: which modes take nodes, and how many.
void check_memory_policy(const std::optional<MemoryPolicy> &m) {
    if (!m) return;
    const names::Named *mode = names::find(names::kMemoryPolicyModes, m->mode);
    if (!mode) fail("linux.memoryPolicy.mode", "unknown mode " + quoted(m->mode));
    for (size_t i = 0; i < m->flags.size(); ++i)
        if (!names::find(names::kMemoryPolicyFlags, m->flags[i]))
            fail(at("linux.memoryPolicy.flags", i), "unknown flag " + quoted(m->flags[i]));
    bool any = false;
    for (uint64_t w : parse_list(m->nodes, "linux.memoryPolicy.nodes")) any |= w != 0;
    if ((m->mode == "MPOL_DEFAULT" || m->mode == "MPOL_LOCAL") && any)
        fail("linux.memoryPolicy.nodes", m->mode + " takes no nodes");
    if (m->mode != "MPOL_DEFAULT" && m->mode != "MPOL_LOCAL" && m->mode != "MPOL_PREFERRED" && !any)
        fail("linux.memoryPolicy.nodes", m->mode + " needs at least one node");
}

// Interface names as the kernel accepts them (dev_valid_name).
bool valid_ifname(std::string_view n) {
    return !n.empty() && n.size() < 16 && n != "." && n != ".." && n.find_first_of("/: ") == std::string_view::npos;
}

void check_net_devices(const Linux &l) {
    if (l.netDevices.empty()) return;
    const Namespace *net = find_namespace(l, "network");
    if (!net) fail("linux.netDevices", "unable to move network devices without a NET namespace");
    for (const auto &[host, dev] : l.netDevices) {
        if (!valid_ifname(host)) fail("linux.netDevices", "invalid network device name " + quoted(host));
        if (!dev.name.empty() && !valid_ifname(dev.name))
            fail("linux.netDevices." + host + ".name", "invalid network device name " + quoted(dev.name));
    }
}

// runc's rule for closID: a resctrl group name, or "/" for the root group.
void check_intel_rdt(const std::optional<IntelRdt> &r) {
    if (!r) return;
    const std::string &c = r->closID;
    if (c == "." || c == ".." || (c.size() > 1 && c.find('/') != std::string::npos))
        fail("linux.intelRdt.closID", "invalid closID " + quoted(c));
}

void check_linux(const Linux &l) {
    check_namespaces(l);
    check_id_mappings(l);
    check_time_offsets(l);
    check_devices(l);
    check_device_rules(l.resources);
    check_seccomp(l.seccomp);
    check_memory_policy(l.memoryPolicy);
    check_net_devices(l);
    check_intel_rdt(l.intelRdt);
    check_linux_misc(l);
}

}  // namespace

std::vector<uint64_t> parse_list(std::string_view list, std::string_view field) {
    constexpr unsigned long kMax = 64 * 1024;  // runc's limit on a cpu or node number
    std::vector<uint64_t> bits;
    auto bad = [&](std::string_view why) -> void {
        throw Error("config.json: " + std::string(field) + ": invalid list " + quoted(list) + ": " + std::string(why));
    };
    auto number = [&](std::string_view t) {
        while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
        while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
        unsigned long v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || end != t.data() + t.size()) bad("not a number: " + quoted(t));
        if (v > kMax) bad("values larger than " + std::to_string(kMax) + " are not supported");
        return v;
    };
    for (size_t start = 0; start <= list.size();) {
        size_t comma = std::min(list.find(',', start), list.size());
        std::string_view r = list.substr(start, comma - start);
        start = comma + 1;
        if (r.find_first_not_of(' ') == std::string_view::npos) continue;  // empty elements are allowed
        size_t dash = r.find('-');
        unsigned long lo = number(r.substr(0, dash)), hi = dash == std::string_view::npos ? lo : number(r.substr(dash + 1));
        if (lo > hi) bad("invalid range " + quoted(r));
        if (bits.size() < hi / 64 + 1) bits.resize(hi / 64 + 1);
        for (unsigned long i = lo; i <= hi; i++) bits[i / 64] |= uint64_t{1} << (i % 64);
    }
    return bits;
}

unsigned memory_policy_mode(const MemoryPolicy &m) {
    const names::Named *mode = names::find(names::kMemoryPolicyModes, m.mode);
    if (!mode) throw Error("config.json: linux.memoryPolicy.mode: unknown mode " + quoted(m.mode));
    unsigned out = mode->value;
    for (auto &f : m.flags) {
        const names::Named *flag = names::find(names::kMemoryPolicyFlags, f);
        if (!flag) throw Error("config.json: linux.memoryPolicy.flags: unknown flag " + quoted(f));
        out |= flag->value;
    }
    return out;
}

void validate_user(const User &u, std::string_view file) {
    if (unsafe::off("uid-range")) return;
    auto bad = [&](const std::string &field) {
        throw Error(std::string(file) + ": process.user." + field + ": " + kIdRangeError);
    };
    if (u.uid > kMaxId) bad("uid");
    if (u.gid > kMaxId) bad("gid");
    for (size_t i = 0; i < u.additionalGids.size(); ++i)
        if (u.additionalGids[i] > kMaxId) bad(at("additionalGids", i));
}

void absolute_destinations(Spec &spec) {
    for (auto &m : spec.mounts)
        if (!m.destination.empty() && m.destination[0] != '/') m.destination.insert(0, "/");
}

void validate(const Spec &spec) {
    // runc checks the process first, while loading the spec; keep that order
    // so a config with several problems reports the same one.
    // A config without a process is valid (runtime-spec: `start` must then
    // fail); the caller decides whether it needs one.
    if (spec.process) check_process(spec.process);
    if (spec.ociVersion.empty()) fail("ociVersion", "must not be empty");
    if (!spec.root || spec.root->path.empty()) fail("root.path", "must not be empty");
    if (spec.process) {
        check_rlimits(spec.process->rlimits);
        check_scheduling(*spec.process);
        check_cpu_affinity(spec.process->execCPUAffinity);
        validate_user(spec.process->user);
    }
    check_mounts(spec.mounts, spec.linux && find_namespace(*spec.linux, "user"));
    check_hooks(spec.hooks);
    if (spec.linux) check_linux(*spec.linux);
    // runc: a host name of our own needs a UTS namespace of our own.
    bool uts = spec.linux && find_namespace(*spec.linux, "uts");
    if (!spec.hostname.empty() && !uts) fail("hostname", "unable to set hostname without a private UTS namespace");
    if (!spec.domainname.empty() && !uts) fail("domainname", "unable to set domainname without a private UTS namespace");
}

}  // namespace kiln::spec
