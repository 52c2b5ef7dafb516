// The {name, value} tables (src/spec/tables.hpp) against their three users:
// `kiln features` advertises exactly the table, validation accepts every
// entry and refuses a name outside it, and src/linux translates every
// entry (seccomp through a built filter, rlimits through setrlimit). Drop
// an entry from one side, or let one side keep a list of its own, and a
// case here fails.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <string>

#include "handlers/handler.hpp"
#include "kiln/error.hpp"
#include "kiln/json.hpp"
#include "kiln/spec.hpp"
#include "linux/process.hpp"
#include "linux/namespaces.hpp"
#include "linux/rootfs.hpp"
#include "spec/tables.hpp"
#include "test_data.hpp"

using namespace kiln;
namespace tables = kiln::spec::tables;

namespace {

std::vector<std::string> features_array(std::initializer_list<const char *> path) {
    auto d = json::Doc::parse(spec::features_json(), "features");
    std::vector<std::string> out;
    REQUIRE(d.get_string_array(path, out));
    return out;
}

template <class T, size_t N>
std::vector<std::string> names_of(const std::array<T, N> &table) {
    std::vector<std::string> out;
    for (auto &e : table) out.emplace_back(e.name);
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

spec::Spec with_seccomp(const std::string &default_action) {
    spec::Spec s = base();
    s.linux->seccomp.emplace();
    s.linux->seccomp->defaultAction = default_action;
    return s;
}

}  // namespace

TEST_CASE("tables: features lists exactly the seccomp tables, in their order", "[tables]") {
    CHECK(features_array({"linux", "seccomp", "actions"}) == names_of(tables::kSeccompActions));
    CHECK(features_array({"linux", "seccomp", "operators"}) == names_of(tables::kSeccompOperators));
    CHECK(features_array({"linux", "seccomp", "archs"}) == names_of(tables::kSeccompArchs));
    CHECK(features_array({"linux", "seccomp", "knownFlags"}) == names_of(tables::kSeccompFlags));
    // supportedFlags: the table's flags this libseccomp and kernel apply.
    std::vector<std::string> want;
    for (auto &f : tables::kSeccompFlags)
        if (f.attr ? seccomp_api_get() >= f.api : process::seccomp_flag_supported(f.value)) want.emplace_back(f.name);
    std::vector<std::string> supported;
    json::Doc::parse(spec::features_json(), "features").get_string_array({"linux", "seccomp", "supportedFlags"}, supported);
    CHECK(supported == want);
}

TEST_CASE("tables: features lists the handler table", "[tables]") {
    auto d = json::Doc::parse(spec::features_json(), "features");
    CHECK(d.get_string({"annotations", "io.kiln.handlers"}) == handlers::names(","));
    CHECK(handlers::names(",") == "default,km");
}

TEST_CASE("tables: every seccomp action validates and builds; others are refused", "[tables]") {
    for (auto &a : tables::kSeccompActions) {
        INFO(a.name);
        spec::Spec s = with_seccomp("SCMP_ACT_ALLOW");
        spec::SeccompSyscall r;
        r.names = {"getcwd"};
        r.action = std::string(a.name);
        s.linux->seccomp->syscalls = {r};
        s.linux->seccomp->listenerPath = "/run/agent.sock";
        CHECK(validation_error(s) == "");
        CHECK_NOTHROW(process::build_seccomp(*s.linux->seccomp, true));
        if (a.name == "SCMP_ACT_NOTIFY") continue;  // never the default action (runc)
        s = with_seccomp(std::string(a.name));
        CHECK(validation_error(s) == "");
        CHECK_NOTHROW(process::build_seccomp(*s.linux->seccomp, true));
    }
    spec::Spec s = with_seccomp("SCMP_ACT_KILL_SOME");
    CHECK(validation_error(s) == "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_KILL_SOME\"");
}

TEST_CASE("tables: seccomp action values are libseccomp's", "[tables]") {
    auto value = [](std::string_view n) {
        const tables::Entry *e = tables::find(tables::kSeccompActions, n);
        REQUIRE(e);
        return static_cast<uint32_t>(e->value);
    };
    CHECK(value("SCMP_ACT_ALLOW") == SCMP_ACT_ALLOW);
    CHECK(value("SCMP_ACT_KILL") == SCMP_ACT_KILL);
    CHECK(value("SCMP_ACT_KILL_PROCESS") == SCMP_ACT_KILL_PROCESS);
    CHECK(value("SCMP_ACT_ERRNO") == SCMP_ACT_ERRNO(0));
    CHECK(value("SCMP_ACT_TRACE") == SCMP_ACT_TRACE(0));
    CHECK(tables::action_takes_ret(value("SCMP_ACT_ERRNO")));
    CHECK_FALSE(tables::action_takes_ret(value("SCMP_ACT_LOG")));
}

TEST_CASE("tables: every operator, architecture and flag validates and builds", "[tables]") {
    spec::Spec s = with_seccomp("SCMP_ACT_ALLOW");
    spec::SeccompSyscall r;
    r.names = {"getcwd"};
    r.action = "SCMP_ACT_NOTIFY";  // WAIT_KILLABLE_RECV needs a listener
    for (auto &op : tables::kSeccompOperators) r.args.push_back({static_cast<uint32_t>(r.args.size() % 6), 1, 0, std::string(op.name)});
    s.linux->seccomp->syscalls = {r};
    s.linux->seccomp->listenerPath = "/run/agent.sock";
    s.linux->seccomp->architectures = names_of(tables::kSeccompArchs);
    for (auto &f : tables::kSeccompFlags)
        if (!f.attr || seccomp_api_get() >= f.api) s.linux->seccomp->flags.emplace_back(f.name);
    CHECK(validation_error(s) == "");
    // One filter takes architectures of one byte order (libseccomp: EDOM);
    // test_seccomp_build.cpp adds each architecture on its own.
    s.linux->seccomp->architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    CHECK_NOTHROW(process::build_seccomp(*s.linux->seccomp, true));
    s.linux->seccomp->architectures = {"SCMP_ARCH_PDP11"};
    CHECK(validation_error(s) == "config.json: linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_PDP11\"");
}

TEST_CASE("tables: WAIT_KILLABLE_RECV is accepted only with a listener, and loaded by kiln itself", "[tables]") {
    const tables::SeccompFlag *wk = tables::find(tables::kSeccompFlags, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    REQUIRE(wk);
    CHECK(wk->attr == 0);  // no libseccomp 2.5 attribute: seccomp(2) with the flag (src/linux/seccomp.cpp)
    CHECK(wk->value == (1UL << 5));
    spec::Spec s = with_seccomp("SCMP_ACT_ALLOW");
    s.linux->seccomp->flags = {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
    CHECK(validation_error(s) ==
          "config.json: linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule");
}

TEST_CASE("tables: every rlimit validates and is applied to its resource", "[tables]") {
    for (auto &r : tables::kRlimits) {
        INFO(r.name);
        spec::Spec s = base();
        struct rlimit cur;
        REQUIRE(::getrlimit(static_cast<int>(r.value), &cur) == 0);
        s.process->rlimits = {{std::string(r.name), cur.rlim_max, cur.rlim_cur}};
        CHECK(validation_error(s) == "");
        // The current limits again: allowed without privilege.
        CHECK_NOTHROW(process::set_rlimits(s.process->rlimits));
    }
    // The value is the resource: lower RLIMIT_CORE's soft limit through the table.
    struct rlimit core;
    REQUIRE(::getrlimit(RLIMIT_CORE, &core) == 0);
    process::set_rlimits({{"RLIMIT_CORE", core.rlim_max, 0}});
    struct rlimit now;
    REQUIRE(::getrlimit(RLIMIT_CORE, &now) == 0);
    CHECK(now.rlim_cur == 0);
    ::setrlimit(RLIMIT_CORE, &core);
    spec::Spec s = base();
    s.process->rlimits = {{"RLIMIT_SPEED", 1, 1}};
    CHECK(validation_error(s) == "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_SPEED\"");
    CHECK_THROWS_WITH(process::set_rlimits(s.process->rlimits),
                      "config.json: process.rlimits: unknown rlimit type \"RLIMIT_SPEED\"");
}

TEST_CASE("tables: scheduler policies and flags, I/O priority classes", "[tables]") {
    CHECK(tables::find(tables::kSchedPolicies, "SCHED_OTHER")->value == SCHED_OTHER);
    CHECK(tables::find(tables::kSchedPolicies, "SCHED_FIFO")->value == SCHED_FIFO);
    CHECK(tables::find(tables::kSchedPolicies, "SCHED_RR")->value == SCHED_RR);
    CHECK(tables::find(tables::kSchedPolicies, "SCHED_BATCH")->value == SCHED_BATCH);
    CHECK(tables::find(tables::kSchedPolicies, "SCHED_IDLE")->value == SCHED_IDLE);
    for (auto &p : tables::kSchedPolicies) {
        INFO(p.name);
        spec::Spec s = base();
        s.process->scheduler.emplace();
        s.process->scheduler->policy = std::string(p.name);
        s.process->scheduler->flags = names_of(tables::kSchedFlags);
        CHECK(validation_error(s) == "");
    }
    spec::Spec s = base();
    s.process->scheduler.emplace();
    s.process->scheduler->policy = "SCHED_OTHER";
    s.process->scheduler->flags = {"SCHED_FLAG_RECLAIM", "SCHED_FLAG_FAST"};
    // Refused here, at create, rather than inside the init.
    CHECK(validation_error(s) == "config.json: process.scheduler.flags[1]: unknown flag \"SCHED_FLAG_FAST\"");
    for (auto &c : tables::kIoPrioClasses) {
        INFO(c.name);
        spec::Spec t = base();
        t.process->ioPriority.emplace();
        t.process->ioPriority->klass = std::string(c.name);
        CHECK(validation_error(t) == "");
    }
}

// The runtime-spec's own lists (config-linux.md, config.md), written out
// here: an entry dropped from a table (and so from validation, features and
// src/linux at once) fails this case.
TEST_CASE("tables: the runtime-spec's names are all there", "[tables]") {
    auto has_all = [](const std::vector<std::string> &have, std::initializer_list<const char *> want) {
        for (const char *w : want) {
            INFO(w);
            CHECK(std::find(have.begin(), have.end(), w) != have.end());
        }
    };
    has_all(names_of(tables::kSeccompActions),
            {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
             "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"});
    has_all(names_of(tables::kSeccompOperators), {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                                  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"});
    has_all(names_of(tables::kSeccompFlags), {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                              "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"});
    has_all(names_of(tables::kSeccompArchs),
            {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
             "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
             "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
             "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"});
    has_all(names_of(tables::kRlimits),
            {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK",
             "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
             "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"});
    has_all(names_of(tables::kSchedPolicies), {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                                               "SCHED_IDLE", "SCHED_DEADLINE"});
    has_all(names_of(tables::kIoPrioClasses), {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"});
}

TEST_CASE("tables: mount options and propagations reach the mount code and validation", "[tables]") {
    for (auto &f : tables::kMountFlags) {
        INFO(f.name);
        auto o = rootfs::parse_options({std::string(f.name)});
        CHECK(o.data.empty());
        CHECK(((f.clear ? o.clear : o.flags) & f.flag) == f.flag);
    }
    for (auto &p : tables::kPropagations) {
        INFO(p.name);
        CHECK(rootfs::parse_options({std::string(p.name)}).propagation == p.flag);
        spec::Spec s = base();
        s.linux->rootfsPropagation = std::string(p.name);
        CHECK(validation_error(s) == "");
    }
    for (auto &a : tables::kRecursiveMountAttrs) {
        INFO(a.name);
        auto o = rootfs::parse_options({std::string(a.name)});
        CHECK(o.data.empty());
        CHECK(((a.clear ? o.attr_clr : o.attr_set) | o.attr_clr) != 0);
    }
    for (auto &e : tables::kMountExtensions) CHECK(rootfs::parse_options({std::string(e)}).data.empty());
    auto names = rootfs::option_names();
    CHECK(names.size() == tables::kMountFlags.size() + tables::kPropagations.size() +
                               tables::kRecursiveMountAttrs.size() + tables::kMountExtensions.size());
    spec::Spec s = base();
    s.linux->rootfsPropagation = "rshared-ish";
    CHECK(validation_error(s) != "");
}

TEST_CASE("tables: namespaces: features, validation and the clone flags", "[tables]") {
    CHECK(features_array({"linux", "namespaces"}) == names_of(tables::kNamespaces));
    CHECK(ns::flag_of("network") == CLONE_NEWNET);
    CHECK(ns::flag_of("mount") == CLONE_NEWNS);
    CHECK(ns::flag_of("user") == CLONE_NEWUSER);
    CHECK(ns::flag_of("time") == 0x80);
    CHECK(ns::flag_of("net") == 0);
    unsigned long all = 0;
    for (auto &n : tables::kNamespaces) all |= ns::flag_of(std::string(n.name));
    CHECK(all == (CLONE_NEWCGROUP | CLONE_NEWIPC | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | 0x80 | CLONE_NEWUSER |
                  CLONE_NEWUTS));
    spec::Spec s = base();
    s.linux->namespaces = {{"net", ""}};
    CHECK(validation_error(s) != "");
}
