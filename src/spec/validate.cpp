// Semantic checks on a parsed spec, run before anything is created, so a bad
// config fails with a message naming the field instead of a failed syscall.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "kiln/error.hpp"
#include "kiln/log.hpp"
#include "kiln/spec.hpp"
#include "names.hpp"
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
        if (!names::known(names::kRlimits, type))
            fail(at("process.rlimits", i) + ".type", "unknown rlimit type " + quoted(type));
        if (!seen.insert(type).second) fail("process.rlimits", "duplicate rlimit type " + quoted(type));
    }
}

void check_cap_set(const std::vector<std::string> &caps, const char *set) {
    for (size_t i = 0; i < caps.size(); ++i)
        if (!names::known(names::kCapabilities, caps[i]))
            fail(at(std::string("process.capabilities.") + set, i), "unknown capability " + quoted(caps[i]));
}

void check_capabilities(const std::optional<Capabilities> &c) {
    if (!c) return;
    check_cap_set(c->bounding, "bounding");
    check_cap_set(c->effective, "effective");
    check_cap_set(c->inheritable, "inheritable");
    check_cap_set(c->permitted, "permitted");
    check_cap_set(c->ambient, "ambient");
}

void check_scheduling(const Process &p) {
    static constexpr std::array<std::string_view, 7> policies = {
        "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"};
    static constexpr std::array<std::string_view, 3> classes = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                                                "IOPRIO_CLASS_IDLE"};
    if (p.scheduler && !names::known(policies, p.scheduler->policy))
        fail("process.scheduler.policy", "unknown policy " + quoted(p.scheduler->policy));
    if (p.ioPriority && !names::known(classes, p.ioPriority->klass))
        fail("process.ioPriority.class", "unknown class " + quoted(p.ioPriority->klass));
}

// runc's rules: id-mapped mounts are bind mounts with both maps given.
void check_idmapped_mount(const Mount &m, const std::string &where) {
    bool idmap_opt = false, bind = m.type == "bind";
    for (auto &o : m.options) {
        if (o == "idmap" || o == "ridmap") idmap_opt = true;
        if (o == "bind" || o == "rbind") bind = true;
    }
    bool maps = !m.uidMappings.empty() || !m.gidMappings.empty();
    if (!maps && !idmap_opt) return;
    if (!bind) fail(where, "id-mapped mounts are only supported for bind mounts");
    if (m.uidMappings.empty() || m.gidMappings.empty())
        fail(where, "id-mapped mounts must have both uidMappings and gidMappings");
}

void check_mounts(const std::vector<Mount> &mounts) {
    // Relative destinations are accepted (old configs use them; they resolve
    // against the rootfs), but an empty one has no meaning.
    for (size_t i = 0; i < mounts.size(); ++i) {
        if (mounts[i].destination.empty()) fail(at("mounts", i) + ".destination", "must not be empty");
        check_idmapped_mount(mounts[i], at("mounts", i));
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
        if (!names::known(names::kNamespaces, ns.type))
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
        if (!names::known(names::kSeccompActions, s.action))
            fail(where + ".action", "unknown action " + quoted(s.action));
        for (size_t j = 0; j < s.args.size(); ++j)
            if (!names::known(names::kSeccompOperators, s.args[j].op))
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
    if (notify && s.listenerPath.empty())
        fail("linux.seccomp.listenerPath", "must be set when SCMP_ACT_NOTIFY is used");
    if (!s.listenerPath.empty() && !absolute(s.listenerPath))
        fail("linux.seccomp.listenerPath", "must be an absolute path");
}

void check_seccomp(const std::optional<Seccomp> &s) {
    if (!s) return;
    if (s->defaultAction.empty()) fail("linux.seccomp.defaultAction", "must not be empty");
    if (!names::known(names::kSeccompActions, s->defaultAction))
        fail("linux.seccomp.defaultAction", "unknown action " + quoted(s->defaultAction));
    for (size_t i = 0; i < s->architectures.size(); ++i)
        if (!names::known(names::kSeccompArchs, s->architectures[i]))
            fail(at("linux.seccomp.architectures", i), "unknown architecture " + quoted(s->architectures[i]));
    for (size_t i = 0; i < s->flags.size(); ++i)
        if (!names::known(names::kSeccompFlags, s->flags[i]))
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
    if (!l.rootfsPropagation.empty() && !names::known(names::kPropagations, l.rootfsPropagation))
        fail("linux.rootfsPropagation", "unknown propagation " + quoted(l.rootfsPropagation));
    if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
        fail("linux.personality.domain", "unknown domain " + quoted(l.personality->domain));
}

void check_linux(const Linux &l) {
    check_namespaces(l);
    check_id_mappings(l);
    check_time_offsets(l);
    check_devices(l);
    check_device_rules(l.resources);
    check_seccomp(l.seccomp);
    check_linux_misc(l);
}

}  // namespace

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
        check_capabilities(spec.process->capabilities);
        check_scheduling(*spec.process);
        validate_user(spec.process->user);
    }
    check_mounts(spec.mounts);
    check_hooks(spec.hooks);
    if (spec.linux) check_linux(*spec.linux);
    // runc: a host name of our own needs a UTS namespace of our own.
    bool uts = spec.linux && find_namespace(*spec.linux, "uts");
    if (!spec.hostname.empty() && !uts) fail("hostname", "unable to set hostname without a private UTS namespace");
    if (!spec.domainname.empty() && !uts) fail("domainname", "unable to set domainname without a private UTS namespace");
}

}  // namespace kiln::spec
