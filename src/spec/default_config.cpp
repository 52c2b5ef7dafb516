// The config.json `kiln spec` writes: runc 1.1's template, key for key and in
// the same order, so tools that diff against `runc spec` output see no change
// beyond ociVersion.
#include <initializer_list>

#include "kiln/json.hpp"
#include "kiln/spec.hpp"

namespace kiln::spec {
namespace {

using json::Writer;
using Strings = std::initializer_list<const char *>;

void string_array(Writer &w, const char *key, Strings values) {
    w.key(key).begin_array();
    for (const char *v : values) w.string(v);
    w.end_array();
}

void process(Writer &w) {
    static constexpr Strings caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    w.key("process").begin_object();
    w.key("terminal").boolean(true);
    w.key("user").begin_object().key("uid").integer(0).key("gid").integer(0).end_object();
    string_array(w, "args", {"sh"});
    string_array(w, "env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"});
    w.key("cwd").string("/");
    w.key("capabilities").begin_object();
    for (const char *set : {"bounding", "effective", "permitted", "ambient"}) string_array(w, set, caps);
    w.end_object();
    w.key("rlimits").begin_array();
    w.begin_object().key("type").string("RLIMIT_NOFILE");
    w.key("hard").integer(1024).key("soft").integer(1024).end_object();
    w.end_array();
    w.key("noNewPrivileges").boolean(true);
    w.end_object();
}

void mount(Writer &w, const char *dest, const char *type, const char *source, Strings options) {
    w.begin_object();
    w.key("destination").string(dest).key("type").string(type).key("source").string(source);
    if (options.size() > 0) string_array(w, "options", options);
    w.end_object();
}

void mounts(Writer &w, bool rootless) {
    w.key("mounts").begin_array();
    mount(w, "/proc", "proc", "proc", {});
    mount(w, "/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
    // Without a mapping for gid 5 in the user namespace devpts rejects gid=5.
    if (rootless)
        mount(w, "/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
    else
        mount(w, "/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
    mount(w, "/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"});
    mount(w, "/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"});
    // A fresh sysfs needs a network namespace owned by the container's user
    // namespace; rootless containers keep the host's, so they bind it instead.
    if (rootless)
        mount(w, "/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
    else
        mount(w, "/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
    mount(w, "/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"});
    w.end_array();
}

void id_mapping(Writer &w, const char *key, uint32_t host_id) {
    w.key(key).begin_array();
    w.begin_object().key("containerID").integer(0).key("hostID").uinteger(host_id).key("size").integer(1).end_object();
    w.end_array();
}

void linux_section(Writer &w, bool rootless, uint32_t uid, uint32_t gid) {
    w.key("linux").begin_object();
    if (rootless) {
        id_mapping(w, "uidMappings", uid);
        id_mapping(w, "gidMappings", gid);
    } else {
        w.key("resources").begin_object().key("devices").begin_array();
        w.begin_object().key("allow").boolean(false).key("access").string("rwm").end_object();
        w.end_array().end_object();
    }
    w.key("namespaces").begin_array();
    // Rootless: no network namespace (the host's is kept) but a user namespace.
    for (const char *t : {"pid", "network", "ipc", "uts", "mount", "user"}) {
        if (std::string_view(t) == (rootless ? "network" : "user")) continue;
        w.begin_object().key("type").string(t).end_object();
    }
    w.end_array();
    string_array(w, "maskedPaths",
                 {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"});
    string_array(w, "readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"});
    w.end_object();
}

}  // namespace

std::string default_config_json(bool rootless, uint32_t uid, uint32_t gid) {
    Writer w("\t");  // runc indents its template with tabs
    w.begin_object();
    w.key("ociVersion").string(kSpecVersion);
    process(w);
    w.key("root").begin_object().key("path").string("rootfs").key("readonly").boolean(true).end_object();
    w.key("hostname").string("runc");
    mounts(w, rootless);
    linux_section(w, rootless, uid, gid);
    w.end_object();
    return w.str();
}

}  // namespace kiln::spec
