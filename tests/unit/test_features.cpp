// `kiln features` says what kiln does: every advertised name is fed back to
// the code that handles it (the parser, validate(), the mount option table,
// the capability and memory policy mappings), so the document cannot claim
// something the code refuses or ignores.
#include <catch2/catch.hpp>

#include <linux/mempolicy.h>

#include <algorithm>
#include <set>

#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "kiln/spec.hpp"
#include "linux/process.hpp"
#include "linux/rootfs.hpp"
#include "test_data.hpp"

using namespace kiln;

namespace {

json::Doc features() { return json::Doc::parse(spec::features_json(), "features"); }

std::vector<std::string> array(const json::Doc &d, std::initializer_list<const char *> path) {
    std::vector<std::string> out;
    REQUIRE(d.get_string_array(path, out));
    REQUIRE_FALSE(out.empty());
    return out;
}

spec::Spec base() { return spec::parse_config(read_test_data("runc-spec.json")); }

std::string validation_error(const spec::Spec &s) {
    try {
        spec::validate(s);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("features: the runtime-spec 1.3 document") {
    auto d = features();
    CHECK(d.get_string({"ociVersionMin"}) == "1.0.0");
    CHECK(d.get_string({"ociVersionMax"}) == "1.3.0");
    CHECK(d.get_bool({"linux", "netDevices", "enabled"}));
    CHECK(d.get_bool({"linux", "mountExtensions", "idmap", "enabled"}));
    CHECK(d.get_bool({"linux", "intelRdt", "enabled"}));
    CHECK(d.get_bool({"linux", "intelRdt", "schemata"}));
    CHECK(d.get_bool({"linux", "intelRdt", "monitoring"}));
    auto unsafe = array(d, {"potentiallyUnsafeConfigAnnotations"});
    CHECK(unsafe == std::vector<std::string>{"run.oci.handler", "bundle", "org.systemd.property.", "org.criu.config"});
}

TEST_CASE("features: every mount option is one the mount code understands") {
    auto opts = array(features(), {"mountOptions"});
    CHECK(std::is_sorted(opts.begin(), opts.end()));
    CHECK(opts.size() == rootfs::option_names().size());
    for (auto &o : opts) {
        INFO(o);
        // An unknown option would end up as filesystem data.
        CHECK(rootfs::parse_options({o}).data.empty());
    }
    for (const char *o : {"acl", "size=1k", "mode=755"}) CHECK_FALSE(rootfs::parse_options({o}).data.empty());
}

TEST_CASE("features: namespaces, seccomp names and flags pass validation") {
    auto d = features();
    for (auto &ns : array(d, {"linux", "namespaces"})) {
        spec::Spec s = base();
        s.linux->namespaces = {{ns, ""}};
        s.hostname.clear();
        if (ns == "user") s.linux->uidMappings = s.linux->gidMappings = {{0, 1000, 1}};
        INFO(ns);
        CHECK(validation_error(s) == "");
    }
    spec::Spec s = base();
    s.linux->seccomp.emplace();
    s.linux->seccomp->defaultAction = "SCMP_ACT_ALLOW";
    s.linux->seccomp->listenerPath = "/run/agent.sock";
    s.linux->seccomp->architectures = array(d, {"linux", "seccomp", "archs"});
    s.linux->seccomp->flags = array(d, {"linux", "seccomp", "knownFlags"});
    for (auto &a : array(d, {"linux", "seccomp", "actions"})) {
        spec::SeccompSyscall rule;
        rule.names = {"getcwd"};
        rule.action = a;
        for (auto &op : array(d, {"linux", "seccomp", "operators"})) rule.args.push_back({0, 1, 0, op});
        s.linux->seccomp->syscalls.push_back(rule);
    }
    CHECK(validation_error(s) == "");
    auto known = array(d, {"linux", "seccomp", "knownFlags"});
    std::vector<std::string> supported;
    d.get_string_array({"linux", "seccomp", "supportedFlags"}, supported);
    for (auto &f : supported) CHECK(std::find(known.begin(), known.end(), f) != known.end());
    bool wk = std::find(supported.begin(), supported.end(), "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") != supported.end();
    CHECK(wk == process::seccomp_wait_killable_supported());
}

TEST_CASE("features: every capability is one the process code applies") {
    spec::Capabilities c;
    c.bounding = array(features(), {"linux", "capabilities"});
    CHECK(c.bounding.size() == 41);
    CHECK(process::unknown_capabilities(c).empty());
}

TEST_CASE("features: memory policy modes and flags map to the kernel's values") {
    auto d = features();
    auto modes = array(d, {"linux", "memoryPolicy", "modes"});
    auto flags = array(d, {"linux", "memoryPolicy", "flags"});
    CHECK(modes.size() == 7);
    CHECK(flags == std::vector<std::string>{"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"});
    const std::pair<const char *, unsigned> want[] = {
        {"MPOL_DEFAULT", MPOL_DEFAULT}, {"MPOL_PREFERRED", MPOL_PREFERRED},         {"MPOL_BIND", MPOL_BIND},
        {"MPOL_INTERLEAVE", MPOL_INTERLEAVE}, {"MPOL_LOCAL", MPOL_LOCAL}, {"MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY},
        {"MPOL_WEIGHTED_INTERLEAVE", 6}};
    for (auto &m : modes) {
        auto it = std::find_if(std::begin(want), std::end(want), [&](auto &p) { return m == p.first; });
        REQUIRE(it != std::end(want));
        spec::Spec s = base();
        s.linux->memoryPolicy = spec::MemoryPolicy{m, m == "MPOL_DEFAULT" || m == "MPOL_LOCAL" ? "" : "0", flags};
        INFO(m);
        CHECK(validation_error(s) == "");
        CHECK(spec::memory_policy_mode(*s.linux->memoryPolicy) ==
              (it->second | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING));
    }
}

TEST_CASE("features: every hook is parsed") {
    auto hooks = array(features(), {"hooks"});
    std::string text = R"({"ociVersion":"1.3.0","root":{"path":"r"},"hooks":{)";
    for (auto &h : hooks) text += "\"" + h + "\":[{\"path\":\"/bin/true\"}],";
    text.back() = '}';
    text += "}";
    auto s = spec::parse_config(text);
    REQUIRE(s.hooks);
    for (auto *list : {&s.hooks->prestart, &s.hooks->createRuntime, &s.hooks->createContainer,
                       &s.hooks->startContainer, &s.hooks->poststart, &s.hooks->poststop})
        CHECK(list->size() == 1);
    CHECK(hooks.size() == 6);
}
