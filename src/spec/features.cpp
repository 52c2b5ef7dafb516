// The runtime-spec features document (features.md) that `kiln features` prints.
#include <seccomp.h>

#include <string>

#include "handlers/handler.hpp"
#include "kiln/json.hpp"
#include "kiln/spec.hpp"
#include "linux/process.hpp"
#include "linux/rootfs.hpp"
#include "names.hpp"
#include "tables.hpp"

namespace kiln::spec {
namespace {

using json::Writer;

constexpr std::string_view kHooks[] = {"prestart",       "createRuntime", "createContainer",
                                       "startContainer", "poststart",     "poststop"};

template <class List>
void string_array(Writer &w, const char *key, const List &values) {
    w.key(key).begin_array();
    for (std::string_view v : values) w.string(v);
    w.end_array();
}

template <class T, size_t N>
void table_names(Writer &w, const char *key, const std::array<T, N> &table) {
    w.key(key).begin_array();
    for (auto &e : table) w.string(e.name);
    w.end_array();
}

void enabled(Writer &w, const char *key, bool on) { w.key(key).begin_object().key("enabled").boolean(on).end_object(); }

// Flags this libseccomp and kernel can apply: those libseccomp sets at its
// API level (see seccomp_api_get(3)), and those kiln loads with seccomp(2)
// itself where this kernel takes them.
std::vector<std::string_view> supported_seccomp_flags() {
    unsigned api = seccomp_api_get();
    std::vector<std::string_view> out;
    for (auto &f : tables::kSeccompFlags)
        if (f.attr ? api >= f.api : process::seccomp_flag_supported(f.value)) out.push_back(f.name);
    return out;
}

void seccomp_section(Writer &w) {
    w.key("seccomp").begin_object();
    w.key("enabled").boolean(true);
    table_names(w, "actions", tables::kSeccompActions);
    table_names(w, "operators", tables::kSeccompOperators);
    table_names(w, "archs", tables::kSeccompArchs);
    table_names(w, "knownFlags", tables::kSeccompFlags);
    string_array(w, "supportedFlags", supported_seccomp_flags());
    w.end_object();
}

void linux_section(Writer &w) {
    w.key("linux").begin_object();
    table_names(w, "namespaces", tables::kNamespaces);
    string_array(w, "capabilities", names::kCapabilities);
    w.key("cgroup").begin_object();
    w.key("v1").boolean(true).key("v2").boolean(true).key("systemd").boolean(true);
    w.key("systemdUser").boolean(false).key("rdma").boolean(true);
    w.end_object();
    seccomp_section(w);
    enabled(w, "apparmor", false);
    enabled(w, "selinux", false);
    // Through resctrl where the host has it (linux/resctrl.cpp).
    w.key("intelRdt").begin_object();
    w.key("enabled").boolean(true).key("schemata").boolean(true).key("monitoring").boolean(true);
    w.end_object();
    w.key("memoryPolicy").begin_object();
    table_names(w, "modes", names::kMemoryPolicyModes);
    table_names(w, "flags", names::kMemoryPolicyFlags);
    w.end_object();
    w.key("mountExtensions").begin_object();
    enabled(w, "idmap", true);
    w.end_object();
    enabled(w, "netDevices", true);
    w.end_object();
}

std::string libseccomp_version() {
    const scmp_version *v = seccomp_version();
    if (!v) return "unknown";
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

}  // namespace

std::string features_json(const std::string &criu_version) {
    Writer w("    ");
    w.begin_object();
    w.key("ociVersionMin").string("1.0.0");
    w.key("ociVersionMax").string(kSpecVersion);
    string_array(w, "hooks", kHooks);
    string_array(w, "mountOptions", rootfs::option_names());
    linux_section(w);
    w.key("annotations").begin_object();
    w.key("io.github.seccomp.libseccomp.version").string(libseccomp_version());
    // runc's key for engines that look for it, kiln's own, and which CRIU.
    const char *cr = criu_version.empty() ? "false" : "true";
    w.key("org.opencontainers.runc.checkpoint.enabled").string(cr);
    w.key("io.kiln.checkpoint.enabled").string(cr);
    if (!criu_version.empty()) w.key("io.kiln.checkpoint.criu.version").string(criu_version);
    w.key("io.kiln.handlers").string(handlers::names(","));
    w.end_object();
    string_array(w, "potentiallyUnsafeConfigAnnotations", names::kUnsafeAnnotations);
    w.end_object();
    return w.str();
}

}  // namespace kiln::spec
