// build_seccomp refuses, quickly and naming the rule, a profile that would
// keep libseccomp 2.5 busy for minutes or for ever (see RuleBudget in
// src/linux/seccomp.cpp); real profiles and the largest allowed ones build.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <tuple>

#include "kiln/error.hpp"
#include "kiln/spec.hpp"
#include "linux/process.hpp"
#include "test_data.hpp"

using Catch::Matchers::Contains;
using namespace kiln;

namespace {

spec::Seccomp profile(const std::string &seccomp_json) {
    std::string text = R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},"linux":{"seccomp":)" + seccomp_json + "}}";
    spec::Spec s = spec::parse_config(text);
    spec::validate(s);
    return *s.linux->seccomp;
}

// `rules` rules on one syscall, each with `conds` SCMP_CMP_NE conditions on
// arguments 0.. with values no other rule uses (libseccomp's slowest case).
std::string ne_rules(const std::string &name, int rules, int conds, int base = 0) {
    std::string out;
    for (int r = 0; r < rules; ++r) {
        std::string args;
        for (int c = 0; c < conds; ++c)
            args += std::string(c ? "," : "") + R"({"index":)" + std::to_string(c) + R"(,"value":)" +
                    std::to_string(base + r * conds + c + 1) + R"(,"op":"SCMP_CMP_NE"})";
        out += std::string(r ? "," : "") + R"({"names":[")" + name + R"("],"action":"SCMP_ACT_ERRNO","args":[)" + args + "]}";
    }
    return out;
}

const char *const kNames[] = {"read",  "write", "openat",   "close",  "ioctl",   "mmap",    "socket", "kill",
                              "clone", "personality", "mprotect", "munmap", "brk",     "pread64", "pwrite64",
                              "readv", "writev", "access",   "pipe",   "select",  "sched_yield", "mremap"};

std::string with_syscalls(const std::string &rules) {
    return R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[)" + rules + "]}";
}

// Seconds to build and export the filter (what loading it costs, less the
// kernel's part).
double build_seconds(const spec::Seccomp &s) {
    auto t0 = std::chrono::steady_clock::now();
    auto filter = process::build_seccomp(s, true);
    int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(seccomp_export_bpf(filter.get(), fd) == 0);
    ::close(fd);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("build_seccomp: the fuzz input that kept libseccomp looping is refused at once", "[seccomp]") {
    spec::Seccomp s = profile(read_test_data("../fuzz/corpus/seccomp/regress-libseccomp-slow-rule-add.json"));
    auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(process::build_seccomp(s, true),
                      "seccomp: linux.seccomp.syscalls[6].args: the conditions on socket share a leading comparison "
                      "(not SCMP_CMP_EQ or SCMP_CMP_MASKED_EQ) with linux.seccomp.syscalls[2].args and then differ; "
                      "libseccomp 2.5 cannot build that filter");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}

TEST_CASE("build_seccomp: rules sharing a leading comparison", "[seccomp]") {
    auto two = [](const std::string &a, const std::string &b) {
        return profile(with_syscalls(R"({"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[)" + a + R"(]},)" +
                                     R"({"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[)" + b + "]}"));
    };
    const std::string ne1 = R"({"index":1,"value":16,"op":"SCMP_CMP_NE"})";
    const std::string eq1 = R"({"index":1,"value":16,"op":"SCMP_CMP_EQ"})";
    const std::string eq2 = R"({"index":2,"value":4,"op":"SCMP_CMP_EQ"})";
    const std::string eq3 = R"({"index":3,"value":4,"op":"SCMP_CMP_EQ"})";
    // The loop (libseccomp 2.5.4 never returns): NE shared, then arguments 2 and 3.
    CHECK_THROWS_WITH(process::build_seccomp(two(ne1 + "," + eq2, ne1 + "," + eq3), true),
                      Contains("linux.seccomp.syscalls[1].args: the conditions on socket share a leading comparison"));
    // Conditions are compared by argument, whatever order the profile lists them in.
    CHECK_THROWS_WITH(process::build_seccomp(two(eq2 + "," + ne1, eq3 + "," + ne1), true),
                      Contains("with linux.seccomp.syscalls[0].args and then differ"));
    // Fine: a shared EQ, a shared NE that one rule ends with, different NEs.
    CHECK_NOTHROW(build_seconds(two(eq1 + "," + eq2, eq1 + "," + eq3)));
    CHECK_NOTHROW(build_seconds(two(ne1, ne1 + "," + eq3)));
    CHECK_NOTHROW(build_seconds(two(ne1 + "," + eq2, R"({"index":1,"value":17,"op":"SCMP_CMP_NE"},)" + eq3)));
}

