// src/container/exec.cpp's argument handling without a container: the
// process built from the config and flags (or -p FILE), and --cgroup.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "container/exec.hpp"
#include "kiln/error.hpp"
#include "scratch_dir.hpp"

using Catch::Contains;
using kiln::ExecOptions;
using Strings = std::vector<std::string>;

namespace {

kiln::spec::Spec config() {
    kiln::spec::Spec s;
    s.process = kiln::spec::Process{};
    s.process->args = {"sh"};
    s.process->env = {"PATH=/bin"};
    s.process->cwd = "/";
    s.process->user.uid = 5;
    return s;
}

// A hybrid host: cpu,cpuacct and memory v1, name=systemd, and cgroup2.
kiln::StoredState hybrid() {
    kiln::StoredState st;
    auto h = [](const char *mount, const char *ctrls, bool v2) {
        kiln::cgroups::Hierarchy x;
        x.mount = mount;
        x.controllers = ctrls;
        x.v2 = v2;
        x.own = "/";
        return x;
    };
    st.cgroup.hs = {h("/sys/fs/cgroup/cpu,cpuacct", "cpu,cpuacct", false), h("/sys/fs/cgroup/memory", "memory", false),
                    h("/sys/fs/cgroup/systemd", "name=systemd", false), h("/sys/fs/cgroup/unified", "", true)};
    for (auto &x : st.cgroup.hs) st.cgroup.dirs.push_back(x.mount + "/c1");
    return st;
}

}  // namespace

TEST_CASE("exec: build_process from the config and the flags", "[exec]") {
    auto spec = config();
    ExecOptions o;
    o.args = {"ls", "-l"};
    o.env = {"A=1"};
    o.cwd = "/tmp";
    o.user = "10:20";
    o.additional_gids = {"30", "40"};
    o.tty = true;
    o.no_new_privs = true;
    o.apparmor = "prof";
    o.process_label = "lab";
    o.caps = {"CAP_NET_ADMIN"};
    auto p = kiln::build_process(spec, o);
    CHECK(p.args == Strings{"ls", "-l"});
    CHECK(p.env == Strings{"PATH=/bin", "A=1"});
    CHECK(p.cwd == "/tmp");
    CHECK(p.user.uid == 10);
    CHECK(p.user.gid == 20);
    CHECK(p.user.additionalGids == std::vector<uint32_t>{30, 40});
    CHECK(p.terminal);
    CHECK(p.noNewPrivileges);
    CHECK(p.apparmorProfile == "prof");
    CHECK(p.selinuxLabel == "lab");
    REQUIRE(p.capabilities);
    CHECK(p.capabilities->bounding == Strings{"CAP_NET_ADMIN"});
    CHECK(p.capabilities->effective == Strings{"CAP_NET_ADMIN"});
    CHECK(p.capabilities->permitted == Strings{"CAP_NET_ADMIN"});
}

TEST_CASE("exec: build_process keeps the config's user without --user", "[exec]") {
    auto spec = config();
    ExecOptions o;
    o.args = {"true"};
    SECTION("no --user") {
        CHECK(kiln::build_process(spec, o).user.uid == 5);
    }
    SECTION("uid only") {
        o.user = "7";
        auto p = kiln::build_process(spec, o);
        CHECK(p.user.uid == 7);
        CHECK(p.user.gid == 0);
    }
}

TEST_CASE("exec: build_process errors (runc's words)", "[exec]") {
    auto spec = config();
    ExecOptions o;
    o.args = {"true"};
    SECTION("no args") {
        o.args.clear();
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "exec args cannot be empty");
    }
    SECTION("a config without process") {
        spec.process.reset();
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "process property must not be empty");
    }
    SECTION("bad uid") {
        o.user = "x";
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "bad uid: x");
    }
    SECTION("bad gid") {
        o.user = "1:-2";
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "bad gid: -2");
    }
    SECTION("uid out of range") {
        o.user = "4294967295";
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "--user: uids and gids must be in range 0-2147483647");
    }
    SECTION("negative additional gid") {
        o.additional_gids = {"-1"};
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "additional-gids must be a positive number -1");
    }
    SECTION("bad additional gid") {
        o.additional_gids = {"abc"};
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "invalid additional-gids value abc");
    }
}

