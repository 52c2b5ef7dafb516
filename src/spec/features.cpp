// The runtime-spec features document (features.md) that `kiln features` prints.
#include <seccomp.h>

#include <string>

#include "kiln/json.hpp"
#include "kiln/spec.hpp"
#include "names.hpp"

namespace kiln::spec {
namespace {

using json::Writer;

// The options the mount code understands (runc's set minus acl/noacl, which
// only ever meant anything to ancient kernels).
constexpr std::string_view kMountOptions[] = {
    "async",      "atime",      "bind",          "defaults",       "dev",         "diratime",     "dirsync",
    "exec",       "idmap",      "iversion",   "lazytime",      "loud",           "mand",        "noatime",      "nodev",
    "nodiratime", "noexec",     "noiversion",    "nolazytime",     "nomand",      "norelatime",   "nostrictatime",
    "nosuid",     "nosymfollow", "private",      "ratime",         "rbind",       "rdev",         "rdiratime",
    "relatime",   "remount",    "rexec",         "ridmap",         "rnoatime",       "rnodev",      "rnodiratime",  "rnoexec",
    "rnorelatime", "rnostrictatime", "rnosuid",  "rnosymfollow",   "ro",          "rprivate",     "rrelatime",
    "rro",        "rrw",        "rshared",       "rslave",         "rstrictatime", "rsuid",       "rsymfollow",
    "runbindable", "rw",        "shared",        "silent",         "slave",       "strictatime",  "suid",
    "symfollow",  "sync",       "tmpcopyup",     "unbindable",
};

constexpr std::string_view kHooks[] = {"prestart",       "createRuntime", "createContainer",
                                       "startContainer", "poststart",     "poststop"};

template <class List>
void string_array(Writer &w, const char *key, const List &values) {
    w.key(key).begin_array();
    for (std::string_view v : values) w.string(v);
    w.end_array();
}

void enabled(Writer &w, const char *key, bool on) { w.key(key).begin_object().key("enabled").boolean(on).end_object(); }

// Flags this libseccomp and kernel can apply, by libseccomp API level
// (see seccomp_api_get(3)).
std::vector<std::string_view> supported_seccomp_flags() {
    unsigned api = seccomp_api_get();
    std::vector<std::string_view> out;
    if (api >= 2) out.push_back("SECCOMP_FILTER_FLAG_TSYNC");
    if (api >= 3) out.push_back("SECCOMP_FILTER_FLAG_LOG");
    if (api >= 4) out.push_back("SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    if (api >= 7) out.push_back("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    return out;
}

void seccomp_section(Writer &w) {
    w.key("seccomp").begin_object();
    w.key("enabled").boolean(true);
    string_array(w, "actions", names::kSeccompActions);
    string_array(w, "operators", names::kSeccompOperators);
    string_array(w, "archs", names::kSeccompArchs);
    string_array(w, "knownFlags", names::kSeccompFlags);
    string_array(w, "supportedFlags", supported_seccomp_flags());
    w.end_object();
}

void linux_section(Writer &w) {
    w.key("linux").begin_object();
    string_array(w, "namespaces", names::kNamespaces);
    string_array(w, "capabilities", names::kCapabilities);
    w.key("cgroup").begin_object();
    w.key("v1").boolean(true).key("v2").boolean(true).key("systemd").boolean(true);
    w.key("systemdUser").boolean(false).key("rdma").boolean(true);
    w.end_object();
    seccomp_section(w);
    enabled(w, "apparmor", false);
    w.key("mountExtensions").begin_object();
    enabled(w, "idmap", true);
    w.end_object();
    enabled(w, "selinux", false);
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
    string_array(w, "mountOptions", kMountOptions);
    linux_section(w);
    w.key("annotations").begin_object();
    w.key("io.github.seccomp.libseccomp.version").string(libseccomp_version());
    // runc's key for engines that look for it, kiln's own, and which CRIU.
    const char *cr = criu_version.empty() ? "false" : "true";
    w.key("org.opencontainers.runc.checkpoint.enabled").string(cr);
    w.key("io.kiln.checkpoint.enabled").string(cr);
    if (!criu_version.empty()) w.key("io.kiln.checkpoint.criu.version").string(criu_version);
    w.key("io.kiln.handlers").string("default,km");
    w.end_object();
    w.end_object();
    return w.str();
}

}  // namespace kiln::spec