TEST_CASE("build_seccomp: the conditional rules per syscall and conditions are bounded", "[seccomp]") {
    CHECK_THROWS_WITH(process::build_seccomp(profile(with_syscalls(ne_rules("socket", 33, 1))), true),
                      "seccomp: linux.seccomp.syscalls[32]: more than 32 conditional rules for socket");
    // One rule naming a syscall twice counts twice; unknown names not at all.
    std::string twice = R"({"names":["kill","no_such_syscall","kill"],"action":"SCMP_ACT_ERRNO",)"
                        R"("args":[{"index":3,"value":1,"op":"SCMP_CMP_GT"}]})";
    CHECK_THROWS_WITH(
        process::build_seccomp(profile(with_syscalls(ne_rules("kill", 16, 1) + "," + twice + "," + ne_rules("kill", 15, 1, 100))), true),
        "seccomp: linux.seccomp.syscalls[31]: more than 32 conditional rules for kill");
    // Several conditions on one argument are one rule each (as runc does).
    std::string same_arg;
    for (int v = 0; v < 33; ++v)
        same_arg += std::string(v ? "," : "") + R"({"index":0,"value":)" + std::to_string(v) + R"(,"op":"SCMP_CMP_EQ"})";
    CHECK_THROWS_WITH(
        process::build_seccomp(profile(with_syscalls(R"({"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[)" + same_arg + "]}")), true),
        "seccomp: linux.seccomp.syscalls[0]: more than 32 conditional rules for personality");
    // Conditions beyond each rule's first: 5 + 5, then 5 more.
    CHECK_THROWS_WITH(process::build_seccomp(profile(with_syscalls(ne_rules("socket", 3, 6))), true),
                      "seccomp: linux.seccomp.syscalls[2].args: more than 10 argument conditions for socket besides the "
                      "first of each rule");
    // In the whole profile: 32 conditions beyond each rule's first (6 syscalls
    // of one six-condition rule take 30, the seventh goes past) ...
    std::string extra;
    for (int n = 0; n < 7; ++n) extra += std::string(n ? "," : "") + ne_rules(kNames[n], 1, 6, n * 1000);
    CHECK_THROWS_WITH(process::build_seccomp(profile(with_syscalls(extra)), true),
                      "seccomp: linux.seccomp.syscalls[6].args: more than 32 argument conditions in the profile besides "
                      "the first of each rule");
    // ... and 256 conditions (8 syscalls of 32 one-condition rules, then one more).
    std::string many;
    for (int n = 0; n < 9; ++n) many += std::string(n ? "," : "") + ne_rules(kNames[n], 32, 1, n * 1000);
    CHECK_THROWS_WITH(process::build_seccomp(profile(with_syscalls(many)), true),
                      "seccomp: linux.seccomp.syscalls[256].args: more than 256 argument conditions in the profile");
}

TEST_CASE("build_seccomp: the largest allowed profiles build in well under a second", "[seccomp]") {
    // containers-common's default profile (podman's and docker's).
    CHECK(build_seconds(profile(read_test_data("../fuzz/corpus/seccomp/containers-default.json"))) < 1.0);
    // At the bounds on one syscall, SCMP_CMP_NE throughout (libseccomp's slowest).
    double worst = 0;
    for (auto [rules, conds] : {std::pair{2, 6}, {3, 4}, {5, 3}, {10, 2}}) {
        std::string all = ne_rules("socket", rules, conds) + "," + ne_rules("socket", 32 - rules, 1, 500);
        double t = build_seconds(profile(with_syscalls(all)));
        INFO(rules << " rules of " << conds << " and " << 32 - rules << " of 1 SCMP_CMP_NE condition on socket: " << t << " s");
        worst = std::max(worst, t);
    }
    // The whole profile at its bounds: 3 syscalls of two six-condition rules
    // and 30 one-condition ones (30 beyond the first, 126 in all); 3 syscalls of
    // five three-condition rules and 27 one-condition ones; 8 syscalls of 32
    // one-condition rules (256).
    for (auto [syscalls, rules, conds] : {std::tuple{3, 2, 6}, {3, 5, 3}, {8, 0, 1}}) {
        std::string all;
        for (int n = 0; n < syscalls; ++n)
            all += std::string(n ? "," : "") + (rules ? ne_rules(kNames[n], rules, conds, n * 1000) + "," : "") +
                   ne_rules(kNames[n], 32 - rules, 1, n * 1000 + 500);
        double t = build_seconds(profile(with_syscalls(all)));
        INFO(syscalls << " syscalls of " << rules << " rules of " << conds << " and " << 32 - rules
                      << " of 1 SCMP_CMP_NE condition: " << t << " s");
        worst = std::max(worst, t);
    }
    CHECK(worst < 5.0);  // generous for a loaded machine; measured <= 0.2 s
}