TEST_CASE("exec: build_process from -p FILE ignores the flags", "[exec]") {
    kiln::test::ScratchDir dir;
    auto spec = config();
    ExecOptions o;
    o.process_file = dir.path + "/process.json";
    o.args = {"ignored"};
    o.user = "99";
    SECTION("a process") {
        std::ofstream(o.process_file) << R"({"args":["echo","hi"],"cwd":"/w","user":{"uid":3,"gid":4}})";
        auto p = kiln::build_process(spec, o);
        CHECK(p.args == Strings{"echo", "hi"});
        CHECK(p.cwd == "/w");
        CHECK(p.user.uid == 3);
        CHECK(p.user.gid == 4);
    }
    SECTION("without args") {
        std::ofstream(o.process_file) << R"({"args":[],"cwd":"/"})";
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), "args must not be empty");
    }
    SECTION("missing") {
        REQUIRE_THROWS_WITH(kiln::build_process(spec, o), Contains(o.process_file));
    }
}

TEST_CASE("exec: --cgroup picks sub-cgroups per controller", "[exec]") {
    auto st = hybrid();
    const Strings base = st.cgroup.dirs;
    SECTION("none: the container's own") {
        CHECK(kiln::exec_cgroup_dirs(st, {}) == base);
    }
    SECTION("a bare path: every hierarchy, cleaned") {
        CHECK(kiln::exec_cgroup_dirs(st, {"a/./b/../s"}) ==
              Strings{base[0] + "/a/s", base[1] + "/a/s", base[2] + "/a/s", base[3] + "/a/s"});
    }
    SECTION("/ is the container's cgroup itself") {
        CHECK(kiln::exec_cgroup_dirs(st, {"/"}) == base);
    }
    SECTION("controllers first, then a bare path for the rest") {
        CHECK(kiln::exec_cgroup_dirs(st, {"memory:m", "cpu:c", "rest"}) ==
              Strings{base[0] + "/c", base[1] + "/m", base[2] + "/rest", base[3] + "/rest"});
    }
    SECTION("a bare path first: a controller's own path still wins") {
        CHECK(kiln::exec_cgroup_dirs(st, {"rest", "memory:m"}) ==
              Strings{base[0] + "/rest", base[1] + "/m", base[2] + "/rest", base[3] + "/rest"});
    }
    SECTION("a list of controllers") {
        CHECK(kiln::exec_cgroup_dirs(st, {"cpuacct,memory:x"}) == Strings{base[0] + "/x", base[1] + "/x", base[2], base[3]});
    }
}

TEST_CASE("exec: --cgroup errors (runc's words)", "[exec]") {
    auto st = hybrid();
    using kiln::exec_cgroup_dirs;
    REQUIRE_THROWS_WITH(exec_cgroup_dirs(st, {":x"}), "invalid --cgroup argument: :x (empty <controller> prefix)");
    REQUIRE_THROWS_WITH(exec_cgroup_dirs(st, {"a", "b"}), "invalid --cgroup argument: b (missing <controller>: prefix)");
    REQUIRE_THROWS_WITH(exec_cgroup_dirs(st, {"memory:"}), "invalid --cgroup argument: memory:");
    REQUIRE_THROWS_WITH(exec_cgroup_dirs(st, {"../up"}), "../up is not a sub cgroup path");
    REQUIRE_THROWS_WITH(exec_cgroup_dirs(st, {"pids:x"}), "invalid --cgroup argument: unknown controller pids");
    REQUIRE_THROWS_WITH(exec_cgroup_dirs(st, {"memory:a", "memory:b"}),
                        "invalid --cgroup argument: controller memory specified multiple times");
}
